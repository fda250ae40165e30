"""One self-contained HTML page per set of runs (the ``report`` command's ``--html``): config, parameters, loss and
pass@k curves, the best checkpoint, a per-problem grid across checkpoints and base vs tuned evaluations.

Everything is inlined (styles, SVG plots, a few lines of script, the data), so the page works from ``file://`` with
no network. Completions, tests, stderr, problem statements and config values come from models and programs: every
one is escaped and clipped (per cell and per line, with a visible marker), and the embedded JSON escapes ``<``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from lightning_lora.errors import UserError
from lightning_lora.reporting.base_vs_tuned import flatten, read_metrics
from lightning_lora.reporting.html_plots import Series, line_chart
from lightning_lora.reporting.runs import read_scalars
from lightning_lora.reporting.study import STEP_RESULTS

#: Characters of untrusted text shown per cell (completion, test, stderr) and per line, before a "truncated" marker.
CELL_CHARS, LINE_CHARS = 8_000, 400
#: Characters of a config shown; a problem file larger than this many bytes is not read for statements.
CONFIG_CHARS, PROBLEM_FILE_BYTES = 200_000, 64 * 2**20
#: Short cell labels per status (the legend spells them out).
LABELS = {"passed": "✓", "passed_unverified": "✓?", "wrong_answer": "WA", "runtime_error": "RE", "syntax_error": "SE",
          "timeout": "TO", "memory": "MEM", "no_code": "NC", "forged": "F", "no_sample": "–"}


@dataclass
class Checkpoint:
    """One results file: its step (0: the base), summary and, per problem, its record and first sample."""

    label: str
    step: int
    summary: dict[str, Any]
    problems: dict[str, dict[str, Any]]
    samples: dict[str, dict[str, Any]]

    def pass_at(self, k: str = "pass@1") -> float | None:
        """The results' ``pass@k`` (None where not computed)."""
        return (self.summary.get("pass@k") or {}).get(k)

    def solved(self) -> set[str]:
        """Problems with a verified pass."""
        return {t for t, p in self.problems.items() if p.get("passed")}


@dataclass
class RunData:
    """What the page shows of one run or study arm, read back from its folders."""

    name: str
    folders: list[str]
    config: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    train_summary: dict[str, Any] = field(default_factory=dict)
    scalars: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)  # the base (step 0) first where it exists
    best_step: int | None = None
    evaluations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    statements: dict[str, dict[str, Any]] = field(default_factory=dict)

    def reference(self) -> Checkpoint | None:
        """What gains and losses are counted against: the base, else the first checkpoint."""
        return self.checkpoints[0] if self.checkpoints else None


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except ValueError as err:
        raise UserError(f"report --html: {path} is not valid JSON ({err}); rescore it or move it aside.") from err


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a half-written line shows as "no sample", never as a failure to report
            if isinstance(row, dict):
                rows.append(row)
    return rows


def read_checkpoint(results: Path, label: str, step: int) -> Checkpoint:
    """A results file and its samples file (``<stem>.samples.jsonl``): per problem, the first sample's record
    merged with its completion."""
    data = _json(results)
    completions = {(r.get("task_id"), r.get("sample_index", 0)): r
                   for r in _jsonl(results.with_name(results.name.replace(".results.json", ".samples.jsonl")))}
    samples: dict[str, dict[str, Any]] = {}
    for record in data.get("samples", []):
        key = (record.get("task_id"), record.get("sample_index", 0))
        if key[0] not in samples:
            samples[key[0]] = {**completions.get(key, {}), **record}
    for (task_id, _), row in completions.items():
        samples.setdefault(task_id, row)
    problems = {p["task_id"]: p for p in data.get("problems", []) if "task_id" in p}
    return Checkpoint(label, step, data.get("summary", {}), problems, samples)


def read_statements(problem_set: str) -> dict[str, dict[str, Any]]:
    """Problem statements and tests by task id, where the results name a local jsonl file that still exists."""
    path = Path(problem_set)
    if not problem_set.endswith(".jsonl") or not path.is_file() or path.stat().st_size > PROBLEM_FILE_BYTES:
        return {}
    return {str(r["task_id"]): r for r in _jsonl(path) if "task_id" in r}


def _read_checkpoints(run: RunData, folder: Path) -> None:
    if (folder / "base.results.json").is_file():
        run.checkpoints.append(read_checkpoint(folder / "base.results.json", "base", 0))
    steps = sorted((int(m.group(1)), p) for p in folder.glob("step*.results.json")
                   if (m := STEP_RESULTS.fullmatch(p.name)))
    run.checkpoints += [read_checkpoint(p, f"step {s}", s) for s, p in steps]
    tuned = [c for c in run.checkpoints if c.label != "base"]
    best = _json(folder / "best.json").get("step")
    if tuned:
        run.best_step = best if best in {c.step for c in tuned} else min(
            tuned, key=lambda c: (-len(c.solved()), c.step)).step
    for c in run.checkpoints:
        if c.summary.get("problem_set") and not run.statements:
            run.statements = read_statements(str(c.summary["problem_set"]))


def read_run(name: str, checkpoints: Path | None, log_dirs: list[Path], eval_dirs: list[Path]) -> RunData:
    """A run from its checkpoint folder (results files), its TensorBoard folders (merged, later ones winning:
    scalars, config, parameter counts) and the validate/test folders beside them (``metrics.json``)."""
    run = RunData(name, [str(p) for p in ([checkpoints] if checkpoints else []) + log_dirs])
    for log_dir in log_dirs:
        for tag, points in read_scalars(log_dir).items():
            run.scalars[tag] = sorted({**dict(run.scalars.get(tag, [])), **dict(points)}.items())
        run.params = _json(log_dir / "params.json") or run.params
        run.train_summary = _json(log_dir / "train_summary.json") or run.train_summary
        if (log_dir / "config.yaml").is_file():
            run.config = (log_dir / "config.yaml").read_text(encoding="utf-8", errors="replace")
    if checkpoints is not None and checkpoints.is_dir():
        _read_checkpoints(run, checkpoints)
        if not run.config and (checkpoints / "config.yaml").is_file():
            run.config = (checkpoints / "config.yaml").read_text(encoding="utf-8", errors="replace")
    for folder in eval_dirs:
        if (folder / "metrics.json").is_file() or (folder / "lm_eval.json").is_file():
            run.evaluations.append((folder.name, read_metrics(folder)))
    if not run.checkpoints and not run.scalars and not run.evaluations:
        raise UserError(f"report --html: found no results, TensorBoard scalars or metrics for {name} in "
                        f"{', '.join(run.folders) or 'its folders'}; give tb_logs/<run>/version_N or checkpoints/<run>.")
    return run


def run_from_folder(folder: Path, checkpoints_root: Path) -> RunData:
    """``--runs``: a TensorBoard version folder (its checkpoints found by the run name in its config.yaml, beside
    its ``tb_logs``, else under ``checkpoints_root``) or a checkpoint folder itself."""
    if not folder.is_dir():
        raise UserError(f"report --html: {folder} is not a folder; give tb_logs/<run>/version_N or checkpoints/<run>.")
    if any(folder.glob("step*.results.json")) or (folder / "base.results.json").is_file():
        return read_run(folder.name, folder, [], [])
    config = (folder / "config.yaml").read_text(errors="replace") if (folder / "config.yaml").is_file() else ""
    match = re.search(r"^run_name:\s*([^\s#]+)", config, re.MULTILINE)
    run_name = match.group(1).strip("'\"") if match else folder.parent.name
    found = [c for c in (folder.resolve().parents[2] / "checkpoints" / run_name, checkpoints_root / run_name)
             if c.is_dir()] if len(folder.resolve().parents) > 2 else []
    siblings = sorted(p for p in folder.parent.glob("version_*") if p.is_dir())
    return read_run(folder.parent.name if folder.name.startswith("version_") else folder.name,
                    found[0] if found else None, [folder], siblings)


def run_from_study(name: str, checkpoints_root: Path, logs_root: Path) -> RunData:
    """``--study``: an arm's ``checkpoints/<name>`` and every ``tb_logs/<name>/version_*`` (as the study report)."""
    if not (checkpoints_root / name).is_dir():
        raise UserError(f"report --study: {checkpoints_root / name} is not a folder (the arm's checkpoints/<run_name>)")
    versions = sorted(p for p in (logs_root / name).glob("version_*") if p.is_dir())
    return read_run(name, checkpoints_root / name, versions, versions)


def clipped(text: Any, max_chars: int = CELL_CHARS, max_line: int = LINE_CHARS) -> str:
    """``text`` as escaped HTML, cut at ``max_chars`` and each line at ``max_line`` with a visible marker."""
    text = "" if text is None else text if isinstance(text, str) else json.dumps(text)
    more = len(text) - max_chars
    text = text[:max_chars] if more > 0 else text
    lines = [escape(line) if len(line) <= max_line else escape(line[:max_line])
             + f'<span class="cut">… [line truncated: {len(line) - max_line:,} more characters]</span>'
             for line in text.split("\n")]
    return "\n".join(lines) + (f'<span class="cut">… [truncated: {more:,} more characters]</span>' if more > 0 else "")


def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&`` as ``\\u`` escapes (so no
    ``</script>`` or ``<!--`` can end or change the block), non-finite numbers as null."""
    def finite(value: Any) -> Any:
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {str(k): finite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        return value

    text = json.dumps(finite(data), ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _num(value: Any, pattern: str = "{:.4g}") -> str:
    return "-" if not isinstance(value, (int, float)) or isinstance(value, bool) else pattern.format(value)


def _table(header: list[str], rows: list[list[str]], cls: str = "", row_classes: list[str] | None = None) -> str:
    """An HTML table; cells are HTML already (escape before)."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(f'<tr class="{(row_classes or [""] * len(rows))[i]}">' + "".join(f"<td>{c}</td>" for c in row)
                   + "</tr>" for i, row in enumerate(rows))
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pass_keys(run: RunData) -> list[str]:
    keys = {k for c in run.checkpoints for k, v in (c.summary.get("pass@k") or {}).items() if v is not None}
    return sorted(keys, key=lambda k: int(k.split("@")[1]) if k.split("@")[1].isdigit() else 0)


def _overview(runs: list[RunData]) -> str:
    rows = []
    for i, run in enumerate(runs):
        best = next((c for c in run.checkpoints if c.step == run.best_step and c.label != "base"), None)
        base = next((c for c in run.checkpoints if c.label == "base"), None)
        last_loss = {t: run.scalars[t][-1][1] if run.scalars.get(t) else None for t in ("train/loss", "val/loss")}
        rows.append([f'<a href="#run-{i}">{escape(run.name)}</a>', escape(str(run.params.get("method", "-"))),
                     _num(run.params.get("total_params"), "{:,}"), _num(run.params.get("trainable_params"), "{:,}"),
                     _num(run.train_summary.get("train_time_s"), "{:.1f}"), _num(last_loss["train/loss"]),
                     _num(last_loss["val/loss"]), _num(base.pass_at() if base else None, "{:.3f}"),
                     f"★ step {best.step}: {_num(best.pass_at(), '{:.3f}')} ({len(best.solved())}/{len(best.problems)})"
                     if best else "-"])
    return _table(["run", "method", "total params", "trainable params", "train time (s)", "final train loss",
                   "val loss", "base pass@1", "best checkpoint (pass@1, solved)"], rows, "overview")


def _comparison_plots(runs: list[RunData]) -> str:
    charts = [line_chart([Series(r.name, r.scalars.get(tag, []), markers=tag == "val/loss") for r in runs],
                         metric=tag, title=f"{tag}, every run", y_label="loss") for tag in ("train/loss", "val/loss")]
    series = [Series(r.name, [(c.step, c.pass_at()) for c in r.checkpoints if c.pass_at() is not None], markers=True)
              for r in runs]
    charts.append(line_chart(series, metric="benchmark/pass@1", title="pass@1 per checkpoint (step 0: base)",
                             y_label="pass@1", y_range=(0.0, 1.0)))
    return '<div class="plots">' + "".join(charts) + "</div>"


#: Validation metrics charted per run where logged (0..1 scores of classification and QA runs).
TASK_METRICS = ("val/accuracy", "val/f1_macro", "val/exact", "val/f1")


def _run_plots(run: RunData) -> str:
    loss = line_chart([Series("train/loss", run.scalars.get("train/loss", [])),
                       Series("val/loss", run.scalars.get("val/loss", []), markers=True)],
                      metric="loss", title="train and validation loss", y_label="loss")
    charts = [loss]
    keys = _pass_keys(run)
    if keys:
        best = next(((c.step, c.pass_at()) for c in run.checkpoints
                     if c.step == run.best_step and c.label != "base" and c.pass_at() is not None), None)
        series = [Series(k, [(c.step, c.pass_at(k)) for c in run.checkpoints if c.pass_at(k) is not None],
                         markers=True, dashed=k != "pass@1") for k in keys]
        charts.append(line_chart(series, metric="benchmark/pass@1", title="pass@k per checkpoint (step 0: base)",
                                 y_label="pass@k", best=best, y_range=(0.0, 1.0)))
    task = [tag for tag in TASK_METRICS if run.scalars.get(tag)]
    if task:  # classification and QA runs: the validation metrics at each validation
        charts.append(line_chart([Series(tag, run.scalars[tag], markers=True) for tag in task], metric="val/task",
                                 title="validation metrics", y_label="score (QA: percent)"))
    return '<div class="plots">' + "".join(charts) + "</div>"


def _checkpoint_table(run: RunData) -> str:
    keys, ref = _pass_keys(run), run.reference()
    rows, classes = [], []
    for c in run.checkpoints:
        is_best = c.label != "base" and c.step == run.best_step
        cut = (c.summary.get("truncated") or {}).get("samples")
        gained = sorted(c.solved() - ref.solved()) if ref is not None and c is not ref else []
        lost = sorted(ref.solved() - c.solved()) if ref is not None and c is not ref else []
        rows.append([("★ best: " if is_best else "") + escape(c.label)] + [_num(c.pass_at(k), "{:.3f}") for k in keys]
                    + [f"{len(c.solved())}/{len(c.problems)}", _num(cut, "{:d}"),
                       escape(", ".join(gained)) or "-", escape(", ".join(lost)) or "-"])
        classes.append("best" if is_best else "")
    against = "the base" if ref is not None and ref.label == "base" else "the first checkpoint"
    return _table(["checkpoint", *keys, "solved", "truncated", f"gained vs {against}", f"lost vs {against}"],
                  rows, "checkpoints", classes)


def _evaluations(run: RunData) -> str:
    if not run.evaluations:
        return ""
    flat = [flatten(e.get("metrics", {})) for _, e in run.evaluations]
    names = list(dict.fromkeys(k for f in flat for k in f))
    header = ["metric"] + [f"{escape(folder)}: {escape(str(e.get('split', '-')))}, {escape(str(e.get('method', '-')))}"
                           f", {escape(str(e.get('checkpoint', '-')))}" for folder, e in run.evaluations]
    delta = len(flat) > 1 and run.evaluations[0][1].get("split") == run.evaluations[-1][1].get("split")
    rows = [[escape(k)] + [_num(f.get(k)) for f in flat]
            + ([_num(flat[-1][k] - flat[0][k], "{:+.4f}") if k in flat[0] and k in flat[-1] else "-"] if delta else [])
            for k in names]
    return ("<h3>Base vs tuned evaluations (validate / test)</h3>"
            + _table(header + (["delta (last - first)"] if delta else []), rows, "evaluations"))


def _panel(r: int, c: int, p: int, task_id: str, ckpt: Checkpoint, run: RunData) -> str:
    """The detail shown when a grid cell is clicked (CSS ``:target``): statement, completion, first failing test."""
    problem, sample = ckpt.problems.get(task_id, {}), ckpt.samples.get(task_id, {})
    statement = run.statements.get(task_id, {})
    status = str(problem.get("status", "no_sample"))
    facts = [f"status {escape(status)}", f"samples {_num(problem.get('c'), '{:d}')}/{_num(problem.get('n'), '{:d}')}"
             " passed", f"verdict {escape(str(sample.get('verdict', '-')))}",
             f"finish {escape(str(sample.get('finish_reason', '-')))}", f"wall {_num(sample.get('wall_time_s'))} s"]
    if sample.get("truncated"):
        facts.append("<b>truncated by the token budget</b>")
    parts = [f'<div class="panel" id="d-{r}-{c}-{p}"><a class="close" href="#grid-{r}">close ×</a>'
             f"<h4>{escape(task_id)} at {escape(ckpt.label)}</h4><p>{' · '.join(facts)}</p>",
             "<h5>Problem</h5>" + (f"<pre>{clipped(statement.get('prompt'))}</pre>" if statement.get("prompt")
                                   else "<p>(the statement is not in the results; its problem file was not found)</p>"),
             "<h5>Completion (first sample)</h5>" + (f"<pre>{clipped(sample.get('completion'))}</pre>"
                                                     if "completion" in sample else "<p>(no samples file)</p>")]
    failing = sample.get("first_failing_test")
    if isinstance(failing, int):
        tests = statement.get("tests") or []
        test = tests[failing] if 0 <= failing < len(tests) and isinstance(tests[failing], dict) else {}
        parts.append(f"<h5>First failing test (#{failing})</h5>"
                     + "".join(f"<p>{label}</p><pre>{clipped(test[key])}</pre>"
                               for key, label in (("input", "input"), ("output", "expected output")) if key in test)
                     + "".join(f"<p>{label}</p><pre>{clipped(sample[key])}</pre>"
                               for key, label in (("detail", "detail"), ("stderr_tail", "stderr")) if sample.get(key)))
    return "".join(parts) + "</div>"


def _grid(r: int, run: RunData) -> str:
    """Problems (rows) by checkpoints (columns): status per cell, gains and losses against the reference marked."""
    if not run.checkpoints:
        return ""
    tasks = list(dict.fromkeys(t for c in run.checkpoints for t in c.problems))
    ref = run.reference()
    head = "".join(f'<th class="{"best" if c.step == run.best_step and c.label != "base" else ""}">'
                   f'{"★ " if c.step == run.best_step and c.label != "base" else ""}{escape(c.label)}</th>'
                   for c in run.checkpoints)
    rows, panels = [], []
    for p, task in enumerate(tasks):
        cells = []
        for c, ckpt in enumerate(run.checkpoints):
            status = str(ckpt.problems.get(task, {}).get("status", "no_sample"))
            passed = bool(ckpt.problems.get(task, {}).get("passed"))
            change = "" if ckpt is ref or ref is None else (
                "gained" if passed and task not in ref.solved() else "lost" if not passed and task in ref.solved() else "")
            cut = bool(ckpt.samples.get(task, {}).get("truncated"))
            label = LABELS.get(status, escape(status[:4])) + ("✂" if cut else "") + {"gained": " ▲", "lost": " ▼"}.get(
                change, "")
            cells.append(f'<td class="cell st-{escape(re.sub(r"[^a-z_]", "", status))} {change}'
                         f'{" truncated" if cut else ""}" title="{escape(task)} at {escape(ckpt.label)}: '
                         f'{escape(status)}{", truncated" if cut else ""}{", " + change if change else ""}">'
                         f'<a href="#d-{r}-{c}-{p}">{label}</a></td>')
            panels.append(_panel(r, c, p, task, ckpt, run))
        rows.append(f"<tr><th>{escape(task)}</th>{''.join(cells)}</tr>")
    against = "the base" if ref is not None and ref.label == "base" else "the first checkpoint"
    legend = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in LABELS.items())
    return (f'<h3 id="grid-{r}">Problems by checkpoint</h3><p class="legend">{legend}; ✂ the reply was truncated by '
            f"the token budget; ▲ gained / ▼ lost against {against}. Click a cell for the problem, the completion and "
            f'the first failing test.</p><div class="grid-wrap"><table class="grid"><thead><tr><th>problem</th>{head}'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div><div class="panels">{"".join(panels)}</div>')


def _run_section(r: int, run: RunData) -> str:
    p, s = run.params, run.train_summary
    facts = _table(["method", "total params", "trainable params", "trainable %", "train time (s)", "peak RSS (MB)"],
                   [[escape(str(p.get("method", s.get("method", "-")))), _num(p.get("total_params"), "{:,}"),
                     _num(p.get("trainable_params"), "{:,}"), _num(p.get("trainable_percent"), "{:.3f}"),
                     _num(s.get("train_time_s"), "{:.1f}"), _num(s.get("peak_rss_mb"), "{:.0f}")]], "params")
    config = (f"<details class=\"config\"><summary>config.yaml</summary><pre>{clipped(run.config, CONFIG_CHARS)}</pre>"
              "</details>" if run.config else "<p>(no config.yaml)</p>")
    return (f'<section class="run" id="run-{r}"><h2>{escape(run.name)}</h2><p class="folders">'
            f"{escape(' · '.join(run.folders))}</p>{facts}{config}{_run_plots(run)}"
            + ("<h3>Checkpoints</h3>" + _checkpoint_table(run) if run.checkpoints else "")
            + _evaluations(run) + _grid(r, run) + "</section>")


def _data(runs: list[RunData]) -> dict[str, Any]:
    return {"runs": [{"name": r.name, "best_step": r.best_step, "params": r.params, "checkpoints": [
        {"label": c.label, "step": c.step, "pass@k": c.summary.get("pass@k"), "solved": sorted(c.solved()),
         "statuses": {t: p.get("status") for t, p in c.problems.items()}} for c in r.checkpoints]} for r in runs]}


STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:0 2em 4em;color:#222}h2{border-top:2px solid #888;padding-top:.6em}
table{border-collapse:collapse;margin:.4em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}tr.best,th.best{background:#fff3b0;font-weight:bold}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;overflow-wrap:anywhere;max-height:30em;overflow:auto}
.cut{color:#b00;font-weight:bold}.plots{display:flex;flex-wrap:wrap;gap:12px}svg.plot{background:#fff;border:1px solid #ddd}
svg .frame{fill:none;stroke:#999}svg .grid{stroke:#eee}svg .axis{stroke:#999}svg text{font-size:11px;fill:#333}
svg .plot-title{font-size:13px;font-weight:bold}svg .best-label{font-weight:bold}.grid-wrap{overflow-x:auto}
table.grid td.cell{text-align:center;padding:0}table.grid td.cell a{display:block;padding:2px 5px;color:inherit;
text-decoration:none}.st-passed{background:#c8ecc8}.st-passed_unverified{background:#e6f5c8}.st-wrong_answer{background:#f6d0c8}
.st-runtime_error{background:#f3c2dc}.st-syntax_error{background:#e3d4f2}.st-timeout{background:#f8e2b0}
.st-memory{background:#f8e2b0}.st-no_code,.st-no_sample{background:#e4e4e4}td.gained{outline:3px solid #1a8a1a;
outline-offset:-3px}td.lost{outline:3px solid #c00;outline-offset:-3px}.panel{display:none}.panel:target{display:block;
position:fixed;top:0;right:0;bottom:0;width:min(46em,60%);overflow:auto;background:#fff;border-left:2px solid #888;
padding:0 1em;box-shadow:-4px 0 12px #0003}.close{float:right;margin-top:1em}.legend,.folders{color:#555}"""

#: Records script errors on the root element (a headless browser's --dump-dom shows them) and marks each plot drawn.
SCRIPT = """(function(){var n=0,root=document.documentElement;window.addEventListener('error',function(e){n+=1;
root.setAttribute('data-js-errors',String(n));root.setAttribute('data-js-error-last',String(e.message));});
document.addEventListener('DOMContentLoaded',function(){document.querySelectorAll('svg.plot').forEach(function(s){
var b=s.getBoundingClientRect();s.setAttribute('data-drawn',b.width>0&&b.height>0?'yes':'no');});
root.setAttribute('data-js','ran');});})();"""


def render_html(runs: list[RunData], title: str = "lightning_lora report") -> str:
    """The whole page as one string."""
    nav = " · ".join(f'<a href="#run-{i}">{escape(r.name)}</a>' for i, r in enumerate(runs))
    side = ("<h2>Runs side by side</h2>" + _comparison_plots(runs)) if len(runs) > 1 else ""
    return (f'<!doctype html><html lang="en" data-js-errors="0"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><title>{escape(title)}</title><style>{STYLE}</style>'
            f"<script>{SCRIPT}</script></head><body><h1>{escape(title)}</h1><p>{nav}</p>"
            f"<p class=\"legend\">One self-contained file: no network; every text a model or program wrote is shown "
            f"as text, cut at {CELL_CHARS:,} characters per cell and {LINE_CHARS:,} per line.</p>{_overview(runs)}{side}"
            + "".join(_run_section(i, r) for i, r in enumerate(runs))
            + f'<script type="application/json" id="report-data">{script_json(_data(runs))}</script></body></html>')


def write_html_report(runs: list[RunData], output: Path) -> Path:
    """Write the page (UTF-8; a lone surrogate in a model's text becomes a replacement character)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(runs), encoding="utf-8", errors="replace")
    return output
