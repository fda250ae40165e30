"""Kill a run with SIGKILL mid-epoch, resume it with ``--ckpt_path last``: every later step logs the
same train loss as the uninterrupted run, bit for bit (CPU, fp32 and bf16)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable, TypeVar

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# 40 training samples in batches of 8 (or 2 processes x 4): 5 steps per epoch, so 13 steps cross two
# epoch boundaries.
# LoRA dropout and a shuffled, length-grouped, packed order exercise the random and data state;
# validation every 3 steps runs between a checkpoint and the next step.
ARGS = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--trainer.max_steps", "13",
        "--data.max_samples", "40", "--data.batch_size", "8", "--data.group_by_length", "true", "--data.pack", "true",
        "--model.lora.lora_dropout", "0.1", "--eval_every_n_steps", "3", "--checkpoint.every_n_train_steps", "3",
        "--trainer.log_every_n_steps", "1", "--trainer.enable_progress_bar", "false"]
KILL_AT = 8  # after 8 optimizer steps (epoch 1, third batch); the last periodic checkpoint is step 6 (epoch 1, first batch)


def _start(cwd: Path, *extra: str) -> subprocess.Popen:
    # This checkout's package first, whatever else is installed, and the test's killer callbacks. One thread
    # per process: the losses do not depend on what else runs, so runs may overlap.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests" / "helpers")])}
    return subprocess.Popen([sys.executable, "-m", "lightning_lora", "fit", *ARGS, *extra], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _fit(cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return _wait(_start(cwd, *extra))


def _train_losses(events_file: Path) -> dict[int, float]:
    acc = EventAccumulator(str(events_file), size_guidance={"scalars": 0})
    acc.Reload()
    return {e.step: e.value for e in acc.Scalars("train/loss")}


def _events(run: Path) -> list[Path]:
    return sorted((run / "tb_logs" / "quickstart" / "version_0").glob("events.out.tfevents.*"), key=os.path.getmtime)


DDP = ["--config", str(REPO / "configs" / "strategies" / "ddp.yaml"), "--data.batch_size", "4"]  # 2 processes x 4


def _stop(callback: str, when: int) -> str:
    argument = "step" if callback == "KillAtStep" else "batch"
    return f"[{{class_path: killer.{callback}, init_args: {{{argument}: {when}}}}}]"


ACCUMULATE = ["--trainer.accumulate_grad_batches", "2"]
# (how the run is stopped and when: optimizer steps for KillAtStep, else training batches counted from
# 0; its exit status; the step of the checkpoint it leaves as last; that checkpoint's position in
# epoch 1; extra arguments): every case resumes mid-epoch.
CASES = {
    # bf16 base under bf16-mixed (fp32 adapters, optimizer state and loss), with two loader worker processes
    # whose data state must come back too: still bit for bit on the CPU. (fp32 is every other case.)
    "sigkill-bf16-loader-workers": ("KillAtStep", KILL_AT, -signal.SIGKILL, 6, 1,
                                    ["--data.num_workers", "2", "--model.dtype", "bfloat16",
                                     "--trainer.precision", "bf16-mixed"]),
    # SIGTERM: the run stops at the end of that batch, saves and exits with status 143 ("terminated").
    "sigterm": ("TerminateAtBatch", 8, 143, 9, 4, []),
    # Every DDP process gets it (as a scheduler sends it); the resumed run goes on in 2 processes.
    "sigterm-every-ddp-process": ("TerminateAtBatch", 8, 143, 9, 4, DDP),
    # Arriving in the first micro-batch of a step, it waits for the end of the accumulation window.
    "sigterm-inside-gradient-accumulation": ("TerminateAtBatch", 7, 143, 5, 4, ACCUMULATE),
    "ctrl-c-inside-a-step": ("InterruptAfterForward", 8, None, 8, 3, []),  # saved with the weights after step 8
}


_REFERENCES: dict[tuple[str, ...], Path] = {}


def _uninterrupted(tmp_path_factory: pytest.TempPathFactory, extra: list[str], meanwhile: Callable[[], T]) -> tuple[Path, T]:
    """The uninterrupted run with these arguments (one per set of arguments, shared by the cases), and what
    ``meanwhile`` returns: it runs while the uninterrupted run does, when that one is not done yet."""
    key = tuple(extra)
    if key in _REFERENCES:
        return _REFERENCES[key], meanwhile()
    folder = tmp_path_factory.mktemp("uninterrupted")
    running = _start(folder, *extra, "--trainer.callbacks", "[]")
    try:
        result = meanwhile()
    finally:
        done = _wait(running)
    assert done.returncode == 0, done.stderr[-3000:]
    _REFERENCES[key] = folder
    return folder, result


@pytest.mark.parametrize("case", list(CASES))
def test_interrupt_mid_epoch_then_resume_logs_the_same_train_loss_bit_for_bit(tmp_path, tmp_path_factory, case):
    callback, when, status, saved_step, saved_batches, extra = CASES[case]
    broken = tmp_path / "broken"
    broken.mkdir()
    whole, stopped = _uninterrupted(tmp_path_factory, extra,
                                    lambda: _fit(broken, *extra, "--trainer.callbacks", _stop(callback, when)))
    assert stopped.returncode == status if status is not None else stopped.returncode not in (0, -signal.SIGKILL), \
        stopped.stderr[-3000:]
    saved = torch.load(broken / "checkpoints" / "quickstart" / "last.ckpt", weights_only=False)
    assert saved["global_step"] == saved_step
    position = saved["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]
    assert (position["epoch"], position["batches_done"]) == (1, saved_batches)  # mid-epoch

    resumed = _fit(broken, *extra, "--trainer.callbacks", "[]", "--ckpt_path", "last")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "not resumable" not in resumed.stderr and "starts over" not in resumed.stderr

    reference = _train_losses(_events(whole)[-1])
    after = _train_losses(_events(broken)[-1])  # the resumed process's own events file
    assert sorted(reference) == list(range(13))
    assert sorted(after) == list(range(saved_step, 13))  # logged at the step index before each optimizer step
    assert {s: after[s] for s in after} == {s: reference[s] for s in after}  # exact float equality
    # The final adapters are identical too.
    final = [torch.load(d / "checkpoints" / "quickstart" / "last.ckpt", weights_only=False)["state_dict"]
             for d in (whole, broken)]
    assert final[0].keys() == final[1].keys()
    for key in final[0]:
        assert torch.equal(final[0][key], final[1][key]), key


def test_ctrl_c_inside_gradient_accumulation_saves_nothing(tmp_path):
    # Batch 8 is the second micro-batch of step 5: its partial gradients cannot go into a checkpoint.
    stopped = _fit(tmp_path, *ACCUMULATE, "--trainer.callbacks", _stop("InterruptAfterForward", 8))
    assert stopped.returncode not in (0, -signal.SIGKILL), stopped.stderr[-3000:]
    assert "micro-batch 1 of a 2-batch gradient accumulation" in stopped.stderr
    run = tmp_path / "checkpoints" / "quickstart"
    assert torch.load(run / "last.ckpt", weights_only=False)["global_step"] == 3  # the periodic one
    assert sorted(p.name for p in run.glob("step*.ckpt")) == ["step000003.ckpt"]


def test_a_saved_position_skips_trained_batches_unless_the_data_layout_changed(tmp_path, tiny_qwen2):
    from lightning_lora.data.code import CodeSFTDataModule

    path = tmp_path / "rows.jsonl"
    path.write_text("".join(f'{{"input": "Print {i}.", "solution": "print({i})", "output": ""}}\n' for i in range(40)))
    dm = CodeSFTDataModule(path=str(path), tokenizer_name_or_path=str(tiny_qwen2), batch_size=4)
    dm.setup("fit")
    whole = [batch["idx"].tolist() for batch in dm.train_dataloader()]
    position = {"epoch": 0, "batches_done": 3, **dm._layout()}

    loader = dm.train_dataloader()
    loader.load_state_dict(position)
    assert [batch["idx"].tolist() for batch in loader] == whole[3:]

    next_epoch = dm.train_dataloader()
    next_epoch.batch_sampler.set_epoch(1)
    loader = dm.train_dataloader()
    loader.load_state_dict({**position, "batches_done": len(whole)})  # saved at the end of epoch 0
    assert [batch["idx"].tolist() for batch in loader] == [batch["idx"].tolist() for batch in next_epoch] != whole

    loader = dm.train_dataloader()
    with pytest.warns(UserWarning, match="starts over"):
        loader.load_state_dict({**position, "batch_size": 8})
    assert [batch["idx"].tolist() for batch in loader] == whole


def test_random_state_in_a_checkpoint_is_the_one_at_the_end_of_the_last_completed_batch(tmp_path):
    import random
    from types import SimpleNamespace

    import numpy as np

    from lightning_lora.callbacks.random_state import RandomStateCheckpoint

    saving = RandomStateCheckpoint()
    torch.manual_seed(1), random.seed(1), np.random.seed(1)
    saving.on_train_batch_end(None, None, None, None, 0)
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.rand(5), random.random(), np.random.rand()  # a step interrupted half-way, then saved (Ctrl-C)
    torch.save(saving.state_dict(), tmp_path / "state.pt")

    restoring = RandomStateCheckpoint()
    restoring.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))  # loadable without pickle
    torch.manual_seed(7), random.seed(7), np.random.seed(7)
    restoring.on_train_batch_start(SimpleNamespace(global_rank=0, world_size=1), None, None, 0)
    assert torch.equal(torch.rand(3), expected[0])
    assert random.random() == expected[1] and np.random.rand() == expected[2]
