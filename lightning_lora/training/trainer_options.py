"""Trainer options that cannot work, refused in one line before any folder exists or weights load (Lightning
would end in a traceback, or in a fit that trained nothing and says it finished)."""

from __future__ import annotations

import difflib
import importlib
import re
from typing import Any, NoReturn

from lightning_lora.errors import UserError, first_line
from lightning_lora.training.config_errors import accepted_classes, nearest_names


def check_trainer_options(config: Any, fit: bool = True) -> None:
    """Trainer (and checkpoint) options that cannot work, as one UserError naming the option, before any folder
    is created or weights load; Lightning would otherwise accept some silently (``max_steps 0`` trains nothing
    and exits 0, ``gradient_clip_val -1`` turns clipping off) and fail on others with a traceback."""
    trainer = config.trainer

    def number(option: str) -> Any:
        value = trainer.get(option)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        return value

    def bad(option: str, should: str, value: Any) -> NoReturn:
        raise UserError(f"{option} must be {should}, got {value}.")

    if fit:
        max_steps, max_epochs = number("max_steps"), number("max_epochs")
        if max_steps == 0 or max_epochs == 0:
            option, value = ("trainer.max_steps", max_steps) if max_steps == 0 else ("trainer.max_epochs", max_epochs)
            raise UserError(f"{option} {value} trains nothing; give a positive number (or -1 for no limit).")
        if isinstance(max_steps, int) and max_steps < -1:
            bad("trainer.max_steps", "a positive number of optimizer steps or -1 (no limit)", max_steps)
        if isinstance(max_epochs, int) and max_epochs < -1:
            bad("trainer.max_epochs", "a positive number of epochs or -1 (no limit)", max_epochs)
        limit = number("limit_train_batches")
        if isinstance(limit, (int, float)) and (limit <= 0 or (isinstance(limit, float) and limit > 1.0)):
            if limit == 0:
                raise UserError("trainer.limit_train_batches 0 trains nothing; give a fraction of an epoch in (0, 1] "
                                "or a positive number of batches.")
            bad("trainer.limit_train_batches", "a fraction of an epoch in (0, 1] or a positive number of batches", limit)
        accumulate = number("accumulate_grad_batches")
        if isinstance(accumulate, int) and accumulate < 1:
            bad("trainer.accumulate_grad_batches", "a positive number of batches per optimizer step", accumulate)
        every = config.get("checkpoint", {}).get("every_n_train_steps") if config.get("checkpoint") else None
        other_cadence = config.get("checkpoint") and (config.checkpoint.get("every_n_epochs")
                                                      or config.checkpoint.get("train_time_interval"))
        if isinstance(every, int) and (every < 0 or (every == 0 and not other_cadence)):
            bad("checkpoint.every_n_train_steps", "a positive number of optimizer steps (0 only with "
                "checkpoint.every_n_epochs or checkpoint.train_time_interval set)", every)
    for option in ("limit_val_batches", "limit_test_batches", "limit_predict_batches"):
        limit = number(option)
        if isinstance(limit, (int, float)) and (limit < 0 or (isinstance(limit, float) and limit > 1.0)):
            bad(f"trainer.{option}", "a fraction in [0, 1] or a number of batches (0: none)", limit)
    for option, should in (("min_steps", "a number of optimizer steps"), ("min_epochs", "a number of epochs")):
        value = number(option)
        if isinstance(value, int) and value < 0:
            bad(f"trainer.{option}", should, value)
    num_nodes = number("num_nodes")
    if isinstance(num_nodes, int) and num_nodes < 1:
        bad("trainer.num_nodes", "a positive number of machines", num_nodes)
    log_every = number("log_every_n_steps")
    if isinstance(log_every, int) and log_every < 1:
        bad("trainer.log_every_n_steps", "a positive number of steps (0 would log no training loss)", log_every)
    clip = trainer.get("gradient_clip_val")
    if isinstance(clip, (int, float)) and clip < 0:
        bad("trainer.gradient_clip_val", "a positive clipping threshold (or null: no clipping)", clip)
    algorithm = trainer.get("gradient_clip_algorithm")
    if algorithm is not None and str(algorithm).lower() not in ("norm", "value"):
        bad("trainer.gradient_clip_algorithm", "'norm' or 'value'", repr(algorithm))
    _check_devices(number("devices"))
    _check_accelerator(trainer.get("accelerator"))
    _check_strategy(trainer.get("strategy"))

def _check_devices(devices: Any) -> None:
    should = "a positive number of devices, a list of device indices, 'auto' or -1 (all of them)"
    if isinstance(devices, bool):
        return
    if isinstance(devices, int) and (devices == 0 or devices < -1):
        raise UserError(f"trainer.devices must be {should}, got {devices}.")
    if isinstance(devices, (list, tuple)) and (not devices or any(isinstance(d, int) and d < 0 for d in devices)):
        raise UserError(f"trainer.devices must be {should}, got {list(devices)}.")

def _check_accelerator(accelerator: Any) -> None:
    """A named accelerator Lightning knows and this machine has (``gpu`` on a machine without one is one line)."""
    if not isinstance(accelerator, str) or accelerator == "auto":
        return
    from lightning.pytorch.accelerators import AcceleratorRegistry

    name = accelerator.lower()
    known = sorted({*AcceleratorRegistry.available_accelerators(), "auto", "gpu"})
    if name not in known:
        nearest = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {nearest[0]}? " if nearest else ""
        raise UserError(f"trainer.accelerator {accelerator!r} is not an accelerator Lightning knows; {hint}"
                        f"the names are {', '.join(known)}.")
    if name == "gpu":
        import torch

        if torch.cuda.is_available() or (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            return
        available = False
    else:
        try:
            available = bool(AcceleratorRegistry[name]["accelerator"].is_available())
        except Exception:  # its package is missing (tpu without torch_xla)
            available = False
    if not available:
        what = "no CUDA GPU" if name in ("gpu", "cuda") else "no such device (or its package is not installed)"
        raise UserError(f"trainer.accelerator {accelerator}: this machine has {what}; "
                        "use --trainer.accelerator cpu (or auto).")

def _check_strategy(strategy: Any) -> None:
    """A strategy name Lightning knows, or a class path that imports."""
    if not isinstance(strategy, str) or strategy == "auto":
        return
    from lightning.pytorch.strategies import StrategyRegistry

    if "." in strategy:
        module_name, _, class_name = strategy.rpartition(".")
        try:
            getattr(importlib.import_module(module_name), class_name)
            return
        except (ImportError, AttributeError) as err:
            nearest = nearest_names(strategy, accepted_classes("trainer.strategy"))
            hint = f"; did you mean {' or '.join(nearest)}?" if nearest else ""
            raise UserError(f"trainer.strategy: no class {strategy} ({first_line(err)}){hint}") from None
    known = ["auto", *StrategyRegistry.available_strategies()]
    if strategy.lower() not in known:
        nearest = difflib.get_close_matches(strategy.lower(), known, n=3)
        hint = f"did you mean {' or '.join(nearest)}? " if nearest else ""
        raise UserError(f"trainer.strategy {strategy!r} is not a strategy Lightning knows; {hint}"
                        "(names: auto, ddp, ddp_spawn, fsdp, deepspeed, ..., or a class path).")
