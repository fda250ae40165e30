"""Fine-tuning methods: which weights train, applied to a plain Hugging Face model.

Plain PyTorch + PEFT; nothing here knows about Lightning.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from lightning_lora.errors import UserError

METHODS = ("lora", "full", "bitfit", "none")


class MethodError(UserError):
    """The method configuration does not fit the model."""


@dataclass
class LoraArgs:
    """LoRA settings, named as in ``peft.LoraConfig``.

    Args:
        r: rank of the update matrices.
        lora_alpha: scaling numerator; the update is scaled by ``lora_alpha / r``.
        lora_dropout: dropout on the LoRA input.
        target_modules: module names (matched as the last name component, as PEFT does), or
            ``["all-linear"]`` for every linear layer but the output head.
        bias: ``none``, ``all`` or ``lora_only`` biases are trained too.
        modules_to_save: extra modules trained in full and saved with the adapter (e.g. a task head).
    """

    r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    bias: str = "none"
    modules_to_save: list[str] | None = None

    def __post_init__(self) -> None:
        if self.r < 1:
            raise MethodError(f"model.lora.r must be a positive integer, got {self.r}.")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise MethodError(f"model.lora.lora_dropout must be in [0, 1), got {self.lora_dropout}.")
        if self.bias not in ("none", "all", "lora_only"):
            raise MethodError(f"model.lora.bias must be 'none', 'all' or 'lora_only', got {self.bias!r}.")
        if not self.target_modules:
            raise MethodError("model.lora.target_modules is empty; name at least one module or use ['all-linear'].")


def module_names(model: nn.Module) -> list[str]:
    """Names of all submodules (``""`` for the root left out)."""
    return [name for name, _ in model.named_modules() if name]


def missing_target_modules(model: nn.Module, targets: list[str]) -> list[str]:
    """Targets that match no module; a name matches a module whose last components equal it."""
    if targets == ["all-linear"]:
        return []
    names = module_names(model)
    return [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]


def _leaf_names(model: nn.Module) -> list[str]:
    """Distinct last name components of parameterised leaf modules, to suggest valid targets."""
    leaves = {name.rsplit(".", 1)[-1] for name, module in model.named_modules()
              if name and not list(module.children()) and any(True for _ in module.parameters(recurse=False))}
    return sorted(n for n in leaves if not n.isdigit())


def apply_lora(model: nn.Module, lora: LoraArgs, task_type: str = "CAUSAL_LM") -> nn.Module:
    """Wrap ``model`` with PEFT LoRA after checking that every target module exists."""
    from peft import LoraConfig, get_peft_model

    missing = missing_target_modules(model, list(lora.target_modules))
    if missing:
        raise MethodError(
            f"model.lora.target_modules: {', '.join(missing)} not found in {type(model).__name__}; "
            f"its layers are named {', '.join(_leaf_names(model))}."
        )
    targets: Any = "all-linear" if list(lora.target_modules) == ["all-linear"] else list(lora.target_modules)
    config = LoraConfig(
        r=lora.r, lora_alpha=lora.lora_alpha, lora_dropout=lora.lora_dropout, target_modules=targets,
        bias=lora.bias, modules_to_save=lora.modules_to_save, task_type=task_type,
    )
    return get_peft_model(model, config)


def apply_method(model: nn.Module, method: str, lora: LoraArgs | None = None, task_type: str = "CAUSAL_LM") -> nn.Module:
    """Return the model with exactly the parameters of ``method`` trainable.

    ``none`` freezes everything (the zero-shot base model), ``full`` trains all weights,
    ``bitfit`` trains only bias terms, ``lora`` adds PEFT LoRA adapters.
    """
    if method == "lora":
        return apply_lora(model, lora or LoraArgs(), task_type)
    if method == "full":
        model.requires_grad_(True)
        return model
    if method == "none":
        model.requires_grad_(False)
        return model
    if method == "bitfit":
        model.requires_grad_(False)
        biases = [p for n, p in model.named_parameters() if re.search(r"(^|\.)bias$", n)]
        if not biases:
            raise MethodError(f"model.method 'bitfit' needs bias terms, but {type(model).__name__} has none.")
        for p in biases:
            p.requires_grad_(True)
        return model
    raise MethodError(f"model.method {method!r} is not one of {', '.join(METHODS)}.")


def trainable_keys(model: nn.Module) -> list[str]:
    """State-dict keys of the trainable parameters, in a stable order."""
    return sorted(n for n, p in model.named_parameters() if p.requires_grad)


def parameter_report(model: nn.Module) -> dict[str, float]:
    """Total and trainable parameter counts, trainable share and trainable bytes."""
    total = trainable = trainable_bytes = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
            trainable_bytes += p.numel() * p.element_size()
    return {
        "total_params": total,
        "trainable_params": trainable,
        "trainable_percent": 100.0 * trainable / total if total else 0.0,
        "trainable_bytes": trainable_bytes,
    }


def method_metadata(method: str, lora: LoraArgs | None) -> dict[str, Any]:
    """Primitive description of a method, stored in checkpoints and compared on load."""
    return {"method": method, "lora": asdict(lora) if method == "lora" and lora is not None else None}
