"""benchmarks/gpu_check.sh on a machine without a GPU: skips the checks, still validates its configs."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU machine the check really runs (8 minutes)")


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_without_cuda_validates_every_check_config_says_skipped_and_exits_0(tmp_path):
    output = tmp_path / "gpu.json"
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--output", str(output),
                           "--workdir", str(tmp_path / "work")], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(REPO)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no CUDA GPU: skipped" in proc.stdout
    report = json.loads(output.read_text())
    assert report["configs_valid"] and report["skipped"] == "no CUDA GPU"
    assert sorted(p.stem for p in (tmp_path / "work").glob("*.yaml")) == sorted(_gpu_check().CHECKS)


def test_a_check_config_the_cli_rejects_fails_the_run_with_its_error_line(tmp_path, monkeypatch, capsys):
    gpu_check = _gpu_check()
    monkeypatch.setitem(gpu_check.CHECKS, "qlora", ({"model.init_args.metod": "qlora"}, 60))
    code = gpu_check.main(["--output", str(tmp_path / "gpu.json"), "--workdir", str(tmp_path / "work"), "--only", "qlora"])
    assert code == 1
    assert "qlora.yaml" in capsys.readouterr().err
    assert json.loads((tmp_path / "gpu.json").read_text())["configs_valid"] is False


def test_bad_arguments_are_one_error_line(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--steps", "1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "--steps must be at least 2" in proc.stderr
