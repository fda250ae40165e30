"""Fine-tuning methods: which weights train, applied to a plain Hugging Face model.

``full``    every weight trains.
``lora``    PEFT LoRA adapters (settings: :class:`LoraArgs`).
``dora``    LoRA with weight decomposition (``use_dora=True``), same settings.
``qlora``   LoRA on a 4-bit NF4 base (bitsandbytes, CUDA only): the module loads the base with
            :func:`quantization_config` after :func:`check_method_available`, before any weight loads.
``ia3``     PEFT (IA)^3 scaling vectors (settings: :class:`IA3Args`).
``bitfit``  bias terms only, plus the task head of a classifier.
``peft``    any PEFT config given as a dict (``peft_type`` and its options), via ``peft.get_peft_config``.
``none``    everything frozen (evaluate the base model).

Plain PyTorch + PEFT; nothing here knows about Lightning.
"""

from __future__ import annotations

import importlib.util
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from lightning_lora.errors import UserError, first_line

METHODS = ("lora", "dora", "qlora", "ia3", "full", "bitfit", "peft", "none")
#: Methods configured by ``model.lora``.
LORA_METHODS = ("lora", "dora", "qlora")
#: Methods whose model is a ``peft.PeftModel`` (an adapter can be saved on its own).
PEFT_METHODS = ("lora", "dora", "qlora", "ia3", "peft")
#: Task heads of sequence classifiers (BERT/DistilBERT ``classifier`` and ``pre_classifier``, decoder ``score``):
#: freshly initialised when a base model becomes a classifier, so they always train.
HEAD_MODULES = ("pre_classifier", "classifier", "score")

_DECODER_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
_DECODERS = ("llama", "qwen2", "qwen3", "mistral", "gemma", "gemma2", "gemma3_text")
#: LoRA / DoRA / QLoRA targets when ``model.lora.target_modules`` is unset: every attention and MLP
#: projection of decoder LLMs (what QLoRA found necessary to match full fine-tuning), GPT-2's fused
#: Conv1D ``c_attn`` and ``c_proj``, and the query/value projections of encoders (the LoRA paper's choice).
LORA_TARGETS: dict[str, list[str]] = {
    **{model_type: _DECODER_PROJECTIONS for model_type in _DECODERS},
    "gpt2": ["c_attn", "c_proj"],
    "distilbert": ["q_lin", "v_lin"],
    "bert": ["query", "value"],
    "roberta": ["query", "value"],
}
#: (IA)^3 (target_modules, feedforward_modules) when ``model.ia3`` leaves them unset: keys, values and
#: the input of the second feed-forward layer, as in the (IA)^3 paper.
IA3_TARGETS: dict[str, tuple[list[str], list[str]]] = {
    **{model_type: (["k_proj", "v_proj", "down_proj"], ["down_proj"]) for model_type in _DECODERS},
    "gpt2": (["c_attn", "mlp.c_proj"], ["mlp.c_proj"]),
    "distilbert": (["k_lin", "v_lin", "lin2"], ["lin2"]),
    "bert": (["key", "value", "output.dense"], ["output.dense"]),
    "roberta": (["key", "value", "output.dense"], ["output.dense"]),
}


class MethodError(UserError):
    """The method configuration does not fit the model."""


@dataclass
class LoraArgs:
    """LoRA settings (also for ``dora`` and ``qlora``), named as in ``peft.LoraConfig``.

    Args:
        r: rank of the update matrices.
        lora_alpha: scaling numerator; the update is scaled by ``lora_alpha / r``.
        lora_dropout: dropout on the LoRA input.
        target_modules: module names (matched as the last name components, as PEFT does);
            ``["all-linear"]`` for every linear layer but the output head; unset: the architecture's
            default (``lightning_lora.models.methods.LORA_TARGETS``, e.g. all projections of Qwen2/Llama).
        bias: ``none``, ``all`` or ``lora_only`` biases are trained too.
        modules_to_save: extra modules trained in full and saved with the adapter (e.g. a task head).
    """

    r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] | None = None
    bias: str = "none"
    modules_to_save: list[str] | None = None

    def __post_init__(self) -> None:
        if self.r < 1:
            raise MethodError(f"model.lora.r must be a positive integer, got {self.r}.")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise MethodError(f"model.lora.lora_dropout must be in [0, 1), got {self.lora_dropout}.")
        if self.bias not in ("none", "all", "lora_only"):
            raise MethodError(f"model.lora.bias must be 'none', 'all' or 'lora_only', got {self.bias!r}.")
        if self.target_modules is not None and not self.target_modules:
            raise MethodError("model.lora.target_modules is empty; name at least one module, use ['all-linear'], "
                              "or leave it unset for the architecture's default.")


@dataclass
class IA3Args:
    """(IA)^3 settings, named as in ``peft.IA3Config``.

    Args:
        target_modules: modules whose activations get a learned scaling vector; unset: the
            architecture's default (``lightning_lora.models.methods.IA3_TARGETS``, e.g. k/v/down_proj).
        feedforward_modules: the targets that are feed-forward layers (scaled on their input, not
            output); must be a subset of ``target_modules``; unset: the architecture's default ones
            among the targets.
        modules_to_save: extra modules trained in full and saved with the adapter.
    """

    target_modules: list[str] | None = None
    feedforward_modules: list[str] | None = None
    modules_to_save: list[str] | None = None

    def __post_init__(self) -> None:
        if self.target_modules is not None and not self.target_modules:
            raise MethodError("model.ia3.target_modules is empty; name at least one module or leave it unset.")
        if self.target_modules is not None and self.feedforward_modules is not None:
            extra = [m for m in self.feedforward_modules if m not in self.target_modules]
            if extra:
                raise MethodError(f"model.ia3.feedforward_modules: {', '.join(extra)} not in model.ia3.target_modules.")


# -- before any weight loads ------------------------------------------------------------------------
def check_method_available(method: str) -> None:
    """Refuse an unknown method, or ``qlora`` where it cannot run, before a model is loaded."""
    if method not in METHODS:
        raise MethodError(f"model.method {method!r} is not one of {', '.join(METHODS)}.")
    if method == "qlora":
        if not torch.cuda.is_available():
            raise MethodError("model.method 'qlora' needs a CUDA GPU (bitsandbytes 4-bit weights); "
                              "none is available here: use 'lora' or 'dora' on this machine.")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise MethodError("model.method 'qlora' needs the bitsandbytes package: pip install bitsandbytes.")


def quantization_config(method: str, compute_dtype: Any = torch.bfloat16) -> Any:
    """``transformers.BitsAndBytesConfig`` for ``qlora`` (4-bit NF4, double quantisation), else None.

    ``compute_dtype`` (a torch dtype, or ``"auto"`` for bfloat16) is the dtype the 4-bit weights are
    dequantised to for each matmul; the model's ``dtype`` setting is the natural choice.
    """
    if method != "qlora":
        return None
    from transformers import BitsAndBytesConfig

    dtype = torch.bfloat16 if compute_dtype in ("auto", None) else compute_dtype
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=dtype)


# -- target modules ---------------------------------------------------------------------------------
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


def _model_type(model: nn.Module) -> str | None:
    return getattr(getattr(model, "config", None), "model_type", None)


def default_target_modules(model: nn.Module) -> list[str]:
    """LoRA targets for ``model``'s architecture: :data:`LORA_TARGETS`, else PEFT's table, else all linear layers."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_TARGETS

    model_type = _model_type(model)
    return list(LORA_TARGETS.get(model_type) or PEFT_TARGETS.get(model_type) or ["all-linear"])


def default_ia3_modules(model: nn.Module) -> tuple[list[str], list[str]]:
    """(IA)^3 ``(target_modules, feedforward_modules)`` for ``model``'s architecture."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING as PEFT_FF
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING as PEFT_TARGETS

    model_type = _model_type(model)
    if model_type in IA3_TARGETS:
        targets, feedforward = IA3_TARGETS[model_type]
        return list(targets), list(feedforward)
    if PEFT_TARGETS.get(model_type):
        return list(PEFT_TARGETS[model_type]), list(PEFT_FF.get(model_type) or [])
    raise MethodError(f"model.ia3.target_modules: no default for model type {model_type!r}; set it (and "
                      f"model.ia3.feedforward_modules) from the model's layers: {', '.join(_leaf_names(model))}.")


def _check_targets(model: nn.Module, targets: list[str], option: str) -> None:
    missing = missing_target_modules(model, targets)
    if missing:
        raise MethodError(f"{option}: {', '.join(missing)} not found in {type(model).__name__}; "
                          f"its layers are named {', '.join(_leaf_names(model))}.")


def _only_conv1d(model: nn.Module, targets: list[str]) -> bool:
    """Whether every targeted layer is a GPT-2 style ``Conv1D`` (weights stored fan-in x fan-out)."""
    from transformers.pytorch_utils import Conv1D

    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    kinds = {type(m) is Conv1D for n, m in model.named_modules()
             if isinstance(m, (nn.Linear, Conv1D)) and m is not head  # all-linear leaves the output head out
             and (targets == ["all-linear"] or any(n == t or n.endswith("." + t) for t in targets))}
    return kinds == {True}


def _with_heads(model: nn.Module, modules_to_save: list[str] | None, task_type: str) -> list[str] | None:
    """``modules_to_save`` plus the classifier head modules the model has (for a classification task) and every
    module ``from_pretrained`` initialised at random (``model.newly_initialized_modules``, e.g. a BERT pooler
    missing from the files): trained and saved with the adapter, so two loads of it give the same model."""
    chosen = list(modules_to_save or [])
    if task_type == "SEQ_CLS":
        names = {n.rsplit(".", 1)[-1] for n in module_names(model)}
        chosen += [h for h in HEAD_MODULES if h in names and h not in chosen]
    for name in newly_initialized(model):
        if not any(f".{entry}." in f".{name}." for entry in chosen):  # not already inside a saved module
            chosen.append(name)
    return chosen or None


def newly_initialized(model: nn.Module) -> list[str]:
    """Modules the loader initialised at random (set by :mod:`lightning_lora.models.loading`; none for other models)."""
    return list(getattr(model, "newly_initialized_modules", None) or [])


# -- applying a method ------------------------------------------------------------------------------
def _peft_model(model: nn.Module, config: Any, method: str) -> nn.Module:
    from peft import get_peft_model

    try:
        return get_peft_model(model, config)
    except (ValueError, TypeError, NotImplementedError) as err:
        raise MethodError(f"model.method {method!r} cannot be applied to {type(model).__name__}: {first_line(err)}") from err


def apply_lora(model: nn.Module, lora: LoraArgs, task_type: str = "CAUSAL_LM", method: str = "lora") -> nn.Module:
    """Wrap ``model`` with PEFT LoRA (DoRA for ``method='dora'``) after checking every target exists."""
    from peft import LoraConfig

    targets = list(lora.target_modules) if lora.target_modules is not None else default_target_modules(model)
    _check_targets(model, targets, "model.lora.target_modules")
    config = LoraConfig(
        r=lora.r, lora_alpha=lora.lora_alpha, lora_dropout=lora.lora_dropout,
        target_modules="all-linear" if targets == ["all-linear"] else targets,
        bias=lora.bias, modules_to_save=_with_heads(model, lora.modules_to_save, task_type), task_type=task_type,
        use_dora=method == "dora", fan_in_fan_out=_only_conv1d(model, targets),
    )
    return _peft_model(model, config, method)


def apply_qlora(model: nn.Module, lora: LoraArgs, task_type: str = "CAUSAL_LM") -> nn.Module:
    """LoRA on a base loaded in 4 bits: norms and head upcast to fp32 for stable training, then adapters."""
    from peft import prepare_model_for_kbit_training

    check_method_available("qlora")
    if not getattr(model, "is_loaded_in_4bit", False):
        raise MethodError("model.method 'qlora' needs the base model loaded in 4 bits: pass "
                          "quantization_config('qlora', dtype) to from_pretrained.")
    checkpointing = getattr(model, "is_activation_checkpointing", None)  # transformers >= 5
    if checkpointing is None:
        checkpointing = getattr(model, "is_gradient_checkpointing", False)
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=bool(checkpointing),
                                            gradient_checkpointing_kwargs={"use_reentrant": False})
    return apply_lora(model, lora, task_type, method="qlora")


def apply_ia3(model: nn.Module, ia3: IA3Args, task_type: str = "CAUSAL_LM") -> nn.Module:
    """Wrap ``model`` with PEFT (IA)^3 after checking every target exists."""
    from peft import IA3Config

    if ia3.target_modules is None:
        targets, feedforward = default_ia3_modules(model)
    else:
        targets = list(ia3.target_modules)
        _, default_ff = default_ia3_modules(model) if _model_type(model) in IA3_TARGETS else ([], [])
        feedforward = [m for m in default_ff if m in targets]
    if ia3.feedforward_modules is not None:
        feedforward = list(ia3.feedforward_modules)
        extra = [m for m in feedforward if m not in targets]
        if extra:
            raise MethodError(f"model.ia3.feedforward_modules: {', '.join(extra)} not among the targets {', '.join(targets)}.")
    _check_targets(model, targets, "model.ia3.target_modules")
    config = IA3Config(target_modules=targets, feedforward_modules=feedforward, task_type=task_type,
                       modules_to_save=_with_heads(model, ia3.modules_to_save, task_type),
                       fan_in_fan_out=_only_conv1d(model, targets))
    return _peft_model(model, config, "ia3")


def peft_config_from_dict(options: dict[str, Any], task_type: str = "CAUSAL_LM") -> Any:
    """A ``peft.PeftConfig`` from ``model.peft_config``; a bad type, option or value is one MethodError."""
    from peft import PeftType, get_peft_config

    if not isinstance(options, dict) or not options.get("peft_type"):
        raise MethodError("model.peft_config needs a peft_type (e.g. LOHA, LOKR, ADALORA, VERA) and its options, "
                          "as in peft's config classes.")
    options = {**options, "peft_type": str(options["peft_type"]).upper()}
    options.setdefault("task_type", task_type)
    if options["peft_type"] not in PeftType.__members__:
        raise MethodError(f"model.peft_config.peft_type {options['peft_type']!r} is not a PEFT type; "
                          f"choose one of {', '.join(PeftType.__members__)}.")
    try:
        return get_peft_config(options)
    except TypeError as err:
        bad = re.search(r"unexpected keyword argument '([^']+)'", str(err))
        what = f"has no option {bad.group(1)!r}" if bad else f"rejects these options: {first_line(err)}"
        raise MethodError(f"model.peft_config: {options['peft_type']} {what}.") from err
    except ValueError as err:
        raise MethodError(f"model.peft_config: {first_line(err)}") from err


def apply_peft_config(model: nn.Module, options: dict[str, Any], task_type: str = "CAUSAL_LM") -> nn.Module:
    """Wrap ``model`` with any PEFT method described by a dict (``peft.get_peft_config``)."""
    config = peft_config_from_dict(options, task_type)
    targets = getattr(config, "target_modules", None)
    if isinstance(targets, (list, set, tuple)):
        _check_targets(model, list(targets), "model.peft_config.target_modules")
    if hasattr(config, "modules_to_save"):
        config.modules_to_save = _with_heads(model, config.modules_to_save, task_type)
    return _peft_model(model, config, "peft")


def apply_bitfit(model: nn.Module, task_type: str = "CAUSAL_LM") -> nn.Module:
    """Train only bias terms (and a classifier's head and any other module that starts from random)."""
    model.requires_grad_(False)
    biases = [p for n, p in model.named_parameters() if re.search(r"(^|\.)bias$", n)]
    if not biases:
        raise MethodError(f"model.method 'bitfit' needs bias terms, but {type(model).__name__} has none.")
    for p in biases:
        p.requires_grad_(True)
    new = set(newly_initialized(model))
    for name, module in model.named_modules():
        if (task_type == "SEQ_CLS" and name.rsplit(".", 1)[-1] in HEAD_MODULES) or name in new:
            module.requires_grad_(True)
    return model


def apply_method(
    model: nn.Module,
    method: str,
    lora: LoraArgs | None = None,
    task_type: str = "CAUSAL_LM",
    *,
    ia3: IA3Args | None = None,
    peft_config: dict[str, Any] | None = None,
) -> nn.Module:
    """Return the model with exactly the parameters of ``method`` trainable.

    ``lora`` configures ``lora`` / ``dora`` / ``qlora``, ``ia3`` configures ``ia3``, ``peft_config``
    (a dict with ``peft_type``) is the whole configuration of ``peft`` and is refused with any other method.
    """
    check_method_available(method)
    if peft_config is not None and method != "peft":
        raise MethodError(f"model.peft_config is set but model.method is {method!r}; set model.method: peft to use it.")
    if method in ("lora", "dora"):
        return apply_lora(model, lora or LoraArgs(), task_type, method)
    if method == "qlora":
        return apply_qlora(model, lora or LoraArgs(), task_type)
    if method == "ia3":
        return apply_ia3(model, ia3 or IA3Args(), task_type)
    if method == "peft":
        if peft_config is None:
            raise MethodError("model.method 'peft' needs model.peft_config, "
                              "e.g. {peft_type: LOHA, r: 8, target_modules: [q_proj, v_proj]}.")
        return apply_peft_config(model, peft_config, task_type)
    if method == "bitfit":
        return apply_bitfit(model, task_type)
    model.requires_grad_(method == "full")
    return model


# -- reporting --------------------------------------------------------------------------------------
def trainable_keys(model: nn.Module) -> list[str]:
    """State-dict keys of the trainable parameters, in a stable order."""
    return sorted(n for n, p in model.named_parameters() if p.requires_grad)


def logical_numel(p: torch.Tensor) -> int:
    """Number of weights a parameter stands for: a bitsandbytes 4-bit parameter packs two per byte
    (its tensor has half as many elements); its ``quant_state`` keeps the original shape."""
    quant_state = getattr(p, "quant_state", None)
    shape = getattr(quant_state, "shape", None)
    return math.prod(shape) if shape is not None else p.numel()


def parameter_report(model: nn.Module) -> dict[str, float]:
    """Total and trainable parameter counts, trainable share, and bytes.

    Counts are logical (a 4-bit weight counts as one parameter, so QLoRA and LoRA report the same
    totals); ``total_bytes`` is the memory the parameters occupy as stored (4-bit weights at half a
    byte each; quantisation constants not included) and ``trainable_bytes`` that of the trainable ones.
    """
    total = trainable = total_bytes = trainable_bytes = 0
    for p in model.parameters():
        count, stored = logical_numel(p), p.numel() * p.element_size()
        total += count
        total_bytes += stored
        if p.requires_grad:
            trainable += count
            trainable_bytes += stored
    return {
        "total_params": total,
        "trainable_params": trainable,
        "trainable_percent": 100.0 * trainable / total if total else 0.0,
        "trainable_bytes": trainable_bytes,
        "total_bytes": total_bytes,
    }


def method_metadata(method: str, lora: LoraArgs | None, ia3: IA3Args | None = None,
                    peft_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Primitive description of a method, stored in checkpoints and compared on load."""
    return {
        "method": method,
        "lora": asdict(lora or LoraArgs()) if method in LORA_METHODS else None,
        "ia3": asdict(ia3 or IA3Args()) if method == "ia3" else None,
        "peft_config": dict(peft_config) if method == "peft" and peft_config is not None else None,
    }
