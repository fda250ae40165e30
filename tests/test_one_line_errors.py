"""The remaining mistakes of issue 28 (item 4), each one ``error:`` line naming the file and line, the option or
the class, with exit status 2 and no traceback: YAML syntax errors placed where they start, unknown class paths
with the nearest valid names, bytes that are not UTF-8 in every file the commands read, a checkpoint save stopped
by the file-size limit, and a failed start that leaves nothing behind (empty folders, lock file, temporaries).

The trainer options set to impossible values are rows of ``tests/test_bad_input.py``.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

# Imported before any test: both bind a log handler to sys.stderr at import (see tests/test_bad_input.py).
import datasets  # noqa: F401
import lightning  # noqa: F401
import pytest

from lightning_lora.__main__ import main
from lightning_lora.files import _host_tag, atomic_write_text, remove_stale_temporaries

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.callbacks", "[]",
         "--trainer.max_steps", "2", "--trainer.enable_progress_bar", "false"]
CODE_ROWS = [{"input": f"Print {i}.", "solution": f"print({i})"} for i in range(6)]


def run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_info:
        return exit_info.code if isinstance(exit_info.code, int) else 1


def one_error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def left_in(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


# --- 1. YAML syntax errors name the line where the mistake starts --------------------------------------------

YAML_ROWS = [
    pytest.param("run_name: x\nmodel:\n  init_args:\n    method: \"lora\n    lr: 1\nseed_everything: 0\n",
                 "line 4, column 13: a quoted value starts here and is not closed (found unexpected end of stream "
                 "at line 7, column 1).", id="unclosed-quote-to-the-end"),
    pytest.param("run_name: \"x\nseed_everything: 0\neval_every_n_steps: 5\ndata:\n  init_args:\n    path: \"a.jsonl\"\n",
                 "line 1, column 11: a quoted value starts here and is not closed on its line (it runs to line 6; "
                 "expected <block end>, but found '<scalar>' at line 6, column 12).", id="unclosed-quote-closed-later"),
    pytest.param("trainer:\n  callbacks: [a, b\nseed_everything: 0\n",
                 "line 2, column 14: a flow sequence starts here and is not closed (expected ',' or ']', but got ':' "
                 "at line 3, column 16).", id="unclosed-bracket"),
]


@pytest.mark.parametrize(("text", "where"), YAML_ROWS)
def test_a_yaml_syntax_error_names_the_line_where_it_starts(text, where, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(text)
    assert run(["fit", *QUICK, "--config", "bad.yaml"]) == 2
    assert one_error(capsys) == f"error: --config bad.yaml, {where}"


def test_val_check_interval_in_a_config_file_is_refused_not_silently_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text("eval_every_n_steps: 5\ntrainer:\n  val_check_interval: 7\n")
    assert run(["fit", *QUICK, "--config", "c.yaml"]) == 2
    assert one_error(capsys) == ("error: --config c.yaml: trainer.val_check_interval is set from eval_every_n_steps "
                                 "(validate every N optimizer steps; here 5); give eval_every_n_steps instead of "
                                 "trainer.val_check_interval 7.")
    (tmp_path / "saved.yaml").write_text("eval_every_n_steps: 5\ntrainer:\n  val_check_interval: 10\n"
                                         "  accumulate_grad_batches: 2\n")  # as fit saves it: the linked value
    from lightning_lora.training.config_errors import check_config_files

    check_config_files(["--config", "saved.yaml"])


def test_a_config_file_that_is_not_utf8_names_its_line_and_byte(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_bytes(b"run_name: x\nseed_everything: 0\ndata:\n  init_args:\n    system_prompt: caf\xe9\n")
    assert run(["fit", *QUICK, "--config", "bad.yaml"]) == 2
    assert one_error(capsys) == ("error: --config bad.yaml, line 5, byte offset 72 (0xe9): not UTF-8 text; "
                                 "save the file as UTF-8.")


# --- 2. an unknown class path names the option and the nearest valid classes ---------------------------------

CLASS_ROWS = [
    pytest.param(["--data.class_path", "lightning_lora.data.code.CodeSFTDataModul"],
                 "data: no class lightning_lora.data.code.CodeSFTDataModul (module 'lightning_lora.data.code' has no "
                 "attribute 'CodeSFTDataModul'); did you mean lightning_lora.data.code.CodeSFTDataModule?", id="data"),
    pytest.param(["--model.class_path", "lightning_lora.modules.causal_lm.CausalLMModul"],
                 "model: no class lightning_lora.modules.causal_lm.CausalLMModul (module 'lightning_lora.modules."
                 "causal_lm' has no attribute 'CausalLMModul'); did you mean lightning_lora.modules.causal_lm."
                 "CausalLMModule?", id="model"),
    pytest.param(["--data.class_path", "lightning_lora.data.cod.CodeSFTDataModule"],
                 "data: no class lightning_lora.data.cod.CodeSFTDataModule (module 'lightning_lora.data' has no "
                 "attribute 'cod'); did you mean lightning_lora.data.code.CodeSFTDataModule?", id="data-module-typo"),
    pytest.param(["--data", "lightning_lora.modules.causal_lm.CausalLMModule"],
                 r"data: lightning_lora.modules.causal_lm.CausalLMModule is not a LightningDataModule; it takes e.g. "
                 r".*lightning_lora.data.code.CodeSFTDataModule.*", id="data-of-another-kind"),
    pytest.param(["--trainer.callbacks+=lightning_lora.callbacks.benchmark.BenchmarkCallbak"],
                 "trainer.callbacks: no class lightning_lora.callbacks.benchmark.BenchmarkCallbak (module "
                 "'lightning_lora.callbacks.benchmark' has no attribute 'BenchmarkCallbak'); did you mean "
                 "lightning_lora.callbacks.benchmark.BenchmarkCallback?", id="project-callback"),
    pytest.param(["--trainer.callbacks+=EarlyStoping"],
                 "trainer.callbacks: no class EarlyStoping; did you mean lightning.pytorch.callbacks.EarlyStopping?",
                 id="lightning-callback-bare-name"),
    pytest.param(["--trainer.logger", "lightning.pytorch.loggers.TensorBoardLoger"],
                 "trainer.logger: no class lightning.pytorch.loggers.TensorBoardLoger (module 'lightning.pytorch."
                 "loggers' has no attribute 'TensorBoardLoger'); did you mean lightning.pytorch.loggers."
                 "TensorBoardLogger?", id="logger"),
    pytest.param(["--trainer.plugins", "lightning_lora.checkpoints.atomic_io.AtomicCheckpointI"],
                 "trainer.plugins: no class lightning_lora.checkpoints.atomic_io.AtomicCheckpointI (module "
                 "'lightning_lora.checkpoints.atomic_io' has no attribute 'AtomicCheckpointI'); did you mean "
                 "lightning_lora.checkpoints.atomic_io.AtomicCheckpointIO?", id="plugins"),
    pytest.param(["--trainer.strategy", "lightning.pytorch.strategies.DDPStrateg"],
                 "trainer.strategy: no class lightning.pytorch.strategies.DDPStrateg (module 'lightning.pytorch."
                 "strategies' has no attribute 'DDPStrateg'); did you mean lightning.pytorch.strategies.DDPStrategy?",
                 id="strategy-class"),
    pytest.param(["--trainer.strategy", "ddpp"],
                 r"trainer.strategy 'ddpp' is not a strategy Lightning knows; did you mean ddp\b.*", id="strategy-name"),
]


@pytest.mark.parametrize(("args", "line"), CLASS_ROWS)
def test_an_unknown_class_path_names_the_option_and_the_nearest_classes(args, line, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(["fit", *QUICK, *args]) == 2
    error = one_error(capsys)
    expected = line if "*" in line else re.escape(line)
    assert re.fullmatch(rf"error: {expected}( \(see --help\))?", error), error
    assert left_in(tmp_path) == []


def test_an_unknown_class_path_in_a_config_file_reads_the_same(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text("trainer:\n  callbacks:\n    - class_path: lightning_lora.callbacks.benchmark."
                                     "BenchmarkCallbak\n")
    assert run(["fit", *QUICK, "--config", "c.yaml"]) == 2
    assert "did you mean lightning_lora.callbacks.benchmark.BenchmarkCallback?" in one_error(capsys)


# --- 3. a byte that is not UTF-8 names the file, the line and the byte offset ---------------------------------

def _with_bad_byte(rows: list[dict], line: int, bad: bytes = b"\xff") -> bytes:
    text = "".join(json.dumps(row) + "\n" for row in rows).encode()
    lines = text.split(b"\n")
    lines[line - 1] = lines[line - 1].replace(b"Print", b"Pr" + bad + b"int", 1)
    return b"\n".join(lines)


DATA_ROWS = [
    pytest.param("data.jsonl", _with_bad_byte(CODE_ROWS, 4), "line 4, byte offset 151 (0xff)", id="jsonl"),
    pytest.param("data.json", json.dumps(CODE_ROWS, indent=1).encode().replace(b"Print 3", b"Pr\xc3int 3"),
                 "line 15, byte offset 184 (0xc3)", id="json"),
    pytest.param("data.csv", b"input,solution\nPrint 1,print(1)\nPrint 2,print(2)\nPr\xe9int 3,print(3)\n",
                 "line 4, byte offset 51 (0xe9)", id="csv"),
]


@pytest.mark.parametrize(("name", "data", "place"), DATA_ROWS)
def test_a_data_file_that_is_not_utf8_names_its_line(name, data, place, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(data)
    assert run(["fit", *QUICK, "--data.path", name]) == 2
    assert one_error(capsys) == f"error: Data file {name} (data.path), {place}: not UTF-8 text; save the file as UTF-8."


def test_a_samples_file_that_is_not_utf8_names_its_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.jsonl").write_bytes(b'{"task_id": "t1", "completion": "print(1)"}\n{"task_id": "t\xff2"}\n')
    assert run(["benchmark", "--problems", "synthetic:code", "--samples", "s.jsonl"]) == 2
    assert one_error(capsys) == ("error: Samples file s.jsonl, line 2, byte offset 58 (0xff): not UTF-8 text; "
                                 "save the file as UTF-8.")


def test_a_problems_file_that_is_not_utf8_names_its_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    problem = {"task_id": "p1", "prompt": "Print 1.", "tests": [{"input": "", "output": "1\n"}]}
    (tmp_path / "p.jsonl").write_bytes(json.dumps(problem).encode() + b"\n\n" + b'{"task_id": "p\xfe2"}\n')
    (tmp_path / "s.jsonl").write_text('{"task_id": "p1", "completion": "print(1)"}\n')
    assert run(["benchmark", "--problems", "p.jsonl", "--samples", "s.jsonl"]) == 2
    error = one_error(capsys)
    assert re.fullmatch(r"error: .*p\.jsonl, line 3, byte offset \d+ \(0xfe\): not UTF-8 text; save the file as UTF-8\.",
                        error), error


def test_a_generate_input_file_that_is_not_utf8_names_its_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.jsonl").write_bytes(b'{"prompt": "hi"}\n{"prompt": "h\xc3"}\n')
    assert run(["generate", "--model", "tiny:qwen2", "--input", "p.jsonl", "--output", "o.jsonl"]) == 2
    assert one_error(capsys) == ("error: --input p.jsonl, line 2, byte offset 30 (0xc3): not UTF-8 text; "
                                 "save the file as UTF-8.")
    assert not (tmp_path / "o.jsonl").exists()


# --- 4. a fit that trained nothing prints no summary (the impossible options are rows of test_bad_input.py) ---

def test_a_fit_that_wrote_no_checkpoint_is_an_error_not_a_summary(tmp_path):
    from lightning_lora.commands.train import trained_nothing

    folder = tmp_path / "checkpoints" / "run"
    folder.mkdir(parents=True)
    trainer = SimpleNamespace(checkpoint_callback=SimpleNamespace(dirpath=str(folder)), num_training_batches=0,
                              limit_train_batches=0.001, global_step=0)
    assert trained_nothing(trainer) == (f"The fit trained nothing and wrote no checkpoint to {folder}: the training data "
                                        "gave no batch (trainer.limit_train_batches 0.001); there is nothing to export "
                                        "or resume.")
    (folder / "last.ckpt").write_bytes(b"x")
    assert trained_nothing(trainer) is None


# --- 5. a save stopped by the file-size limit ----------------------------------------------------------------

def test_a_save_over_the_file_size_limit_is_one_line_and_the_previous_checkpoint_survives(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for row in CODE_ROWS * 8))  # a small data cache
    args = [*QUICK, "--run_name", "big", "--checkpoint.every_n_train_steps", "2", "--data.path", "data.jsonl"]
    assert run(["fit", *args]) == 0  # step 2 saved, without a limit
    run_folder = tmp_path / "checkpoints" / "big"
    before = {p.name: p.read_bytes() for p in run_folder.glob("*.ckpt")}
    limit = min(len(data) for data in before.values()) // 2  # config.yaml and the logs fit, a checkpoint does not

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([sys.executable, "-m", "lightning_lora", "fit", *args, "--trainer.max_steps", "4",
                           "--ckpt_path", "last"], cwd=tmp_path, preexec_fn=limited, capture_output=True, text=True,
                          timeout=300)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert re.fullmatch(r"error: The file-size limit of this process \(\d+\.\d KiB, ulimit -f\) stopped the write of "
                        r"checkpoints/big/step000004\.ckpt \(it needs about \d+\.\d KiB\); the checkpoints written before "
                        r"it, last\.ckpt included, are intact\. Raise the limit and resume with --ckpt_path last\.",
                        errors[0]), errors[0]
    assert {p.name: p.read_bytes() for p in run_folder.glob("*.ckpt")} == before
    assert not [p.name for p in run_folder.iterdir() if p.name.endswith(".tmp")]


# --- 6. a failed start leaves nothing behind; temporaries of a killed save are cleaned -------------------------

def test_a_start_that_fails_on_its_data_removes_the_folders_and_the_lock_it_created(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"input": r["input"]}) + "\n" for r in CODE_ROWS))
    assert run(["fit", *QUICK, "--data.path", "data.jsonl"]) == 2  # found after the run and log folders exist
    assert one_error(capsys).startswith("error: data.jsonl (train split) has no field 'solution'")
    assert left_in(tmp_path) == ["data.jsonl"]


def test_a_failed_start_leaves_what_was_there_before(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints" / "other").mkdir(parents=True)
    (tmp_path / "checkpoints" / "other" / "last.ckpt").write_bytes(b"kept")
    (tmp_path / "tb_logs" / "quickstart").mkdir(parents=True)  # existed, empty: not this start's to remove
    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"input": r["input"]}) + "\n" for r in CODE_ROWS))
    assert run(["fit", *QUICK, "--data.path", "data.jsonl"]) == 2
    one_error(capsys)
    assert left_in(tmp_path) == ["checkpoints", "checkpoints/other", "checkpoints/other/last.ckpt", "data.jsonl",
                                 "tb_logs", "tb_logs/quickstart"]


def test_a_start_refused_by_a_trainer_option_after_the_folders_exist_removes_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # Lightning finds this one only once the fit has started (the logs hold files)
    assert run(["fit", *QUICK, "--trainer.limit_train_batches", "0.001"]) == 2
    assert re.fullmatch(r"error: You requested to check 0\.001 of the `train_dataloader` but 0\.001 \* \d+ < 1\. .*"
                        r"`limit_train_batches=.*`", one_error(capsys))
    assert not (tmp_path / "checkpoints").exists()


_KILLED_WRITER = """
import sys, time
from pathlib import Path
from lightning_lora.files import atomic_write

def write(f):
    f.write(b"half a checkpoint")
    f.flush()
    print("writing", flush=True)
    time.sleep(60)

atomic_write(Path(sys.argv[1]), write)
"""


def test_a_save_killed_mid_write_leaves_a_temporary_the_next_write_removes(tmp_path):
    target = tmp_path / "run" / "last.ckpt"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)], stdout=subprocess.PIPE, text=True,
                            cwd=REPO)
    try:
        assert proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    [temporary] = [p.name for p in target.parent.iterdir()]
    assert temporary.startswith(f".last.ckpt.{proc.pid}@") and temporary.endswith(".tmp")
    live = target.parent / f".last.ckpt.1@{temporary.split('@')[1].split('.')[0]}.abcdefgh.tmp"  # pid 1: alive
    live.write_bytes(b"another writer's")
    other = target.parent / f".{temporary[len('.last.ckpt.'):].replace('.tmp', '')}.tmp"  # not one of ours by name
    other.write_bytes(b"not a temporary of atomic_write")
    atomic_write_text(target, "complete")
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(["last.ckpt", live.name, other.name])
    assert target.read_text() == "complete"


def test_stale_temporaries_of_a_run_folder_are_removed_at_fit_start(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    run_folder = tmp_path / "checkpoints" / "quickstart"
    run_folder.mkdir(parents=True)
    stale = run_folder / f".step000009.ckpt.{ended.pid}@{_host_tag()}.k3j4x9q1.tmp"
    stale.write_bytes(b"killed mid-save")
    (run_folder / "notes.txt").write_text("the user's")
    (tmp_path / "data.jsonl").write_text("".join(json.dumps({"input": r["input"]}) + "\n" for r in CODE_ROWS))
    assert run(["fit", *QUICK, "--data.path", "data.jsonl"]) == 2  # the data error comes after the lock is taken
    one_error(capsys)
    assert sorted(p.name for p in run_folder.iterdir()) == ["notes.txt"]
    assert remove_stale_temporaries(run_folder) == []
