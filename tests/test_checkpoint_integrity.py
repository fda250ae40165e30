"""Checkpoint and export integrity (issue 28, item 1): a few bytes changed inside a tensor of a checkpoint (the zip
still opens) or of an export's weight file are refused by every reader in one line naming the file and the part;
untouched files, and checkpoints written before digests, load as before.

The damage is done the way a disk or a bad copy does it: one bit flipped in place inside the tensor's bytes in the
file (found by searching the file for them), the zip's own records left as they were (torch does not check them).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from lightning_lora.__main__ import main
from lightning_lora.checkpoints.integrity import (
    DIGEST_KEY,
    checkpoint_digests,
    damaged_parts,
    folder_digests,
    tensors_digest,
)
from lightning_lora.checkpoints.reading import DamagedCheckpointError, read_checkpoint
from lightning_lora.training.cli import build_cli

REPO = Path(__file__).resolve().parents[1]
RUN = "integrity"
QUICK = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.enable_progress_bar", "false",
         "--trainer.enable_model_summary", "false", "--trainer.callbacks", "[]", "--trainer.num_sanity_val_steps", "0",
         "--data.batch_size", "4"]
PROMPT = ["--prompt", "Print 1.", "--max_new_tokens", "2", "--no_stream"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, _isolated_cache: Path) -> Path:
    """A 4-step tiny:qwen2 LoRA run (checkpoints at steps 2 and 4) and an adapter export of step 4, under one root."""
    root = tmp_path_factory.mktemp("integrity")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        build_cli(["fit", *QUICK, "--run_name", RUN, "--trainer.max_steps", "4", "--checkpoint.every_n_train_steps", "2"])
        assert main(["export", "--ckpt_path", f"checkpoints/{RUN}/step000004.ckpt", "--output", "exported"]) == 0
    return root


@pytest.fixture
def run(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Path:
    """A copy of the trained root as the working folder (each test damages its own files)."""
    root = tmp_path / "root"
    shutil.copytree(trained, root, symlinks=True)
    monkeypatch.chdir(root)
    capsys.readouterr()
    return root


def _flip_bit_inside(path: Path, candidates: dict[str, torch.Tensor]) -> str:
    """Flip one bit in the middle of a tensor's bytes inside the file at ``path``, in place: the first of
    ``candidates`` whose bytes are in the file exactly once (a tensor of zeros is not); return its name."""
    raw = bytearray(path.read_bytes())
    for name, tensor in candidates.items():
        pattern = tensor.contiguous().view(torch.uint8).numpy().tobytes()
        at = raw.find(pattern)
        if at >= 0 and raw.find(pattern, at + 1) < 0:
            raw[at + len(pattern) // 2] ^= 0x10
            path.write_bytes(bytes(raw))
            return name
    raise AssertionError(f"no tensor of {sorted(candidates)[:3]}... is in {path} exactly once")


def _damage(ckpt: Path, part: str) -> str:
    """Flip a bit inside one tensor of ``part`` of a checkpoint; return the tensor's name."""
    data = torch.load(ckpt, weights_only=True)
    if part == "state_dict":
        candidates = {k: v for k, v in sorted(data["state_dict"].items()) if "lora_A" in k}
    else:
        state = data["optimizer_states"][0]["state"]
        candidates = {f"optimizer_states.0.state.{i}.{key}": state[i][key] for i in sorted(state)
                      for key in ("exp_avg_sq", "exp_avg")}
    return _flip_bit_inside(ckpt, candidates)


def _one_error_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# -- the digests ---------------------------------------------------------------------------------------------------

def test_a_digest_covers_names_dtypes_shapes_and_bytes_in_a_fixed_order():
    a, b = torch.randn(4, 6), torch.randn(3).to(torch.bfloat16)
    digest = tensors_digest({"a": a, "b": b, "step": torch.tensor(3.0)})
    assert digest == tensors_digest({"step": torch.tensor(3.0), "b": b.clone(), "a": a.clone()})  # key order
    assert digest != tensors_digest({"a2": a, "b": b, "step": torch.tensor(3.0)})  # a name
    assert digest != tensors_digest({"a": a.reshape(6, 4), "b": b, "step": torch.tensor(3.0)})  # a shape
    assert digest != tensors_digest({"a": a.view(torch.int32), "b": b, "step": torch.tensor(3.0)})  # a dtype
    changed = a.clone()
    changed.view(torch.uint8)[0, 5] ^= 1
    assert digest != tensors_digest({"a": changed, "b": b, "step": torch.tensor(3.0)})  # one bit
    assert tensors_digest({"a": a.t()}) == tensors_digest({"a": a.t().contiguous()})  # values, not memory layout
    # optimizer state: int keys, nested lists; blake2b is read too
    optim = [{"state": {10: {"exp_avg": a}, 2: {"exp_avg": a + 1}}, "param_groups": [{"lr": 0.1, "params": [2, 10]}]}]
    recorded = checkpoint_digests({"state_dict": {"a": a}, "optimizer_states": optim}, algorithm="blake2b")
    assert recorded["algorithm"] == "blake2b" and set(recorded) == {"algorithm", "state_dict", "optimizer_states"}
    assert damaged_parts({"state_dict": {"a": a}, "optimizer_states": optim}, recorded) == []
    optim[0]["state"][2]["exp_avg"] = changed
    assert damaged_parts({"state_dict": {"a": a}, "optimizer_states": optim}, recorded) == ["optimizer_states"]
    assert damaged_parts({"state_dict": {"a": changed}}, recorded) == ["state_dict"]  # a part it lacks: unchecked
    assert damaged_parts({"state_dict": {"a": changed}}, None) == []  # written before digests


def test_a_saved_checkpoint_records_digests_that_match_after_loading(trained):
    data = torch.load(trained / "checkpoints" / RUN / "step000004.ckpt", weights_only=True, mmap=True)
    recorded = data["lightning_lora"][DIGEST_KEY]
    assert set(recorded) == {"algorithm", "state_dict", "optimizer_states"} and recorded["algorithm"] == "xxh3_128"
    assert recorded["state_dict"] == tensors_digest(data["state_dict"])
    assert recorded["optimizer_states"] == tensors_digest(data["optimizer_states"])
    record = json.loads((trained / "exported" / "export.json").read_text())
    assert set(record[DIGEST_KEY]["files"]) == {"adapter_model.safetensors"}
    assert record[DIGEST_KEY] == folder_digests(trained / "exported")


# -- damaged checkpoints -------------------------------------------------------------------------------------------

def test_damaged_weights_are_refused_by_every_command_in_one_line_naming_the_file(run, capsys):
    ckpt = Path("checkpoints") / RUN / "step000004.ckpt"
    original = _damage(ckpt, "state_dict")
    config = ["--config", str(ckpt.parent / "config.yaml")]
    expected = (f"error: {ckpt}: the trainable weights (state_dict) do not match the digest recorded when it was saved "
                f"(damaged file); use an earlier checkpoint ({ckpt.parent / 'step000002.ckpt'}) or train again.")
    commands = {
        "validate": ["validate", *config, "--ckpt_path", str(ckpt), "--trainer.enable_progress_bar", "false"],
        "export": ["export", "--ckpt_path", str(ckpt), "--output", "out"],
        "generate": ["generate", "--ckpt_path", str(ckpt), *PROMPT],
        "fit": ["fit", *config, "--ckpt_path", str(ckpt), "--trainer.max_steps", "6", "--trainer.enable_progress_bar",
                "false"],
    }
    before = sorted(p.name for p in ckpt.parent.iterdir())
    for command, argv in commands.items():
        assert main(argv) == 2, command
        assert _one_error_line(capsys) == expected, command
    assert not Path("out").exists() and original
    assert sorted(p.name for p in ckpt.parent.iterdir()) == before  # fit saved nothing over the run


def test_damaged_optimizer_state_is_named_and_stops_only_a_resume(run, capsys):
    last = Path("checkpoints") / RUN / "last.ckpt"
    _damage(last, "optimizer_states")
    damaged_bytes = last.read_bytes()
    assert main(["fit", "--config", str(last.parent / "config.yaml"), "--ckpt_path", "last", "--trainer.max_steps", "6",
                 "--trainer.enable_progress_bar", "false"]) == 2
    assert _one_error_line(capsys) == (
        f"error: {last}: the optimizer state (optimizer_states) does not match the digest recorded when it was saved "
        "(damaged file); its weights are intact (generate, export and validate still use them), but training cannot "
        f"resume from it: resume from an earlier checkpoint ({last.parent / 'step000002.ckpt'}).")
    assert last.read_bytes() == damaged_bytes and not list(last.parent.glob("step000006*"))
    assert main(["export", "--ckpt_path", str(last), "--output", "out"]) == 0  # the weights are still good


def test_a_resume_checks_each_part_once(run, monkeypatch, capsys):
    """``fit --ckpt_path`` checks weights and optimizer state before any model loads; Lightning's read of the same
    unchanged file (``on_load_checkpoint``) does not hash them again."""
    import lightning_lora.checkpoints.reading as reading

    checked: list[str] = []
    original = reading.damaged_parts

    def counting(checkpoint, recorded, parts):
        checked.extend(parts)
        return original(checkpoint, recorded, parts)

    monkeypatch.setattr(reading, "damaged_parts", counting)
    assert main(["fit", "--config", f"checkpoints/{RUN}/config.yaml", "--ckpt_path", "last", "--trainer.max_steps", "5",
                 "--trainer.enable_progress_bar", "false"]) == 0, capsys.readouterr().err
    assert checked == ["state_dict", "optimizer_states"]
    assert torch.load(f"checkpoints/{RUN}/last.ckpt", weights_only=True)["global_step"] == 5


def test_lightnings_own_load_checks_the_digests_too(run):
    """A Trainer given the file directly (no CLI): ``on_load_checkpoint`` refuses it, naming the file."""
    ckpt = Path("checkpoints") / RUN / "step000004.ckpt"
    _damage(ckpt, "state_dict")
    cli = build_cli(["--config", str(ckpt.parent / "config.yaml"), "--trainer.logger", "false",
                     "--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]"], run=False)
    with pytest.raises(DamagedCheckpointError, match=f"^{ckpt}: the trainable weights .state_dict. do not match"):
        cli.trainer.validate(cli.model, datamodule=cli.datamodule, ckpt_path=str(ckpt))
    earlier = ckpt.with_name("step000002.ckpt")
    _damage(earlier, "optimizer_states")
    cli.trainer.validate(cli.model, datamodule=cli.datamodule, ckpt_path=str(earlier))  # validation uses weights only
    files = {p.name: p.read_bytes() for p in ckpt.parent.iterdir() if p.is_file()}
    with pytest.raises(DamagedCheckpointError, match=f"^{earlier}: the optimizer state .optimizer_states. does not match"):
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=str(earlier))
    assert {p.name: p.read_bytes() for p in ckpt.parent.iterdir() if p.is_file()} == files  # nothing saved on the way out


def test_an_untouched_checkpoint_and_one_written_before_digests_load(run, capsys):
    ckpt = Path("checkpoints") / RUN / "step000004.ckpt"
    assert read_checkpoint(ckpt).verified == ("state_dict",)
    old = ckpt.with_name("step000003.ckpt")  # as an earlier version wrote it: no digests in the metadata
    data = torch.load(ckpt, weights_only=True)
    del data["lightning_lora"][DIGEST_KEY]
    torch.save(data, old)
    _damage(old, "state_dict")  # and nothing to check it against: it loads as it always did
    for path in (ckpt, old):
        assert main(["validate", "--config", str(ckpt.parent / "config.yaml"), "--ckpt_path", str(path),
                     "--trainer.enable_progress_bar", "false"]) == 0, capsys.readouterr().err
        assert main(["generate", "--ckpt_path", str(path), *PROMPT]) == 0, capsys.readouterr().err


# -- exports -------------------------------------------------------------------------------------------------------

def test_a_modified_export_is_refused_in_one_line_naming_the_folder(run, capsys):
    from safetensors.torch import load_file

    folder = Path("exported")
    assert main(["generate", "--model", str(folder), *PROMPT]) == 0
    capsys.readouterr()
    weights = folder / "adapter_model.safetensors"
    tensors = load_file(weights)
    _flip_bit_inside(weights, {k: v for k, v in sorted(tensors.items()) if "lora_A" in k})
    source = json.loads((folder / "export.json").read_text())["checkpoint"]
    assert main(["generate", "--model", str(folder), *PROMPT]) == 2
    assert _one_error_line(capsys) == (
        f"error: --model {folder}: adapter_model.safetensors does not match the digest export.json recorded when it was "
        f"exported (damaged or modified file); export it again (python -m lightning_lora export --ckpt_path {source} "
        f"--output {folder} --overwrite).")
    weights.unlink()
    assert main(["generate", "--model", str(folder), *PROMPT]) == 2
    assert "adapter_model.safetensors is missing; export it again" in _one_error_line(capsys)


def test_a_damaged_first_checkpoint_points_to_a_later_one_for_its_weights(tmp_path):
    from lightning_lora.checkpoints.reading import damaged_sentence

    for step in (2, 4):
        (tmp_path / f"step{step:06d}.ckpt").write_bytes(b"x")
    assert damaged_sentence(tmp_path / "step000002.ckpt", ["state_dict"], 2).endswith(
        f"use another checkpoint of the run ({tmp_path / 'step000004.ckpt'}) or train again.")
    (tmp_path / "step000004.ckpt").unlink()
    assert damaged_sentence(tmp_path / "step000002.ckpt", ["state_dict"], 2).endswith(
        f"{tmp_path} has no other checkpoint to use instead: train again.")
