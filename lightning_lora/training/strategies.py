"""Lightning's FSDP strategy, set up for adapters (select it with ``configs/strategies/fsdp.yaml``).

DeepSpeed needs no subclass: Lightning's ``DeepSpeedStrategy`` takes ``exclude_frozen_parameters``
(``configs/strategies/deepspeed.yaml``).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from lightning_lora.errors import UserError
from lightning_lora.lightning_internals import WrapPolicyFSDPStrategy


class AdapterFSDPStrategy(WrapPolicyFSDPStrategy):
    """FSDP that wraps every decoder layer, and every trainable layer (LoRA A/B, heads) in a unit of
    its own, with PEFT's auto-wrap policy computed from the model being trained.

    Units that hold only frozen or only trainable weights let FSDP keep gradients and optimizer
    state for the adapters alone. ``use_orig_params`` (on by default here) keeps parameter objects
    and names usable by the optimizer. Checkpoints gather a full state dict on rank zero, which the
    module reduces to its trainable weights (adapter-only files, as with one device).

    Args:
        **kwargs: any argument of :class:`lightning.pytorch.strategies.FSDPStrategy`; an explicit
            ``auto_wrap_policy`` replaces PEFT's.
    """

    def __init__(self, **kwargs: Any) -> None:
        if not torch.accelerator.is_available():
            raise UserError("trainer.strategy AdapterFSDPStrategy (configs/strategies/fsdp.yaml) needs GPUs: torch's FSDP "
                            "does not run on CPU. Use configs/strategies/ddp.yaml on CPU.")
        kwargs.setdefault("use_orig_params", True)
        kwargs.setdefault("state_dict_type", "full")
        super().__init__(**kwargs)

    def before_wrap(self, model: nn.Module) -> None:
        if "auto_wrap_policy" not in self.kwargs:
            self.kwargs["auto_wrap_policy"] = adapter_wrap_policy(model)


def adapter_wrap_policy(module: nn.Module) -> Callable[..., bool]:
    """PEFT's FSDP auto-wrap policy for the Hugging Face model inside a lightning_lora module:
    a unit per decoder layer (the model's ``_no_split_modules``) and per trainable leaf layer."""
    from peft.utils.other import fsdp_auto_wrap_policy

    return fsdp_auto_wrap_policy(getattr(module, "model", module))
