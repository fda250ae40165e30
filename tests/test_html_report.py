"""``report --html``: one self-contained page from hand-built run folders; hostile text stays text."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lightning_lora.__main__ import main
from lightning_lora.reporting.html_plots import Series, line_chart, nice_ticks
from lightning_lora.reporting.html_report import CELL_CHARS, LINE_CHARS, clipped, render_html, run_from_folder, script_json

HOSTILE = ('<script>alert(1)</script></textarea></pre><a href="javascript:alert(2)">x</a>'
           '<img src=x onerror=alert(3)><!-- \ud800')
TASKS = ["t/0", "t/1", "t/2"]


def _results(folder: Path, stem: str, passed: list[bool], statuses: list[str], completions: list[str],
             problem_set: str) -> None:
    problems = [{"task_id": t, "passed": p, "n": 1, "c": int(p), "passed_unverified": 0, "status": s}
                for t, p, s in zip(TASKS, passed, statuses)]
    samples = [{"task_id": t, "sample_index": 0, "status": s, "first_failing_test": None if s == "passed" else 0,
                "detail": "expected 3, got <b>4</b>" if s != "passed" else "", "stderr_tail": "Traceback <script>",
                "wall_time_s": 0.01, "verdict": "trusted", "truncated": s == "syntax_error"}
               for t, s in zip(TASKS, statuses)]
    k = sum(passed) / len(passed)
    summary = {"pass@k": {"pass@1": k, "pass@5": min(1.0, k + 0.1)}, "problems_passed": sum(passed),
               "problem_set": problem_set, "truncated": {"samples": statuses.count("syntax_error")}}
    (folder / f"{stem}.results.json").write_text(json.dumps({"summary": summary, "problems": problems,
                                                             "samples": samples}))
    (folder / f"{stem}.samples.jsonl").write_text("".join(
        json.dumps({"task_id": t, "sample_index": 0, "completion": c, "finish_reason": "stop"}) + "\n"
        for t, c in zip(TASKS, completions)))


def _run(root: Path, name: str = "demo", base: bool = True, completion: str = "print(1)") -> Path:
    """checkpoints/<name> (base, steps 20 and 40, best.json) and tb_logs/<name>/version_0 (scalars, config, params)
    plus a validate run in version_1 and a test run in version_2."""
    from torch.utils.tensorboard import SummaryWriter

    root.mkdir(parents=True, exist_ok=True)
    problems = root / "problems.jsonl"
    problems.write_text("".join(json.dumps({"task_id": t, "prompt": f"Statement of {t} </pre><script>x()</script>",
                                            "tests": [{"input": "1 2\n", "output": "3\n"}]}) + "\n" for t in TASKS))
    ckpts = root / "checkpoints" / name
    ckpts.mkdir(parents=True)
    if base:
        _results(ckpts, "base", [True, False, False], ["passed", "wrong_answer", "timeout"], ["a", "b", "c"],
                 str(problems))
    _results(ckpts, "step000020", [False, True, False], ["runtime_error", "passed", "syntax_error"],
             [completion, "ok", "bad("], str(problems))
    _results(ckpts, "step000040", [True, True, False], ["passed", "passed", "timeout"], ["x", "y", "z"], str(problems))
    (ckpts / "best.json").write_text(json.dumps({"checkpoint": "step000040.ckpt", "step": 40}))
    logs = root / "tb_logs" / name / "version_0"
    writer = SummaryWriter(str(logs))
    for step in range(1, 41):
        writer.add_scalar("train/loss", 3.0 / step, step)
        if step % 20 == 0:
            writer.add_scalar("val/loss", 2.0 / step, step)
    writer.close()
    (logs / "config.yaml").write_text(f"run_name: {name}\nmodel:\n  note: '<script>alert(9)</script>'\n")
    (logs / "params.json").write_text(json.dumps({"method": "lora", "total_params": 155072, "trainable_params": 32768,
                                                  "trainable_percent": 21.13}))
    (logs / "train_summary.json").write_text(json.dumps({"train_time_s": 1.5, "peak_rss_mb": 600.0}))
    for version, accuracy in (("version_1", 0.5), ("version_2", 0.75)):
        (logs.parent / version).mkdir()
        (logs.parent / version / "metrics.json").write_text(json.dumps(
            {"split": "test", "num_examples": 10, "method": "lora", "checkpoint": None,
             "metrics": {"test": {"accuracy": accuracy}}}))
    return logs


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of script blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _page(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "out" / "report.html"
    assert main(["report", "--html", str(out), *args]) == 0
    return out.read_text(encoding="utf-8")


def test_page_shows_plots_best_grid_and_evaluations(tmp_path, capsys):
    logs = _run(tmp_path)
    page = _page(tmp_path, "--runs", str(logs))
    assert "(saved:" in capsys.readouterr().out
    metrics = re.findall(r'<svg class="plot" data-metric="([^"]+)" data-points="(\d+)"', page)
    assert ("loss", "42") in metrics and ("benchmark/pass@1", "6") in metrics  # 40 train + 2 val; base + 2 steps x 2 k
    assert '<g class="best" data-step="40">' in page and '<tr class="best"><td>★ best: step 40</td>' in page
    assert "155,072" in page and "32,768" in page and "<details class=\"config\">" in page
    # the grid: base column, statuses, gains and losses against the base
    assert re.search(r'<td class="cell st-passed gained" title="t/1 at step 20: passed, gained"', page)
    assert re.search(r'<td class="cell st-runtime_error lost" title="t/0 at step 20: runtime_error, lost"', page)
    assert 'class="cell st-syntax_error  truncated"' in page and ">SE✂</a>" in page
    assert re.search(r"<th[^>]*>base</th>", page) and "gained vs the base" in page
    # a cell's panel: statement, completion, first failing test, all escaped
    panel = re.search(r'<div class="panel" id="d-0-1-0">.*?</div>', page, re.S).group(0)
    assert "Statement of t/0 &lt;/pre&gt;&lt;script&gt;" in panel and "print(1)" in panel
    assert "First failing test (#0)" in panel and "expected 3, got &lt;b&gt;4&lt;/b&gt;" in panel
    # base vs tuned: both evaluations and the delta
    assert "version_1: test, lora" in page and "test/accuracy" in page and "+0.2500" in page
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page).group(1))
    assert data["runs"][0]["best_step"] == 40 and [c["step"] for c in data["runs"][0]["checkpoints"]] == [0, 20, 40]
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the page must not load anything from a network"


def test_a_classification_run_charts_its_validation_metrics(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    logs = tmp_path / "tb_logs" / "cls" / "version_0"
    writer = SummaryWriter(str(logs))
    for step in (10, 20, 30):
        writer.add_scalar("train/loss", 1.0 / step, step)
        writer.add_scalar("val/loss", 1.0 / step, step)
        writer.add_scalar("val/accuracy", step / 40, step)
        writer.add_scalar("val/f1_macro", step / 50, step)
    writer.close()
    (logs / "config.yaml").write_text("run_name: cls\n")
    page = _page(tmp_path, "--runs", str(logs))
    metrics = re.findall(r'<svg class="plot" data-metric="([^"]+)" data-points="(\d+)"', page)
    assert ("val/task", "6") in metrics and "benchmark/pass@1" not in dict(metrics)  # no benchmark: no pass@k chart


def test_without_base_the_first_checkpoint_is_the_reference(tmp_path):
    logs = _run(tmp_path, base=False)
    page = _page(tmp_path, "--runs", str(logs.parents[2] / "checkpoints" / "demo"))  # a checkpoint folder works too
    assert "gained vs the first checkpoint" in page and not re.search(r"<th[^>]*>base</th>", page)
    assert re.search(r'class="cell st-passed gained" title="t/0 at step 40', page)


def test_study_arms_side_by_side(tmp_path):
    _run(tmp_path, "deep")
    _run(tmp_path / "other", "diverse")
    (tmp_path / "other" / "checkpoints" / "diverse").rename(tmp_path / "checkpoints" / "diverse")
    (tmp_path / "other" / "tb_logs" / "diverse").rename(tmp_path / "tb_logs" / "diverse")
    page = _page(tmp_path, "--study", "deep", "diverse", "--checkpoints_root", str(tmp_path / "checkpoints"),
                 "--logs_root", str(tmp_path / "tb_logs"))
    assert "<h2>Runs side by side</h2>" in page and page.count('<section class="run"') == 2
    assert page.count('data-metric="benchmark/pass@1"') == 3  # the overlay and one per arm


def test_html_needs_runs_or_study(tmp_path, capsys):
    assert main(["report", "--html", str(tmp_path / "x.html")]) == 2
    assert "report --html needs --runs" in capsys.readouterr().err
    assert main(["report", "--html", str(tmp_path / "x.html"), "--runs", str(tmp_path / "missing")]) == 2


def test_untrusted_text_stays_text(tmp_path):
    """Hostile completions, statements, stderr and config values are escaped; a 2 MB line is cut with a marker."""
    long_line = "A" * 2_000_000
    logs = _run(tmp_path, completion=HOSTILE + "\n" + long_line)
    page = _page(tmp_path, "--runs", str(logs))
    parser = _Tags()
    parser.feed(page)
    names = {t for t, _ in parser.tags}
    assert "img" not in names and "textarea" not in names and "iframe" not in names
    assert sum(t == "script" for t, _ in parser.tags) == 2  # our own two: the error recorder and the JSON block
    for tag, attrs in parser.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert not (attrs.get("href") or "").lower().startswith("javascript:"), (tag, attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/textarea&gt;" in page
    assert "&lt;img src=x onerror=alert(3)&gt;" in page and "&lt;script&gt;alert(9)&lt;/script&gt;" in page
    assert "&lt;!-- ?" in page  # the lone surrogate replaced rather than failing the write
    assert "line truncated" in page and "[truncated: " in page and "A" * (LINE_CHARS + 1) not in page
    assert len(page) < 200_000


def test_clipped_marks_cuts_per_cell_and_per_line():
    assert clipped("a<b\nc") == "a&lt;b\nc"
    cut = clipped("x" * 50 + "\n" + "y" * 5, max_chars=20, max_line=10)
    assert cut.startswith("x" * 10 + '<span class="cut">… [line truncated: 10 more characters]</span>')
    assert cut.endswith('<span class="cut">… [truncated: 36 more characters]</span>')
    assert len(clipped("z" * (3 * CELL_CHARS), max_line=10 * CELL_CHARS)) < CELL_CHARS + 200
    assert clipped(None) == "" and clipped({"a": "<"}) == '{&quot;a&quot;: &quot;&lt;&quot;}'


def test_script_json_cannot_end_its_block():
    data = {"s": "</script><!-- <script>alert(1)</script> & \u2028", "nan": float("nan"), "inf": [float("inf")]}
    text = script_json(data)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"s": data["s"], "nan": None, "inf": [None]}


def test_hostile_run_name_and_empty_chart():
    from lightning_lora.reporting.html_report import RunData

    page = render_html([RunData('<img src=x onerror="alert(1)">', ["<b>folder</b>"],
                                scalars={"train/loss": [(1, 1.0), (2, float("nan"))]})])
    assert "<img" not in page and "&lt;b&gt;folder&lt;/b&gt;" in page
    assert 'data-metric="loss" data-points="1"' in page  # the NaN point dropped
    empty = line_chart([Series("a", [])], metric='m"<', title="t")
    assert "no data" in empty and 'data-metric="m&quot;&lt;"' in empty


@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (0.013, 5.2), (3.0, 3.0), (-2.5, 40.0)])
def test_nice_ticks_cover_the_range(low, high):
    ticks = nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high and 2 <= len(ticks) <= 12


def test_run_from_folder_finds_checkpoints_by_run_name(tmp_path):
    logs = _run(tmp_path, "named")
    run = run_from_folder(logs, tmp_path / "nowhere")
    assert run.name == "named" and [c.label for c in run.checkpoints] == ["base", "step 20", "step 40"]
    assert run.best_step == 40 and len(run.evaluations) == 2 and run.statements["t/0"]["tests"]
