"""The package's layering rules: commands sit above libraries, Lightning's private API stays in one module,
imports only go down the floors below, no import cycles, and the Lightning-free packages stay free of Lightning.

The import graph is read from the source (``ast``), function-local imports included: a lazy import is still a
dependency, it only moves the failure to the moment the function runs.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

from lightning_lora.__main__ import COMMANDS, main
from lightning_lora.training.config_upgrade import saved_config_text

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


#: The floors, lowest first. A module may import from its own package (or, at floor 0, the other root modules)
#: and from lower floors, never from a higher one. Keys are root modules (by stem) and packages.
FLOORS: dict[str, int] = {
    "errors": 0,  # the error types and one-line messages every layer raises: depends on nothing
    "files": 0,  # paths, atomic writes, locks: plain file handling any layer may need, no project concepts
    "lightning_internals": 0,  # Lightning's private API behind one door, callable by any layer without naming it
    "__init__": 0,  # the package itself: a version string, importing nothing
    "problems": 1,  # code problems and synthetic data: plain Python (no torch) that models, data and scoring read
    "models": 2,  # loading backbones and tokenizers, methods, tiny models: uses problems, knows no task or trainer
    "inference": 3,  # prompting and generation run a loaded model: above models, below anything that scores
    "evaluation": 4,  # metrics and lm-eval tasks score what inference produces
    "benchmark": 5,  # the code benchmark generates (inference) and scores programs: a heavier scorer above metrics
    "checkpoints": 6,  # checkpoint files and run folders keep what the libraries below produce (scores, metrics)
    "reporting": 7,  # reports read run folders and checkpoints (checkpoints) and present them, no torch
    "export": 8,  # export writes a model folder and its card (reporting) from a trained model
    "data": 9,  # LightningDataModules: the first Lightning layer, built from models' tokenizers and problems
    "modules": 10,  # LightningModules train on what data yields and evaluate with the libraries below
    "callbacks": 11,  # Trainer callbacks act on modules and data during a fit
    "training": 12,  # the CLI wires modules, data and callbacks into a Trainer
    "commands": 13,  # one entry point per command, calling training and the libraries; nothing imports them
    "__main__": 14,  # the command table, above every command it dispatches to
}

#: Packages that must not import Lightning (directly, or through another project module), function-local
#: imports included; ``checkpoints/atomic_io.py``, the one CheckpointIO adapter, is the exception.
LIGHTNING_FREE = ("models", "problems", "inference", "benchmark", "evaluation", "reporting", "checkpoints", "export")
LIGHTNING_ADAPTER = "lightning_lora.checkpoints.atomic_io"
LIGHTNING = ("lightning", "pytorch_lightning", "lightning_fabric")
#: Packages that must not import torch (the same way).
TORCH_FREE = ("problems",)
#: The modules allowed at the package root; everything else lives in a concept package.
ROOT_MODULES = {"__init__.py", "__main__.py", "errors.py", "files.py", "lightning_internals.py"}


@dataclass(frozen=True)
class Import:
    """One import statement's target as written (absolute), and where it is."""

    module: str  # the importing module, dotted
    target: str  # the imported name, dotted and absolute (``a.b.c`` for ``from a.b import c``)
    line: int


def module_names(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``package`` (``pkg.sub`` for ``pkg/sub/__init__.py``)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports_of(name: str, path: Path) -> list[Import]:
    """Every import in the file, at any depth (function-local too), relative ones made absolute."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # ``from ..x import y``: from the importing module's package, ``level - 1`` up
                here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                here = here[:len(here) - node.level + 1]
                base = ".".join(here + ([base] if base else []))
            found += [Import(name, f"{base}.{alias.name}" if base else alias.name, node.lineno) for alias in node.names]
    return found


@dataclass(frozen=True)
class Graph:
    """The package's modules, their imports of each other (resolved to modules) and of everything else."""

    package: str
    files: dict[str, Path]
    edges: dict[str, list[tuple[str, int]]]  # module -> [(project module, line)]
    external: dict[str, list[tuple[str, int]]]  # module -> [(top-level name of another distribution, line)]

    def reachable(self, start: str) -> dict[str, list[str]]:
        """Every module ``start`` imports directly or through others, with the shortest chain of imports there,
        nearest first."""
        chains = {start: [start]}
        todo = deque([start])
        while todo:
            current = todo.popleft()
            for target, _ in self.edges[current]:
                if target not in chains:
                    chains[target] = [*chains[current], target]
                    todo.append(target)
        return chains


def import_graph(package: Path) -> Graph:
    files = module_names(package)
    edges: dict[str, list[tuple[str, int]]] = {name: [] for name in files}
    external: dict[str, list[tuple[str, int]]] = {name: [] for name in files}
    for name, path in files.items():
        for imp in imports_of(name, path):
            if imp.target.split(".")[0] != package.name:
                external[name].append((imp.target.split(".")[0], imp.line))
                continue
            target = imp.target  # ``from pkg.mod import name``: the module ``pkg.mod`` (or ``pkg.mod.name`` if one)
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name:
                edges[name].append((target, imp.line))
    return Graph(package.name, files, edges, external)


def cycles(graph: Graph) -> list[list[str]]:
    """The import cycles: strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph.files:
        if root in index:
            continue
        work = [(root, iter(graph.edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next((t for t, _ in children if t not in index or t in on_stack), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.edges[child])))
                else:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def floor_key(module: str) -> str:
    """The floors-table key of a module: its package's name, or its own stem at the root (``__init__`` for the package)."""
    parts = module.split(".")[1:]
    return parts[0] if parts else "__init__"


def _where(graph: Graph, module: str, line: int) -> str:
    return f"{graph.files[module].relative_to(graph.files[graph.package].parents[1])}:{line}"


def uncovered_modules(graph: Graph, floors: dict[str, int]) -> list[str]:
    return sorted({floor_key(m) for m in graph.files} - set(floors))


def upward_imports(graph: Graph, floors: dict[str, int]) -> list[str]:
    """``module -> module (file:line)`` for every import of a module on a higher floor."""
    bad = []
    for module, targets in graph.edges.items():
        here = floor_key(module)
        for target, line in targets:
            there = floor_key(target)
            if there != here and floors[there] > floors[here]:
                bad.append(f"{module} (floor {floors[here]}) -> {target} (floor {floors[there]}), "
                           f"{_where(graph, module, line)}")
    return bad


def forbidden_reach(graph: Graph, packages: tuple[str, ...], names: tuple[str, ...], allowed: str = "") -> list[str]:
    """Modules of ``packages`` that import one of ``names``, directly or through project modules: for each, the
    nearest module importing it and the chain of imports leading there. ``allowed`` may import them itself, but
    reaching it from elsewhere counts (importing it pulls them in)."""
    bad = []
    for module in graph.files:
        if module == allowed or floor_key(module) not in packages:
            continue
        for reached, chain in graph.reachable(module).items():
            lines = [(name, line) for name, line in graph.external[reached] if name in names]
            if lines:
                name, line = lines[0]
                bad.append(f"{' -> '.join(chain)} imports {name}, {_where(graph, reached, line)}")
                break
    return bad


GRAPH = import_graph(PACKAGE)


def test_every_root_module_and_package_has_a_floor():
    missing = uncovered_modules(GRAPH, FLOORS)
    assert not missing, (f"{', '.join(missing)} not in the floors table of tests/test_layout.py: add it to FLOORS "
                         "(on the floor of the packages it may import from, with a comment saying why)")


def test_imports_only_go_down_the_floors():
    assert not uncovered_modules(GRAPH, FLOORS), "see test_every_root_module_and_package_has_a_floor"
    bad = upward_imports(GRAPH, FLOORS)
    assert not bad, "imports of a module on a higher floor:\n" + "\n".join(bad)


def test_no_import_cycles():
    found = cycles(GRAPH)
    detail = []
    for component in found:
        members = set(component)
        detail += [f"  {m} -> {t}, {_where(GRAPH, m, line)}" for m in component for t, line in GRAPH.edges[m] if t in members]
    assert not found, ("import cycles (function-local imports included):\n"
                       + "\n".join(" <-> ".join(c) for c in found) + "\nedges:\n" + "\n".join(detail))


def test_lightning_free_packages_do_not_import_lightning():
    bad = forbidden_reach(GRAPH, LIGHTNING_FREE, LIGHTNING, allowed=LIGHTNING_ADAPTER)
    assert not bad, "Lightning imported where it must not be:\n" + "\n".join(bad)


def test_problems_do_not_import_torch():
    bad = forbidden_reach(GRAPH, TORCH_FREE, ("torch",))
    assert not bad, "torch imported by problems/:\n" + "\n".join(bad)


def test_only_a_handful_of_modules_at_the_package_root():
    extra = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ROOT_MODULES)
    assert not extra, f"{', '.join(extra)} at the package root: move it into a concept package (allowed at the root: " \
                      f"{', '.join(sorted(ROOT_MODULES))})"


def test_the_graph_reader_sees_what_the_rules_need(tmp_path):
    """The checks above on a made-up package: relative and function-local imports are edges, a cycle is found,
    an upward import is named with its line, a package missing from the table is reported, and Lightning
    reached through another module counts."""
    pkg = tmp_path / "pkg"
    for folder in ("low", "high"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("from . import b\n\n\ndef f():\n    from ..high.c import g\n")
    (pkg / "low" / "b.py").write_text("from pkg.low.a import f\n")
    (pkg / "low" / "e.py").write_text("import lightning.pytorch\n")
    (pkg / "high" / "c.py").write_text("from .. import low\n\n\ndef g():\n    import pkg.low.e\n")
    (pkg / "new").mkdir()
    (pkg / "new" / "d.py").write_text("")
    graph = import_graph(pkg)
    assert graph.edges["pkg.low.a"] == [("pkg.low.b", 1), ("pkg.high.c", 5)]
    assert graph.edges["pkg.high.c"] == [("pkg.low", 1), ("pkg.low.e", 5)]
    assert cycles(graph) == [["pkg.low.a", "pkg.low.b"]]
    assert uncovered_modules(graph, {"__init__": 0, "low": 1, "high": 2}) == ["new"]
    assert upward_imports(graph, {"__init__": 0, "low": 1, "high": 2, "new": 3}) == [
        "pkg.low.a (floor 1) -> pkg.high.c (floor 2), pkg/low/a.py:5"]
    assert forbidden_reach(graph, ("high",), LIGHTNING) == ["pkg.high.c -> pkg.low.e imports lightning, pkg/low/e.py:1"]


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
