"""Shared fixtures: an isolated cache for generated models/data, and runs inside a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    # Workers share the cores: a torch pool of every core in each worker makes them spin against each other (the real
    # 0.5B test took 234 s beside another worker, 42 s alone). One thread each, subprocesses included.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Import Lightning (and torch) in each process that runs tests before the first test: their loggers bind a
    StreamHandler to ``sys.stderr`` at import, and bound to a test's ``capsys`` stream (closed after that test) every
    later log line would be a "--- Logging error ---" traceback in the next tests' stderr. The xdist controller, which
    runs no test, skips it."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(session.config.option, "numprocesses", None):
        import lightning.pytorch  # noqa: F401


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (setup.cfg): one worker per CPU this process may use, hyperthreads included, at most 8 (each
    worker imports torch and Lightning; more buys little). ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still wins."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    return min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated tiny models and synthetic data go to a per-session folder, not the user's cache."""
    cache = tmp_path_factory.mktemp("lightning_lora_cache")
    os.environ["LIGHTNING_LORA_CACHE"] = str(cache)
    os.environ["HF_DATASETS_CACHE"] = str(cache / "hf_datasets")
    return cache


@pytest.fixture(scope="session")
def tiny_qwen2(_isolated_cache: Path) -> Path:
    from lightning_lora.models.tiny import ensure_tiny_model

    return ensure_tiny_model("qwen2")


@pytest.fixture(scope="session")
def tokenizer(tiny_qwen2: Path):
    from lightning_lora.models.loading import load_tokenizer

    return load_tokenizer(str(tiny_qwen2))


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary folder so tb_logs/ and checkpoints/ land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def old_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_qwen2: Path) -> Path:
    """``tests/fixtures/run_before_layout`` (a run folder and an export written by an earlier version) copied into
    ``tmp_path`` as the working folder; its export's base (an absolute path of the machine that wrote it) points
    at this session's tiny model."""
    import json
    import shutil

    root = tmp_path / "run"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "run_before_layout", root, symlinks=True)
    record_file = root / "exports" / "before_layout" / "export.json"
    record = json.loads(record_file.read_text())
    record["base_model_path"] = str(tiny_qwen2)
    record_file.write_text(json.dumps(record, indent=2) + "\n")
    monkeypatch.chdir(root)
    return root

