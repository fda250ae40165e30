"""``fit`` / ``validate`` / ``test`` / ``predict``: the training CLI (LightningCLI) with one-line errors.

    python -m lightning_lora fit --config configs/quickstart.yaml [--model.lora.r 4 ...]
"""

from __future__ import annotations

import sys

from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lightning_lora.errors import first_line, user_error_in_chain
from lightning_lora.reporting.fit_summary import fit_summary
from lightning_lora.training.cli import build_cli, instantiation_error


def main(argv: list[str]) -> int:
    """Build and run the training CLI on ``argv`` (``["fit", "--config", ...]``); return the exit status."""
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
        message = instantiation_error(err) if user_error_in_chain(err) is None else None
        if message is None:
            raise  # a UserError is reported by __main__; anything else is a bug and keeps its traceback
        print(f"error: {message}", file=sys.stderr)
        return 2
    if cli.subcommand == "fit" and cli.trainer.is_global_zero and not cli.trainer.interrupted:
        print(fit_summary(cli.trainer), flush=True)
    return 0
