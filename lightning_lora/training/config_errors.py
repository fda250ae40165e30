"""One line for a mistake in a training config or command line: YAML syntax placed where the mistake starts,
unknown class paths with the nearest valid names, values outside a choice, options set through a link, and
classes that failed to build. Each function turns a parser's or library's message into that line (or None)."""

from __future__ import annotations

import difflib
import importlib
import re
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningDataModule

from lightning_lora.errors import UserError, first_line
from lightning_lora.files import read_utf8_text

_GIVEN_CLASS = re.compile(r"Problem with given class_path '([^']+)':\s*\n\s*(.+)|Expected a dot import path string: (\S+)|"
                          r"(Import path does not correspond to a subclass of \w+)")
_NOT_FOUND = re.compile(r"has no attribute|No module named|Expected a dot import path|does not correspond to a subclass")


def linked_option_error(message: str) -> str | None:
    """An option the CLI computes from others (``trainer.val_check_interval`` from ``--eval_every_n_steps``),
    given directly: say which option sets it."""
    linked = re.search(r"argument <lambda>\(([^)]*)\) --> (\S+?):", message)
    if linked is None:
        return None
    sources = [f"--{name.strip()}" for name in linked.group(1).split(",")]
    if linked.group(2) == "trainer.val_check_interval":
        return ("trainer.val_check_interval is set from --eval_every_n_steps (validate every N optimizer steps, "
                "times trainer.accumulate_grad_batches); give --eval_every_n_steps instead")
    return f"{linked.group(2)} is computed from {', '.join(sources)}; set those instead"

def choice_error(message: str) -> str | None:
    """``trainer.precision: 17 is not one of 32-true, bf16-mixed, ...`` where every alternative of the option is a
    fixed list of values (jsonargparse names only the first list)."""
    import ast

    key = re.search(r'^Parser key "([^"]+)"', message)
    given = re.search(r"^\s*Given value: (.*)$", message, re.M)
    errors = re.findall(r"^\s*- Expected a (.*)$", message, re.M)
    literals = [e for e in errors if e.startswith("typing.Literal[")]
    if key is None or given is None or not literals or len(literals) + sum("NoneType" in e for e in errors) < len(errors):
        return None
    values: list[str] = []
    for literal in literals:
        try:
            values += [str(v) for v in ast.literal_eval(literal[len("typing.Literal"):])]
        except (ValueError, SyntaxError):
            return None
    return f"{key.group(1)}: {given.group(1)} is not one of {', '.join(dict.fromkeys(values))}"

def unknown_class_error(message: str) -> str | None:
    """``<option>: no class <path> (<why>); the nearest ... are <names>`` for a class path the option cannot import
    (a misspelt class or module) or that is not of the option's kind; None for any other parse error."""
    key = re.search(r'Parser key "([^"]+)"', message)
    found = _GIVEN_CLASS.search(message)
    if key is None or found is None:
        return None
    option = key.group(1)
    given_value = re.search(r"^\s*Given value: (?:NestedArg\(key='class_path', val='([^']*)'\)|(.*))$", message, re.M)
    given = found.group(1) or found.group(3) or (given_value and (given_value.group(1) or given_value.group(2)))
    reason = (found.group(2) or found.group(4) or "").strip()
    if not given or (reason and not _NOT_FOUND.search(reason)):
        return None
    accepted = accepted_classes(option)
    project = [path for path in accepted if path.startswith("lightning_lora.")] or accepted
    if reason.startswith("Import path does not correspond"):
        kind = reason.rsplit(" ", 1)[-1]
        takes = f"; it takes e.g. {', '.join(project[:8])}" if project else ""
        return f"{option}: {given} is not a {kind}{takes}"
    why = f" ({reason})" if "has no attribute" in reason or "No module" in reason else ""
    nearest = nearest_names(given, accepted)
    if len(nearest) == 1:
        return f"{option}: no class {given}{why}; did you mean {nearest[0]}?"
    if nearest:
        return f"{option}: no class {given}{why}; the nearest are {', '.join(nearest)}"
    takes = f"; it takes e.g. {', '.join(project[:8])}" if project else ""
    return f"{option}: no class {given}{why}{takes}"

def nearest_names(given: str, accepted: list[str]) -> list[str]:
    """The accepted class paths nearest to ``given`` (a full path, or a bare class name), best first: those within
    a little of the best match, so a one-letter typo gets one answer."""
    def score(path: str) -> tuple[float, float]:  # the class name first, the whole path to break ties
        name = difflib.SequenceMatcher(None, given.rsplit(".", 1)[-1], path.rsplit(".", 1)[-1]).ratio()
        return name, difflib.SequenceMatcher(None, given, path).ratio()

    scored = sorted(((score(path), path) for path in accepted), reverse=True)
    if not scored or scored[0][0][0] < 0.6:
        return []
    return [path for (ratio, _), path in scored[:3] if ratio >= scored[0][0][0] - 0.05]

def accepted_classes(option: str) -> list[str]:
    """Class paths an option takes: the project's own (model, data, callbacks, strategies, checkpoint IO) and,
    for the trainer's options, Lightning's public ones; empty for an option that takes no class."""
    import inspect
    import pkgutil

    from lightning.fabric.plugins.environments.cluster_environment import ClusterEnvironment
    from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
    from lightning.pytorch import Callback, LightningModule
    from lightning.pytorch import callbacks as pl_callbacks
    from lightning.pytorch import loggers as pl_loggers
    from lightning.pytorch import plugins as pl_plugins
    from lightning.pytorch import strategies as pl_strategies
    from lightning.pytorch.loggers import Logger
    from lightning.pytorch.plugins.layer_sync import LayerSync
    from lightning.pytorch.plugins.precision import Precision
    from lightning.pytorch.strategies import Strategy

    kinds: dict[str, tuple[tuple[type, ...], list[str], Any]] = {  # option: bases, project modules, Lightning module
        "model": ((LightningModule,), ["lightning_lora.modules"], None),
        "data": ((LightningDataModule,), ["lightning_lora.data"], None),
        "trainer.callbacks": ((Callback,), ["lightning_lora.callbacks"], pl_callbacks),
        "trainer.logger": ((Logger,), [], pl_loggers),
        "trainer.strategy": ((Strategy,), ["lightning_lora.training.strategies"], pl_strategies),
        "trainer.plugins": ((Precision, ClusterEnvironment, CheckpointIO, LayerSync), ["lightning_lora.checkpoints"],
                            pl_plugins),
    }
    kind = kinds.get(option) or kinds.get(option.split(".", 1)[0])
    if kind is None:
        return []
    bases, project, lightning_module = kind
    found: list[str] = []
    for name in project:
        package = importlib.import_module(name)
        modules = [package] + [importlib.import_module(f"{name}.{info.name}")
                               for info in pkgutil.iter_modules(getattr(package, "__path__", []))]
        for module in modules:
            found += [f"{module.__name__}.{cls.__name__}" for cls in vars(module).values()
                      if inspect.isclass(cls) and cls.__module__ == module.__name__ and issubclass(cls, bases)
                      and not inspect.isabstract(cls) and cls not in bases]
    if lightning_module is not None:
        found += [f"{lightning_module.__name__}.{name}" for name in getattr(lightning_module, "__all__", [])
                  if inspect.isclass(getattr(lightning_module, name, None))
                  and issubclass(getattr(lightning_module, name), bases)]
    return list(dict.fromkeys(found))

def instantiation_error(err: BaseException) -> str | None:
    """One line for a class in the config that failed to build (jsonargparse reports it as a Union
    mismatch listing each alternative's complaint, e.g. a strategy whose package is missing)."""
    text = str(err)
    if "Does not validate against any of the Union subtypes" not in text or "class_path=" not in text:
        return None
    reasons = [line.strip()[2:] for line in text.split("Errors:", 1)[-1].splitlines()
               if line.strip().startswith("- ") and not line.strip().startswith("- Expected a")]
    class_path = re.search(r"class_path='([^']+)'", text)
    if not reasons or class_path is None:
        return None
    return f"{class_path.group(1)} could not be created: {reasons[0]}"

def _runaway_quote(text: str, problem_mark: Any) -> Any:
    """The quoted scalar that spans lines and ends at or just before ``problem_mark``'s line (an unclosed quote
    that swallowed the following lines up to the next quote), or None."""
    import yaml

    last = None
    try:
        for token in yaml.scan(text):
            if token.start_mark.index >= problem_mark.index:
                break
            if isinstance(token, yaml.ScalarToken) and not token.plain:
                last = token
    except yaml.YAMLError:
        pass
    if last is None or last.start_mark.line == last.end_mark.line or problem_mark.line - last.end_mark.line > 1:
        return None
    return last

def check_config_files(argv: list[str]) -> None:
    """A ``--config`` file that is not valid YAML is named with its line and column (jsonargparse names neither)."""
    import yaml

    paths = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"]
    paths += [a.split("=", 1)[1] for a in argv if a.startswith("--config=")]
    for path in paths:
        file = Path(path)
        if "\n" in path or not file.is_file():  # YAML text in place of a path (build_from_config passes one)
            continue
        text = read_utf8_text(file, f"--config {path}")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise UserError(_yaml_error_line(path, err, text)) from None
        _check_linked_values(path, data)


def _check_linked_values(path: str, data: Any) -> None:
    """``trainer.val_check_interval`` is set from ``eval_every_n_steps`` (times the accumulation): a config file
    that gives it another value would be overridden without a word. A saved run config holds the linked value
    itself, which agrees, so it passes."""
    trainer = data.get("trainer") if isinstance(data, dict) else None
    if not isinstance(trainer, dict) or trainer.get("val_check_interval") is None:
        return
    every, accumulate = data.get("eval_every_n_steps", 20), trainer.get("accumulate_grad_batches") or 1
    if isinstance(every, int) and isinstance(accumulate, int) and trainer["val_check_interval"] != every * accumulate:
        raise UserError(f"--config {path}: trainer.val_check_interval is set from eval_every_n_steps (validate every N "
                        f"optimizer steps; here {every}); give eval_every_n_steps instead of "
                        f"trainer.val_check_interval {trainer['val_check_interval']}.")

def _yaml_error_line(path: str, err: Any, text: str = "") -> str:
    """``--config <path>, line L, column C: <problem>``, placed where the mistake starts: an unclosed quote or
    bracket is named where it opens (the parser only notices it lines later, at the next quote or the end)."""
    def at(mark: Any) -> str:
        return f"line {mark.line + 1}, column {mark.column + 1}"

    problem_mark, context_mark = getattr(err, "problem_mark", None), getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or first_line(err)
    context = getattr(err, "context", None) or ""
    runaway = _runaway_quote(text, problem_mark) if problem_mark is not None else None
    if runaway is not None:  # a quote left open was closed by the next quote, lines later
        return (f"--config {path}, {at(runaway.start_mark)}: a quoted value starts here and is not closed on its line "
                f"(it runs to line {runaway.end_mark.line + 1}; {problem} at {at(problem_mark)}).")
    opened = context_mark is not None and ("quoted scalar" in context or "flow " in context)
    if opened and (problem_mark is None or problem_mark.line != context_mark.line):
        what = re.sub(r"^while (scanning|parsing) ", "", context)
        noticed = f" ({problem} at {at(problem_mark)})" if problem_mark is not None else f" ({problem})"
        what = what.replace("quoted scalar", "quoted value")
        return f"--config {path}, {at(context_mark)}: {what} starts here and is not closed{noticed}."
    where = f", {at(problem_mark)}" if problem_mark is not None else ""
    hint = " (YAML indents with spaces, not tabs)" if r"\t" in problem else ""
    return f"--config {path}{where}: {problem}{hint}."
