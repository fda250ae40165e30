"""The ``README.md`` an export carries: what the model is, how it was trained, the run's own figures, how to load it.

The figures are read from the run's folders (TensorBoard scalars beside the checkpoint's run, the benchmark
results next to each checkpoint, a ``report`` table when one was made), never typed in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lightning_lora.files import LOG_ROOT
from lightning_lora.reporting.runs import read_scalars

RESULTS_PATTERN = re.compile(r"step(\d+)\.results\.json$")
MAX_ROWS = 15


def run_figures(ckpt_path: Path, run_name: str, logger_version: int | None) -> dict[str, Any]:
    """Validation loss per step, pass@1 per checkpoint and the newest base-vs-tuned report of a run.

    The run's folders are found from the checkpoint (``<root>/checkpoints/<run>/X.ckpt`` beside
    ``<root>/tb_logs/<run>/version_N``); what is missing is left out.
    """
    ckpt_dir = ckpt_path.absolute().parent
    log_dir = ckpt_dir.parent.parent / LOG_ROOT / run_name
    figures: dict[str, Any] = {"val_loss": [], "pass_at_1": [], "report": None}
    version = log_dir / f"version_{logger_version}" if logger_version is not None else None
    if version is not None and version.is_dir():
        figures["val_loss"] = read_scalars(version).get("val/loss", [])
    for path in sorted(ckpt_dir.glob("step*.results.json")):
        match = RESULTS_PATTERN.search(path.name)
        if match:
            summary = json.loads(path.read_text())["summary"]
            figures["pass_at_1"].append((int(match.group(1)), summary["pass@k"].get("pass@1"),
                                         summary["problems_passed"], summary["num_problems"]))
    reports = sorted(log_dir.glob("version_*/report.md"), key=lambda p: p.stat().st_mtime)
    if reports:
        figures["report"] = reports[-1].read_text().strip()
    return figures


def _rows(values: list[Any]) -> list[Any]:
    """At most MAX_ROWS rows, evenly spread, always with the last one."""
    if len(values) <= MAX_ROWS:
        return values
    step = len(values) / MAX_ROWS
    return [values[int(i * step)] for i in range(MAX_ROWS - 1)] + [values[-1]]


def model_card(record: dict[str, Any], figures: dict[str, Any], data: dict[str, Any]) -> str:
    """Markdown of the card: ``record`` is export.json's content, ``data`` the training data's settings."""
    meta = record.get("metadata", {})
    fmt = record.get("prompt_format", {})
    method = record["method"]
    block = {"lora": "lora", "dora": "lora", "qlora": "lora", "ia3": "ia3", "peft": "peft_config"}.get(method)
    settings = meta.get(block) if block else None
    lines = [f"# {record['method']} fine-tune of {record['base_model']}", "",
             "Written by `lightning_lora export`.", "", "## Training", "",
             f"- base model: `{record['base_model']}` (loaded from `{record['base_model_path']}`)",
             f"- method: `{method}`" + (f", settings: `{json.dumps(settings, sort_keys=True)}`" if settings else ""),
             f"- data: `{data.get('class_path', '?')}` on `{data.get('path', '?')}`",
             f"- steps: {record.get('step')} (checkpoint `{Path(str(record.get('checkpoint', '?'))).name}`)",
             f"- format of this folder: {'merged Hugging Face model' if record['merged'] else 'PEFT adapter'}", "",
             "## Prompt format", "",
             f"- chat template: {'in the tokenizer files' if fmt.get('chat_template') else 'none (plain text prompt)'}",
             f"- system prompt used in training: {json.dumps(fmt.get('system_prompt'))} (also in `export.json`)",
             "- decoding: `generation_config.json` (end-of-turn token as EOS, pad id, greedy by default)", ""]
    lines += ["## Figures of the run", ""]
    if figures.get("val_loss"):
        lines += ["| step | val loss |", "|---:|---:|"] + [f"| {s} | {v:.4f} |" for s, v in _rows(figures["val_loss"])] + [""]
    if figures.get("pass_at_1"):
        lines += ["| checkpoint step | pass@1 | passed |", "|---:|---:|---:|"]
        lines += [f"| {s} | {p:.4f} | {n}/{t} |" for s, p, n, t in _rows(figures["pass_at_1"]) if p is not None] + [""]
    if figures.get("report"):
        lines += ["Base vs fine-tuned (`lightning_lora report`):", "", figures["report"], ""]
    if not any(figures.get(k) for k in ("val_loss", "pass_at_1", "report")):
        lines += ["No run folders were found beside the checkpoint, so no figures are shown.", ""]
    lines += ["## Use it", "", "```python", _load_snippet(record), "```", "",
              "Or with lightning_lora: `python -m lightning_lora generate --model DIR --prompt \"...\"`.", ""]
    return "\n".join(lines)


def _load_snippet(record: dict[str, Any]) -> str:
    fmt = record.get("prompt_format", {})
    if record["merged"]:
        load = ("from transformers import AutoModelForCausalLM, AutoTokenizer\n"
                "model = AutoModelForCausalLM.from_pretrained(DIR)")
    else:
        base_args = record.get("base_from_pretrained_args") or repr(record["base_model_path"])  # a GGUF base: + gguf_file
        load = ("from peft import PeftModel\nfrom transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig\n"
                f"base = AutoModelForCausalLM.from_pretrained({base_args})\n"
                "model = PeftModel.from_pretrained(base, DIR)\n"
                "model.generation_config = GenerationConfig.from_pretrained(DIR)  # the decoding of the run")
    snippet = [load, "tokenizer = AutoTokenizer.from_pretrained(DIR)"]
    if fmt.get("chat_template"):
        system = fmt.get("system_prompt")
        messages = [f"{{'role': 'system', 'content': {system!r}}}, "] if system else []
        messages.append("{'role': 'user', 'content': PROMPT}")
        snippet += [f"messages = [{''.join(messages)}]",
                    "ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True,",
                    "                                    return_tensors='pt', return_dict=True)",
                    "out = model.generate(**ids)",
                    "print(tokenizer.decode(out[0, ids['input_ids'].shape[1]:], skip_special_tokens=True))"]
    return "\n".join(snippet)
