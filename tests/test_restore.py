"""One restore path (:func:`lightning_lora.training.restore.restore`): every source a command accepts becomes a
ready model, a checkpoint file is read once per command, and each mistake is the same one line in every command.

Runs on a copy of the committed run folder ``tests/fixtures/run_before_layout`` (no training needed).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.checkpoints.reading import (
    CheckpointMismatchError,
    CheckpointNotFoundError,
    ConfigNotFoundError,
    NotACheckpointError,
    find_checkpoint,
)
from lightning_lora.export.reader import ExportFolderError
from lightning_lora.training.restore import ModelOptionsError, restore

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_before_layout"
RUN = Path("checkpoints") / "before_layout"
EXPORT = Path("exports") / "before_layout"
STEP2, STEP4 = RUN / "step000002.ckpt", RUN / "step000004.ckpt"


@pytest.fixture
def run(old_run: Path) -> Path:
    """A copy of the fixture run folder as the working folder (see ``old_run`` in conftest.py)."""
    return old_run


def _lora(module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.model.named_parameters() if "lora_" in k}


def test_each_source_restores(run):
    one = restore(str(STEP2))
    assert (one.ckpt_path, one.step, one.config_path) == (STEP2, 2, RUN / "config.yaml")
    assert one.metadata["method"] == "lora" and one.module.method == "lora" and one.cli.config.run_name == "before_layout"
    assert one.source == f"{STEP2} (step 2, lora on tiny:qwen2)" and not one.model.training
    assert one.prompt.system_prompt == "You are a helpful coding assistant." and one.prompt.chat

    folder = restore(str(RUN))  # a run folder: its best
    assert (folder.ckpt_path, folder.step, folder.checkpoint_file) == (RUN / "best", 2, STEP2)
    assert folder.source == f"{RUN / 'best'}, the best checkpoint of run folder {RUN} (step 2, lora on tiny:qwen2)"
    (RUN / "best").unlink()
    no_best = restore(str(RUN))  # else its last.ckpt
    assert (no_best.ckpt_path, no_best.step) == (RUN / "last.ckpt", 4) and "(it has no best yet)" in no_best.source
    last = restore("last", str(RUN / "config.yaml"))  # `last` of the config's run
    assert (last.ckpt_path, last.step) == (RUN / "last.ckpt", 4)

    base = restore(config=str(RUN / "config.yaml"))
    assert (base.ckpt_path, base.step, base.source) == (None, 0, "base model tiny:qwen2")
    assert all(not v.any() for k, v in _lora(base.module).items() if "lora_B" in k)  # nothing loaded

    exported = restore(model_dir=str(EXPORT))
    assert exported.module is None and exported.export_dir == EXPORT and exported.export_record["step"] == 2
    assert exported.prompt.system_prompt == "You are a helpful coding assistant."

    dir_only = restore(checkpoints_dir=str(RUN), command="benchmark")  # built once, nothing loaded yet
    assert dir_only.ckpt_path is None and dir_only.config_path == RUN / "config.yaml"
    assert dir_only.load_checkpoint(STEP4) == 4 and dir_only.ckpt_path == STEP4
    assert dir_only.load_checkpoint(STEP2) == 2
    expected = _lora(one.module)
    assert all(torch.equal(v, expected[k]) for k, v in _lora(dir_only.module).items())


def test_a_run_folder_resumes_from_its_last_checkpoint():
    folder = FIXTURE / RUN
    assert find_checkpoint(folder) == folder / "best"
    assert find_checkpoint(folder, resume=True) == folder / "last.ckpt"


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> dict[Path, int]:
    reads: dict[Path, int] = {}
    real_load = torch.load

    def load(f, *args, **kwargs):
        if isinstance(f, (str, Path)):
            key = Path(f).resolve()
            reads[key] = reads.get(key, 0) + 1
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    return reads


@pytest.mark.parametrize("command", [
    ["generate", "--ckpt_path", str(RUN), "--prompt", "Print 1.", "--max_new_tokens", "2"],
    ["chat", "--ckpt_path", str(RUN / "best")],
    ["export", "--ckpt_path", str(RUN / "best"), "--output", "exported"],
    ["benchmark", "--ckpt_path", str(STEP2)],
    ["evaluate", "--ckpt_path", str(RUN), "--tasks", "none"],
], ids=lambda argv: argv[0])
def test_each_command_reads_the_checkpoint_once(run, monkeypatch, command):
    import lightning_lora.commands.evaluate as evaluate

    monkeypatch.setattr(evaluate, "run_harness", lambda model, tokenizer, settings: {"tasks": {}, "seconds": 0.0})
    monkeypatch.setattr("builtins.input", lambda prompt="": (_ for _ in ()).throw(EOFError))  # chat: Ctrl-D at once
    reads = _count_reads(monkeypatch)
    assert main(command) == 0
    assert reads == {(run / STEP2).resolve(): 1}
    if command[0] == "evaluate":  # named after the file best points to
        assert json.loads((run / RUN / "lm_eval" / "step000002" / "lm_eval.json").read_text())["checkpoint"] == "step000002.ckpt"


def test_benchmark_checkpoints_dir_reads_each_checkpoint_once(run, monkeypatch):
    reads = _count_reads(monkeypatch)
    assert main(["benchmark", "--checkpoints_dir", str(RUN)]) == 0
    assert reads == {(run / STEP2).resolve(): 1, (run / STEP4).resolve(): 1}


def test_benchmark_finds_the_config_beside_the_checkpoint(run, capsys):
    (run / RUN / "step000004.results.json").unlink()
    assert main(["benchmark", "--ckpt_path", str(STEP4)]) == 0  # no --config, no --checkpoints_dir
    assert "| 4 | 0.0000 | 0/4 |" in capsys.readouterr().out
    assert json.loads((run / RUN / "step000004.results.json").read_text())["summary"]["step"] == 4
    assert main(["benchmark", "--ckpt_path", str(RUN)]) == 0  # the run folder: its best, scored as its step file
    assert not (run / RUN / "best.results.json").exists()


#: (--ckpt_path, --config, the exception, its line). lone/x.ckpt is a checkpoint copied where no config.yaml is,
#: r4.yaml the run's config with another LoRA rank.
MISTAKES = [
    pytest.param("nowhere.ckpt", None, CheckpointNotFoundError,
                 "--ckpt_path nowhere.ckpt: no checkpoint there (give a checkpoint file such as checkpoints/<run>/best, "
                 "last.ckpt or stepNNNNNN.ckpt, or a run folder).", id="no-checkpoint"),
    pytest.param("exports", None, CheckpointNotFoundError,
                 "--ckpt_path exports: no checkpoint at exports/best or exports/last.ckpt (fit writes them in a run "
                 "folder once it has saved a checkpoint).", id="folder-without-checkpoint"),
    pytest.param("README.md", None, NotACheckpointError,
                 "--ckpt_path README.md cannot be read as a torch checkpoint (RuntimeError).", id="not-torch"),
    pytest.param("foreign.ckpt", None, NotACheckpointError,
                 "--ckpt_path foreign.ckpt is not a checkpoint written by lightning_lora fit.", id="foreign-checkpoint"),
    pytest.param("lone/x.ckpt", None, ConfigNotFoundError,
                 "--ckpt_path lone/x.ckpt: no training config at lone/config.yaml (fit saves config.yaml beside its "
                 "checkpoints; --config X.yaml names the one to use).", id="no-config-beside"),
    pytest.param(str(STEP2), "missing.yaml", ConfigNotFoundError,
                 "--config missing.yaml: no training config there (fit saves one beside its checkpoints: "
                 "checkpoints/<run_name>/config.yaml).", id="no-config"),
    pytest.param(str(STEP2), "r4.yaml", CheckpointMismatchError,
                 f"{STEP2}: The checkpoint's LoRA settings differ from the config's: model.lora.r: checkpoint 2 vs "
                 "config 4.", id="mismatch"),
]
COMMANDS = [["generate", "--prompt", "hi"], ["export", "--output", "out"], ["benchmark"],
            ["evaluate", "--tasks", "none"], ["chat"]]


@pytest.mark.parametrize(("ckpt", "config", "error", "line"), MISTAKES)
def test_each_mistake_is_the_same_line_in_every_command(run, capsys, ckpt, config, error, line):
    torch.save({"state_dict": {}}, run / "foreign.ckpt")
    (run / "lone").mkdir()
    shutil.copy(run / STEP2, run / "lone" / "x.ckpt")
    (run / "r4.yaml").write_text((run / RUN / "config.yaml").read_text().replace("      r: 2\n", "      r: 4\n"))
    args = ["--ckpt_path", ckpt, *(["--config", config] if config else [])]
    for command in COMMANDS:
        capsys.readouterr()
        assert main([command[0], *args, *command[1:]]) == 2, command
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1] == f"error: {line}" and not [e for e in err[:-1] if e.startswith(("error", "Traceback"))], command
    with pytest.raises(error, match="^" + re.escape(line) + "$"):
        restore(ckpt, config)


def test_validate_and_predict_accept_a_run_folder_and_say_the_same(run, capsys):
    """The LightningCLI subcommands resolve --ckpt_path through the same resolver and sentences."""
    config = ["--config", str(RUN / "config.yaml"), "--trainer.limit_val_batches", "1", "--trainer.callbacks", "[]",
              "--trainer.enable_progress_bar", "false"]
    assert main(["validate", *config, "--ckpt_path", str(RUN)]) == 0
    (run / "rows.jsonl").write_text(json.dumps({"id": "one", "input": "Print 1."}) + "\n")
    assert main(["predict", *config, "--ckpt_path", str(RUN), "--data.predict_path", "rows.jsonl",
                 "--model.init_args.max_new_tokens", "2"]) == 0
    folder = max((run / "tb_logs" / "before_layout").glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    assert json.loads((folder / "metrics.json").read_text())["checkpoint_step"] == 2  # the run's best
    capsys.readouterr()
    assert main(["validate", *config, "--ckpt_path", "nowhere.ckpt"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: {MISTAKES[0].values[3]}"


@pytest.mark.parametrize(("argv", "error", "line"), [
    (["generate", "--prompt", "hi"], ModelOptionsError,
     "generate needs a model: --ckpt_path C (a checkpoint or a run folder), --config X.yaml (alone: its base model; "
     "with a checkpoint: the config that builds it) or --model M (an exported folder, a model folder, or real:<name> "
     "from models list)."),
    (["evaluate", "--tasks", "t", "--ckpt_path", "a", "--model", "b"], ModelOptionsError,
     "evaluate: --model and --ckpt_path exclude each other; give one of --ckpt_path C (a checkpoint or a run folder), "
     "--config X.yaml (alone: its base model; with a checkpoint: the config that builds it) or --model M "
     "(an exported folder, a model folder, or real:<name> from models list)."),
    (["benchmark", "--ckpt_path", "a", "--checkpoints_dir", "b"], ModelOptionsError,
     "benchmark: --ckpt_path and --checkpoints_dir exclude each other; give one of --samples S (with --problems P), "
     "--ckpt_path C (a checkpoint or a run folder), --checkpoints_dir D (each checkpoint of a run folder), "
     "--config X.yaml (alone: its base model; with a checkpoint: the config that builds it) or --model M (an exported "
     "folder, a model folder, or real:<name> from models list)."),
    (["benchmark", "--checkpoints_dir", "nowhere"], CheckpointNotFoundError,
     "--checkpoints_dir nowhere: no run folder there (fit writes one per run: checkpoints/<run_name>)."),
    (["generate", "--prompt", "hi", "--ckpt_path", "last"], CheckpointNotFoundError,
     "--ckpt_path last: no run to take it from; give --config X.yaml (last is checkpoints/<run_name>/last.ckpt of "
     "its run) or the run folder itself."),
    (["generate", "--prompt", "hi", "--model", "nowhere"], ExportFolderError,
     "--model nowhere: no model folder there (a folder written by lightning_lora export, or a Hugging Face model "
     "folder)."),
    (["chat", "--model", "checkpoints"], ExportFolderError,
     "--model checkpoints has no tokenizer files (tokenizer.json, tokenizer_config.json); an export made by "
     "lightning_lora export carries them."),
], ids=lambda v: v[0] if isinstance(v, list) else None)
def test_options_and_folders_are_one_line(run, capsys, argv, error, line):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == f"error: {line}"
    options = dict(zip(argv[1::2], argv[2::2]))
    with pytest.raises(error, match="^" + re.escape(line) + "$"):
        restore(options.get("--ckpt_path"), options.get("--config"), options.get("--model"),
                checkpoints_dir=options.get("--checkpoints_dir"), command=argv[0], text_model=argv[0] != "benchmark")
