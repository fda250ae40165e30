"""The package's layering rules: commands sit above libraries, Lightning's private API stays in one module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lightning_lora.__main__ import COMMANDS, main
from lightning_lora.training_cli import saved_config_text

PACKAGE = Path(__file__).resolve().parents[1] / "lightning_lora"
LIBRARY_FILES = [p for p in PACKAGE.rglob("*.py") if "commands" not in p.parts and p.name != "__main__.py"]


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_library_module_imports_a_command(path):
    assert not [m for m in _imported_modules(path) if m.startswith("lightning_lora.commands") or m == "lightning_lora.__main__"]


def test_every_command_module_exists_and_has_main():
    import importlib

    for module in set(COMMANDS.values()):
        assert callable(importlib.import_module(module).main)


#: Private Lightning attributes and functions the project relies on; only lightning_internals.py may name them.
PRIVATE = re.compile(r"\b(_parse_ckpt_path|_save_checkpoint|_save_last_checkpoint|_monitor_candidates|"
                     r"_last_global_step_saved|_batches_that_stepped|_signal_connector|_collect_rng_states|"
                     r"_set_rng_states|_setup_model|batch_progress|_trainer)\b")


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_lightning_private_api_only_in_lightning_internals(path):
    if path.name == "lightning_internals.py":
        return
    assert PRIVATE.findall(path.read_text()) == []


def test_unknown_command_is_one_line(capsys):
    assert main(["fitt", "--config", "x.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown command 'fitt'") and len(err.splitlines()) == 1


def test_a_run_folder_config_with_the_flat_benchmark_callback_is_upgraded(tmp_path):
    import yaml

    old = tmp_path / "config.yaml"
    old.write_text(yaml.safe_dump({"run_name": "r", "trainer": {"callbacks": [
        {"class_path": "lightning_lora.callbacks.benchmark.BenchmarkCallback",
         "init_args": {"problems": "synthetic:code", "max_new_tokens": 48, "k": None, "wait_timeout_s": 60.0}},
        {"class_path": "lightning.pytorch.callbacks.EarlyStopping", "init_args": {"monitor": "val/loss"}}]}}))
    callbacks = yaml.safe_load(saved_config_text(old))["trainer"]["callbacks"]
    assert callbacks[0]["init_args"] == {"settings": {"problems": "synthetic:code", "max_new_tokens": 48},
                                         "wait_timeout_s": 60.0}
    assert callbacks[1]["init_args"] == {"monitor": "val/loss"}
    new = tmp_path / "new.yaml"
    new.write_text("trainer:\n  callbacks:\n  - class_path: lightning_lora.callbacks.benchmark.BenchmarkCallback\n"
                   "    init_args:\n      settings:\n        problems: humaneval\n")
    assert saved_config_text(new) == new.read_text()
