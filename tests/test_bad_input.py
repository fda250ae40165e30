"""Bad input fails at start-up with one ``error:`` line that names the culprit (issue 6, "bad input").

Each row injects one mistake into a quickstart config (a command-line override, or a small file in
the run folder) and states the exit code and the exact line the user sees. Every row also checks
that there is no traceback and that the run stopped before training (no checkpoint, and no
``params.json``, which ``on_fit_start`` writes). The CLI runs in-process; a row that wrongly succeeds
trains two steps and fails the test.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

# Imported before any test: both bind a log handler to sys.stderr at import, which must not be a
# capsys stream that is closed when a later row logs through it ("--- Logging error ---" + traceback).
import datasets  # noqa: F401
import lightning  # noqa: F401  (its logger too: "Seed set to 0")
import pytest
import torch
import transformers  # noqa: F401

from lightning_lora.__main__ import main

REPO = Path(__file__).resolve().parents[1]
FAST = ["--trainer.callbacks", "[]", "--trainer.max_steps", "2", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false"]
CODE = ["--config", str(REPO / "configs" / "quickstart.yaml"), *FAST]
CLASSIFICATION = ["--config", str(REPO / "configs" / "quickstart-classification.yaml"), *FAST]
CKPT = "{trained_checkpoint}"  # replaced by the module's 2-step tiny:qwen2 LoRA checkpoint

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_IGNORES_MODES = pytest.mark.skipif(AS_ROOT, reason="root reads and writes whatever the file mode says; "
                                                         "the folder-is-a-file rows cover this as root")


def write(name: str, text: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text(text)


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def unreadable(folder: Path) -> None:
    path = folder / "data.jsonl"
    path.write_text(jsonl([{"input": f"task {i}", "solution": "print(1)"} for i in range(4)]))
    path.chmod(0)


def read_only_checkpoints(folder: Path) -> None:
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints").chmod(0o555)


CODE_ROWS = [{"input": f"Print {i}.", "solution": f"print({i})"} for i in range(6)]
HEADLINES = [{"text": f"headline {i}", "label": 7 if i == 5 else i % 4} for i in range(12)]

# (arguments after `fit`, what to put in the run folder first, exit code, the whole `error:` line as a regex), id
ROWS = [
    pytest.param(CODE + ["--data.path", "missing/data.jsonl"], None, 2,
                 r"error: Data file missing/data\.jsonl \(data\.path\) does not exist\.", id="missing-data-file"),
    pytest.param(CODE + ["--data.path", "data.jsonl"], unreadable, 2,
                 r"error: Data file data\.jsonl \(data\.path\) cannot be read: permission denied\.",
                 id="unreadable-data-file-chmod-000", marks=ROOT_IGNORES_MODES),
    pytest.param(CODE + ["--data.path", "data.jsonl"], lambda folder: (folder / "data.jsonl").mkdir(), 2,
                 r"error: Data file data\.jsonl \(data\.path\) is a folder, not a \.jsonl file\.",
                 id="data-file-is-a-folder"),
    pytest.param(CODE + ["--data.path", "data.jsonl"], write("data.jsonl", jsonl(CODE_ROWS[:2]) + "{'input': 1}\n"), 2,
                 r"error: Data file data\.jsonl \(data\.path\), line 3, is not valid JSON: "
                 r"Expecting property name enclosed in double quotes \(column 2\)\.", id="data-file-invalid-json"),
    pytest.param(CODE + ["--data.path", "data.jsonl"], write("data.jsonl", "\n"), 2,
                 r"error: Data file data\.jsonl \(data\.path\) is empty\.", id="no-rows-empty-file"),
    pytest.param(CODE + ["--data.max_samples", "0"], None, 2,
                 r"error: data\.max_samples must be a positive number of rows per split \(or unset for all rows\), got 0\.",
                 id="no-rows-max-samples-0"),
    pytest.param(CODE + ["--data.path", "data.jsonl"], write("data.jsonl", jsonl([{"input": r["input"]} for r in CODE_ROWS])), 2,
                 r"error: data\.jsonl \(train split\) has no field 'solution'; its fields are input\.",
                 id="missing-field-solution"),
    pytest.param(CLASSIFICATION + ["--data.path", "data.jsonl"], write("data.jsonl", jsonl(HEADLINES)), 2,
                 r"error: data\.jsonl, line 6: label 7 in field 'label' is not a class index "
                 r"in \[0, 4\) \(World, Sports, Business, Sci/Tech\)\.", id="label-out-of-range"),
    pytest.param(CLASSIFICATION + ["--data.path", "data.jsonl"],
                 write("data.jsonl", jsonl([dict(r, label=1.5 if i == 8 else r["label"] % 4) for i, r in enumerate(HEADLINES)])),
                 2, r"error: data\.jsonl, line 9: label 1\.5 in field 'label' is not a class index in \[0, 4\) .*",
                 id="fractional-label-names-its-line"),
    pytest.param(CODE + ["--data.path", "data.jsonl"],
                 write("data.jsonl", "\n" + jsonl([dict(r, solution=None if i == 30 else r["solution"])
                                                    for i, r in enumerate(CODE_ROWS * 8)])),
                 2, r"error: data\.jsonl, line 32: field 'solution' is null; every row needs text there\.",
                 id="null-value-names-its-line"),
    pytest.param(CODE + ["--model.model_name_or_path", "tiny:gpt2", "--model.lora.target_modules", "null",
                         "--data.path", "long.jsonl", "--data.max_length", "8192", "--data.pack", "false"],
                 write("long.jsonl", jsonl([{"input": f"task {i}", "solution": "x = 1\n" * 700} for i in range(10)])), 2,
                 r"error: data\.max_length 8192 is above the position limit of tiny:gpt2 \(1024 tokens\), and the data has "
                 r"samples of up to \d+ tokens; set --data\.max_length 1024 or less\.", id="max-length-above-positions"),
    pytest.param(CODE + ["--data.max_length", "8"], None, 2,
                 r"error: Every train sample of synthetic:code lost all its target tokens to truncation at "
                 r"data\.max_length=8; raise data\.max_length\.", id="max-length-below-prompt"),
    pytest.param(CODE + ["--model.model_name_or_path", "/nonexistent/model"], None, 2,
                 r"error: Model path '/nonexistent/model' \(model\.model_name_or_path\) does not exist\.",
                 id="model-local-path-missing"),
    pytest.param(CODE + ["--model.model_name_or_path", "no-such-org/no-such-model"], None, 2,
                 r"error: Could not load a tokenizer from 'no-such-org/no-such-model' \(model\.model_name_or_path, "
                 r"not a local folder, so a hub id\): \S.*", id="model-unknown-hub-id"),
    pytest.param(CODE + ["--model.lora.target_modules", "[q_proj,nope]"], None, 2,
                 r"error: model\.lora\.target_modules: nope not found in Qwen2ForCausalLM; its layers are named "
                 r"[a-z_, ]*\bq_proj\b[a-z_, ]*\.", id="target-module-not-in-model"),
    pytest.param(CODE + ["--ckpt_path", CKPT, "--model.model_name_or_path", "tiny:llama"], None, 2,
                 r"error: The checkpoint was trained on base model 'tiny:qwen2' \(model_type=qwen2\), "
                 r"but the config builds 'tiny:llama' \(model_type=llama\)\.", id="checkpoint-other-base-model"),
    pytest.param(CODE + ["--ckpt_path", CKPT, "--model.lora.r", "4"], None, 2,
                 r"error: The checkpoint's LoRA settings differ from the config's: model\.lora\.r: checkpoint 16 vs config 4\.",
                 id="checkpoint-other-lora-r"),
    pytest.param(CODE + ["--ckpt_path", CKPT, "--model.method", "dora"], None, 2,
                 r"error: The checkpoint was trained with model\.method='lora', the config says 'dora'\.",
                 id="checkpoint-other-method"),
    pytest.param(CODE + ["--trainer.max_steps", "abc"], None, 2,
                 r"error: Parser key \"trainer\.max_steps\": Expected a <class 'int'>\. Got value: abc \(see --help\)",
                 id="wrong-type-max-steps"),
    pytest.param(CODE + ["--data.batch_size", "-1"], None, 2,
                 r"error: data\.batch_size must be positive, got -1\.", id="wrong-value-batch-size"),
    pytest.param(CODE + ["--model.init_args.nope", "1"], None, 2,
                 r"error: Parser key \"model\": Option 'nope' is not accepted \(see --help\)", id="unknown-model-key"),
    pytest.param(CODE + ["--data.nope", "1"], None, 2,
                 r"error: Parser key \"data\": Option 'nope' is not accepted \(see --help\)", id="unknown-data-key"),
    pytest.param(CODE, write("checkpoints", "not a folder\n"), 2,
                 r"error: Output folder checkpoints/quickstart is not writable: checkpoints is a file, not a folder\.",
                 id="output-checkpoints-is-a-file"),
    pytest.param(CODE, write("tb_logs", "not a folder\n"), 2,
                 r"error: Output folder tb_logs/quickstart is not writable: tb_logs is a file, not a folder\.",
                 id="output-tb-logs-is-a-file"),
    pytest.param(CODE, read_only_checkpoints, 2,
                 r"error: Output folder checkpoints/quickstart is not writable: permission denied\.",
                 id="output-folder-read-only", marks=ROOT_IGNORES_MODES),
    # Trainer options that cannot work (issue 28): one line naming the option, never a traceback, never exit 0
    # after training nothing with a summary that suggests exporting a checkpoint that was not written.
    pytest.param(CODE + ["--trainer.max_steps", "0"], None, 2,
                 r"error: trainer\.max_steps 0 trains nothing; give a positive number \(or -1 for no limit\)\.",
                 id="trainer-max-steps-0"),
    pytest.param(CODE + ["--trainer.max_steps", "-5"], None, 2,
                 r"error: trainer\.max_steps must be a positive number of optimizer steps or -1 \(no limit\), got -5\.",
                 id="trainer-max-steps-negative"),
    pytest.param(CODE + ["--trainer.max_epochs", "0"], None, 2,
                 r"error: trainer\.max_epochs 0 trains nothing; give a positive number \(or -1 for no limit\)\.",
                 id="trainer-max-epochs-0"),
    pytest.param(CODE + ["--trainer.limit_train_batches", "0"], None, 2,
                 r"error: trainer\.limit_train_batches 0 trains nothing; give a fraction of an epoch in \(0, 1\] or a "
                 r"positive number of batches\.", id="trainer-limit-train-batches-0"),
    pytest.param(CODE + ["--trainer.accumulate_grad_batches", "0"], None, 2,
                 r"error: trainer\.accumulate_grad_batches must be a positive number of batches per optimizer step, "
                 r"got 0\.", id="trainer-accumulate-grad-batches-0"),
    pytest.param(CODE + ["--trainer.devices", "0"], None, 2,
                 r"error: trainer\.devices must be a positive number of devices, a list of device indices, 'auto' or -1 "
                 r"\(all of them\), got 0\.", id="trainer-devices-0"),
    pytest.param(CODE + ["--trainer.precision", "17"], None, 2,
                 r"error: trainer\.precision: 17 is not one of 64, 32, 16, .*\b16-mixed, bf16-true, bf16-mixed, "
                 r"32-true\b.* \(see --help\)", id="trainer-precision-17"),
    pytest.param(CODE + ["--trainer.val_check_interval", "100000"], None, 2,
                 r"error: trainer\.val_check_interval is set from --eval_every_n_steps \(validate every N optimizer steps, "
                 r"times trainer\.accumulate_grad_batches\); give --eval_every_n_steps instead \(see --help\)",
                 id="trainer-val-check-interval-is-linked"),
    pytest.param(CODE + ["--trainer.gradient_clip_val", "-1"], None, 2,
                 r"error: trainer\.gradient_clip_val must be a positive clipping threshold \(or null: no clipping\), "
                 r"got -1(\.0)?\.", id="trainer-gradient-clip-val-negative"),
    pytest.param(CODE + ["--trainer.gradient_clip_algorithm", "foo"], None, 2,
                 r"error: trainer\.gradient_clip_algorithm must be 'norm' or 'value', got 'foo'\.",
                 id="trainer-gradient-clip-algorithm"),
    pytest.param(CODE + ["--checkpoint.every_n_train_steps", "0"], None, 2,
                 r"error: checkpoint\.every_n_train_steps must be a positive number of optimizer steps \(0 only with "
                 r"checkpoint\.every_n_epochs or checkpoint\.train_time_interval set\), got 0\.",
                 id="checkpoint-every-n-train-steps-0"),
    pytest.param(CODE + ["--checkpoint.every_n_train_steps", "-1"], None, 2,
                 r"error: checkpoint\.every_n_train_steps must be a positive number of optimizer steps .*, got -1\.",
                 id="checkpoint-every-n-train-steps-negative"),
    pytest.param(CODE + ["--trainer.accelerator", "gpu"], None, 2,
                 r"error: trainer\.accelerator gpu: this machine has no CUDA GPU; use --trainer\.accelerator cpu "
                 r"\(or auto\)\.", id="trainer-accelerator-gpu-without-one",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
    pytest.param(CODE + ["--trainer.accelerator", "cpux"], None, 2,
                 r"error: trainer\.accelerator 'cpux' is not an accelerator Lightning knows; did you mean cpu\? "
                 r"the names are auto, cpu, cuda, gpu, mps, tpu\.", id="trainer-accelerator-unknown"),
    pytest.param(CODE + ["--trainer.num_nodes", "0"], None, 2,
                 r"error: trainer\.num_nodes must be a positive number of machines, got 0\.", id="trainer-num-nodes-0"),
    pytest.param(CODE + ["--trainer.log_every_n_steps", "0"], None, 2,
                 r"error: trainer\.log_every_n_steps must be a positive number of steps \(0 would log no training loss\), "
                 r"got 0\.", id="trainer-log-every-n-steps-0"),
    pytest.param(CODE + ["--trainer.strategy", "ddpp"], None, 2,
                 r"error: trainer\.strategy 'ddpp' is not a strategy Lightning knows; did you mean ddp\b.*",
                 id="trainer-strategy-unknown-name"),
    pytest.param(CODE + ["--config", str(REPO / "configs" / "methods" / "qlora.yaml")], None, 2,
                 r"error: model\.method 'qlora' needs a CUDA GPU \(bitsandbytes 4-bit weights\); none is available here: "
                 r"use 'lora' or 'dora' on this machine\.", id="qlora-without-cuda",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
]


@pytest.fixture(scope="module")
def trained_checkpoint(_isolated_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two LoRA steps on tiny:qwen2 (r=16), shared by the mismatched-checkpoint rows."""
    folder = tmp_path_factory.mktemp("run_a")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert main(["fit", *CODE, "--run_name", "A", "--checkpoint.every_n_train_steps", "2"]) == 0
    checkpoint = folder / "checkpoints" / "A" / "last.ckpt"
    assert checkpoint.is_file()
    return str(checkpoint)


def run_fit(args: list[str]) -> int:
    """``main(["fit", ...])``'s exit code; parse errors leave through ``sys.exit`` as argparse does."""
    try:
        return main(["fit", *args])
    except SystemExit as exit_info:
        return exit_info.code if isinstance(exit_info.code, int) else 1


@pytest.mark.parametrize(("args", "setup", "code", "line"), ROWS)
def test_bad_input_stops_before_training_with_one_line_naming_it(
        args: list[str], setup: Callable[[Path], None] | None, code: int, line: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, request: pytest.FixtureRequest):
    if CKPT in args:
        args = [request.getfixturevalue("trained_checkpoint") if arg == CKPT else arg for arg in args]
    monkeypatch.chdir(tmp_path)
    if setup is not None:
        setup(tmp_path)
    before = {path for path in tmp_path.rglob("*")}
    capsys.readouterr()

    assert run_fit(args) == code != 0
    err = capsys.readouterr().err
    errors = [text for text in err.splitlines() if text.startswith("error:")]
    assert len(errors) == 1, err
    assert re.fullmatch(line, errors[0]), errors[0]
    assert "Traceback" not in err, err
    left = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if path.is_file())
    assert not [name for name in left if name.endswith((".ckpt", "params.json"))], f"training started: {left}"
    # A failed start removes what it created and left empty: run and log folders, the run's lock file.
    created = [path for path in tmp_path.rglob("*") if path not in before]
    assert not [str(path) for path in created if path.name.endswith(".lock") or (path.is_dir() and not any(path.iterdir()))]


@pytest.mark.parametrize("config", [CODE, CLASSIFICATION], ids=["code", "classification"])
def test_a_data_error_is_reported_before_any_model_weights_load(config, tmp_path, monkeypatch, capsys):
    def no_model(*args, **kwargs):
        raise AssertionError("model weights loaded before the data was checked")

    monkeypatch.setattr("lightning_lora.modules.causal_lm.load_causal_lm", no_model)
    monkeypatch.setattr("lightning_lora.modules.classifier.load_sequence_classifier", no_model)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text(jsonl([{"input": f"task {i}", "text": "x"} for i in range(4)]))
    assert main(["fit", *config, "--data.path", "data.jsonl"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"^error: data\.jsonl \(train split\) has no field '(solution|label)'", err, re.M), err
