"""``fit`` / ``validate`` / ``test`` / ``predict``: the training CLI (LightningCLI) with one-line errors.

    python -m lightning_lora fit --config configs/quickstart.yaml [--model.lora.r 4 ...]
"""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_lora.checkpoints.atomic_io import file_size_limit_message
from lightning_lora.errors import first_line, user_error_in_chain
from lightning_lora.reporting.fit_summary import fit_summary
from lightning_lora.training.cli import build_cli
from lightning_lora.training.config_errors import instantiation_error


def main(argv: list[str]) -> int:
    """Build and run the training CLI on ``argv`` (``["fit", "--config", ...]``); return the exit status."""
    _ignore_file_size_signal()
    try:
        cli = build_cli(argv)
    except SIGTERMException:  # a SystemExit without a code: a preempted run must not look finished
        print("error: stopped by SIGTERM; the checkpoint saved on the way out is last (resume with --ckpt_path last).",
              file=sys.stderr)
        return 143
    except SystemExit as exit_:
        if isinstance(exit_.__context__, KeyboardInterrupt):  # Lightning's Ctrl-C handling ends in sys.exit(1)
            return 130  # RunCheckpoint has said what was saved
        raise
    except FloatingPointError as err:
        print(f"error: {err} Training stopped; the last checkpoint written before it is intact.", file=sys.stderr)
        return 1
    except MisconfigurationException as err:  # Lightning's word for a Trainer option that cannot work here
        print(f"error: {first_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:
        message = None
        if user_error_in_chain(err) is None:
            message = instantiation_error(err) or file_size_limit_message(err)
        if message is None:
            raise  # a UserError is reported by __main__; anything else is a bug and keeps its traceback
        print(f"error: {message}", file=sys.stderr)
        return 2
    if cli.subcommand == "fit" and cli.trainer.is_global_zero and not cli.trainer.interrupted:
        nothing = trained_nothing(cli.trainer)
        if nothing is not None:  # no summary: it would suggest exporting a checkpoint that does not exist
            cli.remove_what_this_start_left_empty()
            print(f"error: {nothing}", file=sys.stderr)
            return 2
        print(fit_summary(cli.trainer), flush=True)
    return 0


def _ignore_file_size_signal() -> None:
    """A write past ``ulimit -f`` raises SIGXFSZ, whose default kills the process with no word; ignored (as CPython
    does at start-up, restated for an embedding that did not), the write fails with EFBIG and is one line."""
    if hasattr(signal, "SIGXFSZ"):
        with contextlib.suppress(ValueError):  # not the main thread: leave it as it is
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def trained_nothing(trainer: Any) -> str | None:
    """Why a fit that ended normally left no checkpoint to go on from (no training batch, no step), or None."""
    callback = trainer.checkpoint_callback
    folder = Path(callback.dirpath) if callback is not None and callback.dirpath else None
    if folder is None or any(folder.glob("*.ckpt")) or (folder / "best").exists():
        return None
    batches = trainer.num_training_batches
    why = (f"the training data gave no batch (trainer.limit_train_batches {trainer.limit_train_batches})"
           if batches == 0 else f"it ran {trainer.global_step} optimizer steps")
    return f"The fit trained nothing and wrote no checkpoint to {folder}: {why}; there is nothing to export or resume."
