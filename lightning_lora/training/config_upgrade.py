"""Configs written by an earlier version, read by this one: class paths of moved modules and the flat benchmark
settings are rewritten to today's names wherever a config file is read (``fit --config``, a run folder's
``config.yaml`` read by ``benchmark``, ``export``, ``generate`` ...). The file itself is never changed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

#: Modules moved when the package took one folder per concept (old dotted path -> new), for class paths in configs.
MOVED_MODULES = {
    "lightning_lora.checkpoint_io": "lightning_lora.checkpoints.atomic_io",
    "lightning_lora.strategies": "lightning_lora.training.strategies",
    "lightning_lora.callbacks.harness": "lightning_lora.callbacks.lm_eval_tasks",
    "lightning_lora.methods": "lightning_lora.models.methods",
    "lightning_lora.training_cli": "lightning_lora.training.cli",
    "lightning_lora.run_lock": "lightning_lora.training.run_lock",
    "lightning_lora.precision": "lightning_lora.modules.precision",
}
_MOVED = re.compile(r"^(" + "|".join(re.escape(old) for old in MOVED_MODULES) + r")\.(\w+)$")


def current_class_path(class_path: str) -> str:
    """``class_path`` under today's module names (unchanged when its module did not move)."""
    match = _MOVED.match(class_path)
    return f"{MOVED_MODULES[match.group(1)]}.{match.group(2)}" if match else class_path


def _upgrade_class_paths(node: Any) -> bool:
    """Rewrite every ``class_path`` in a parsed config in place; whether anything changed."""
    changed = False
    if isinstance(node, dict):
        value = node.get("class_path")
        if isinstance(value, str) and current_class_path(value) != value:
            node["class_path"] = current_class_path(value)
            changed = True
        for child in node.values():
            changed |= _upgrade_class_paths(child)
    elif isinstance(node, list):
        for child in node:
            changed |= _upgrade_class_paths(child)
    return changed


def _upgrade_flat_benchmark_settings(data: Any) -> bool:
    """Before the benchmark settings became one schema, ``BenchmarkCallback`` took them flat
    (``init_args: {problems: ..., n: ...}``); they now sit under ``init_args.settings``."""
    callbacks = (data.get("trainer") or {}).get("callbacks") if isinstance(data, dict) else None
    changed = False
    for callback in callbacks if isinstance(callbacks, list) else []:
        if not isinstance(callback, dict):
            continue
        init_args = callback.get("init_args")
        if str(callback.get("class_path", "")).endswith(".BenchmarkCallback") and isinstance(init_args, dict) \
                and "settings" not in init_args:
            wait = {k: init_args.pop(k) for k in ("wait_timeout_s",) if k in init_args}
            settings = {k: v for k, v in init_args.items() if v is not None}  # unset then, the defaults now
            callback["init_args"] = {"settings": settings, **wait}
            changed = True
    return changed


def saved_config_text(config: Path) -> str:
    """A config file as YAML text, upgraded where an earlier version wrote it differently (the text as it is
    when nothing needs upgrading, or when it is not YAML: the parser then names the problem)."""
    text = config.read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    changed = _upgrade_class_paths(data)
    changed |= _upgrade_flat_benchmark_settings(data)
    return yaml.safe_dump(data, sort_keys=False) if changed else text


def upgraded_config_arguments(argv: list[str]) -> list[str]:
    """``argv`` with each ``--config FILE`` that needs upgrading replaced by its upgraded YAML text."""
    out = list(argv)
    for i, arg in enumerate(out):
        value, prefix = None, ""
        if arg == "--config" and i + 1 < len(out):
            continue
        if i > 0 and out[i - 1] == "--config":
            value = arg
        elif arg.startswith("--config="):
            value, prefix = arg.split("=", 1)[1], "--config="
        if value is None or "\n" in value or not Path(value).is_file():
            continue
        text = saved_config_text(Path(value))
        if text != Path(value).read_text():
            out[i] = prefix + text
    return out
