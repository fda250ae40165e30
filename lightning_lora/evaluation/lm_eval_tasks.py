"""lm-evaluation-harness tasks on a model object: lm-eval's own ``HFLM`` and ``simple_evaluate``, not a copy.

Used by the ``evaluate`` command and by :class:`~lightning_lora.callbacks.lm_eval_tasks.HarnessCallback` (tasks on
every checkpoint). lm-eval is an optional extra (``pip install 'lightning_lora[lm-eval]'``); its standard tasks
download their data from the hub, so offline runs use local task YAMLs (``include_path``) or the generated
``synthetic_code_choice`` task. No Lightning here.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lightning_lora.errors import UserError
from lightning_lora.files import atomic_write_json, default_cache_dir
from lightning_lora.problems.synthetic import code_choice_rows, write_jsonl

#: The file ``evaluate`` writes in its output folder, and the suffix of the callback's file beside a checkpoint.
LM_EVAL_FILE = "lm_eval.json"
#: A generated multiple-choice task over the quickstart's held-out problems: pick the program that solves it.
SYNTHETIC_TASK = "synthetic_code_choice"


@dataclass
class HarnessSettings:
    """Which lm-eval tasks to run and how.

    Args:
        tasks: lm-eval task names (``hellaswag``, ``arc_easy``, ...), or tasks of ``include_path``, or
            ``synthetic_code_choice`` (generated, offline).
        limit: at most this many documents per task (a fraction below 1 is a share); unset: all.
        num_fewshot: few-shot examples per prompt; unset: each task's default.
        batch_size: documents per forward pass.
        include_path: a folder of extra task YAMLs (local data: ``dataset_path: json`` with
            ``dataset_kwargs: {data_files: ...}``).
    """

    tasks: list[str] = field(default_factory=list)
    limit: float | None = None
    num_fewshot: int | None = None
    batch_size: int = 8
    include_path: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.tasks, str):
            self.tasks = [t for t in self.tasks.split(",") if t]
        if not self.tasks:
            raise UserError("lm-eval settings: tasks must name at least one task (e.g. --tasks arc_easy,hellaswag).")
        if self.limit is not None and self.limit <= 0:
            raise UserError(f"lm-eval settings: limit must be positive, got {self.limit}.")
        if self.include_path is not None and not Path(self.include_path).is_dir():
            raise UserError(f"lm-eval settings: include_path {self.include_path} is not a folder.")


def require_lm_eval() -> Any:
    """The ``lm_eval`` package, or a UserError that says how to install it."""
    try:
        import lm_eval
    except ImportError as err:
        raise UserError("lm-evaluation-harness is not installed: pip install 'lightning_lora[lm-eval]' "
                        "(or pip install 'lm-eval>=0.4,<0.5').") from err
    return lm_eval


def task_manager(settings: HarnessSettings) -> Any:
    """lm-eval's TaskManager with ``include_path`` (and the synthetic task) added; unknown tasks are a UserError.
    Indexing lm-eval's task folder takes seconds: build it once per run."""
    require_lm_eval()
    from lm_eval.tasks import TaskManager

    include = [settings.include_path] if settings.include_path else []
    if SYNTHETIC_TASK in settings.tasks:
        include.append(str(ensure_synthetic_task()))
    manager = None
    if include:  # local tasks only: skip indexing lm-eval's thousands of built-in task files (seconds)
        manager = TaskManager(include_path=include, include_defaults=False)
    if manager is None or any(t not in manager.all_tasks for t in settings.tasks):
        manager = TaskManager(include_path=include or None)
    unknown = [t for t in settings.tasks if t not in manager.all_tasks]
    if unknown:
        raise UserError(f"lm-eval task(s) {', '.join(unknown)} not found; name lm-eval's tasks "
                        f"(lm-eval ls tasks) or put a task YAML in --include_path.")
    return manager


def run_harness(model: Any, tokenizer: Any, settings: HarnessSettings, manager: Any = None) -> dict[str, Any]:
    """Run ``settings.tasks`` on ``model`` (any Hugging Face causal LM, a PEFT model included) and return
    ``{"tasks": {task: {metric: value}}, "seconds", "settings", "lm_eval_version"}``."""
    lm_eval = require_lm_eval()
    from lm_eval.models.huggingface import HFLM

    manager = manager or task_manager(settings)
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    try:
        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=settings.batch_size)
        out = lm_eval.simple_evaluate(model=lm, tasks=list(settings.tasks), limit=settings.limit,
                                      num_fewshot=settings.num_fewshot, task_manager=manager, log_samples=False,
                                      bootstrap_iters=0)
    finally:
        model.train(was_training)
    tasks = {task: {_metric_name(key): value for key, value in metrics.items()
                    if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "sample_len"}
             for task, metrics in out["results"].items()}
    for task, n in (out.get("n-samples") or {}).items():
        if task in tasks:
            tasks[task]["n"] = n.get("effective", n.get("original"))
    return {"tasks": tasks, "seconds": round(time.perf_counter() - start, 2), "settings": asdict(settings),
            "lm_eval_version": getattr(lm_eval, "__version__", "unknown")}


def _metric_name(key: str) -> str:
    """lm-eval's ``acc,none`` -> ``acc``; a metric under a named filter keeps it: ``exact_match,strict`` ->
    ``exact_match_strict``."""
    metric, _, filter_name = key.partition(",")
    return metric if filter_name in ("", "none") else f"{metric}_{filter_name}"


def flat_metrics(result: dict[str, Any]) -> dict[str, float]:
    """``lm_eval/<task>/<metric>`` for every score of a :func:`run_harness` result (standard errors left out)."""
    return {f"lm_eval/{task}/{name}": float(value) for task, metrics in result["tasks"].items()
            for name, value in metrics.items() if name != "n" and "stderr" not in name}


def write_result(path: Path, result: dict[str, Any]) -> Path:
    """Write a result as JSON (atomically)."""
    return atomic_write_json(path, result)


def format_table(result: dict[str, Any]) -> str:
    """Markdown table: task, metric, value (± standard error where lm-eval gave one), documents."""
    lines = ["| task | metric | value | n |", "|---|---|---:|---:|"]
    for task, metrics in sorted(result["tasks"].items()):
        for name, value in metrics.items():
            if name == "n" or "stderr" in name:
                continue
            err = metrics.get(f"{name}_stderr")
            shown = f"{value:.4f}" + (f" ± {err:.4f}" if isinstance(err, float) else "")
            lines.append(f"| {task} | {name} | {shown} | {metrics.get('n', '')} |")
    return "\n".join(lines)


def write_task(folder: Path, name: str, data_file: Path) -> Path:
    """A multiple-choice lm-eval task YAML over a local jsonl of ``{question, choices, label}`` rows."""
    folder.mkdir(parents=True, exist_ok=True)
    yaml_text = (f"task: {name}\n"
                 "dataset_path: json\n"
                 f"dataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data_file.resolve()))}\n"
                 "test_split: test\n"
                 "output_type: multiple_choice\n"
                 'doc_to_text: "{{question}}\\n"\n'
                 'doc_to_choice: "{{choices}}"\n'
                 'doc_to_target: "{{label}}"\n'
                 "metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
                 "  - metric: acc_norm\n    aggregation: mean\n    higher_is_better: true\n"
                 "metadata:\n  version: 1.0\n")
    path = folder / f"{name}.yaml"
    path.write_text(yaml_text)
    return path


def ensure_synthetic_task() -> Path:
    """The folder of the generated ``synthetic_code_choice`` task (written once in the cache)."""
    folder = default_cache_dir() / "lm_eval_tasks"
    data = folder / f"{SYNTHETIC_TASK}.jsonl"
    if not data.exists():
        write_jsonl(code_choice_rows(), data)
    if not (folder / f"{SYNTHETIC_TASK}.yaml").exists():
        write_task(folder, SYNTHETIC_TASK, data)
    return folder
