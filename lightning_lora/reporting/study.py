"""The study's report: the base model and the arms' checkpoints on one benchmark, problem by problem.

Read from each arm's checkpoint folder (``base.results.json`` from ``benchmark_base``, ``stepNNNNNN.results.json``
from the benchmark on every checkpoint) and TensorBoard logs: the table (base, each arm's best checkpoint, pass@1,
solved), pass@1 per checkpoint, the problems each best checkpoint gained and lost against the base, and exact
McNemar tests on the paired verdicts (same problems, two models): with 41 problems, small differences are noise,
and the p-values say how much.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from lightning_lora.errors import UserError
from lightning_lora.reporting.runs import read_scalars, save_loss_plot

STEP_RESULTS = re.compile(r"step(\d+)\.results\.json")


@dataclass
class Arm:
    """One arm's verdicts: per checkpoint step, which problems passed; and its base's."""

    name: str
    folder: Path
    steps: dict[int, dict[str, bool]] = field(default_factory=dict)
    base: dict[str, bool] | None = None
    scalars: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def best_step(self) -> int:
        """The checkpoint with the most problems solved; the earliest on a tie (as ``best`` is kept)."""
        return min(self.steps, key=lambda s: (-sum(self.steps[s].values()), s))


def _verdicts(path: Path) -> dict[str, bool]:
    results = json.loads(path.read_text())
    return {p["task_id"]: bool(p["passed"]) for p in results["problems"]}


def read_arm(name: str, checkpoints: Path, logs: Path | None) -> Arm:
    """An arm from its checkpoint folder and (optionally) its TensorBoard folder (every ``version_*`` merged)."""
    if not checkpoints.is_dir():
        raise UserError(f"report --study: {checkpoints} is not a folder (the arm's checkpoints/<run_name>)")
    arm = Arm(name, checkpoints)
    for path in checkpoints.glob("step*.results.json"):
        match = STEP_RESULTS.fullmatch(path.name)
        if match:
            arm.steps[int(match.group(1))] = _verdicts(path)
    if not arm.steps:
        raise UserError(f"report --study: {checkpoints} holds no step*.results.json (was the benchmark callback on?)")
    if (checkpoints / "base.results.json").is_file():
        arm.base = _verdicts(checkpoints / "base.results.json")
    if logs is not None and logs.is_dir():
        for version in sorted(logs.glob("version_*")):
            for tag, points in read_scalars(version).items():
                merged = dict(arm.scalars.get(tag, []))
                merged.update(points)
                arm.scalars[tag] = sorted(merged.items())
    problems = {frozenset(v) for v in arm.steps.values()} | ({frozenset(arm.base)} if arm.base else set())
    if len(problems) > 1:
        raise UserError(f"report --study: the results in {checkpoints} are not all on the same problems")
    return arm


def mcnemar_exact(a: dict[str, bool], b: dict[str, bool]) -> tuple[int, int, float]:
    """(solved by ``a`` only, solved by ``b`` only, two-sided exact McNemar p-value): a binomial test of the
    discordant problems against an even split."""
    only_a = sum(a[t] and not b[t] for t in a)
    only_b = sum(b[t] and not a[t] for t in a)
    n = only_a + only_b
    if n == 0:
        return 0, 0, 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2 ** n
    return only_a, only_b, min(1.0, 2 * tail)


def _pass1(verdicts: dict[str, bool]) -> str:
    solved = sum(verdicts.values())
    return f"{solved / len(verdicts):.3f} | {solved}/{len(verdicts)}"


def study_report(arms: list[Arm]) -> str:
    """The markdown report over ``arms`` (at least one; the base is the first arm that has one)."""
    base = next((arm.base for arm in arms if arm.base is not None), None)
    total = len(next(iter(arms[0].steps.values())))
    lines = [f"## Study: {', '.join(a.name for a in arms)} ({total} problems)", "",
             "| model | checkpoint | pass@1 | solved |", "|---|---|---:|---:|"]
    if base is not None:
        lines.append(f"| base | step 0 (adapter off) | {_pass1(base)} |")
    best = {}
    for arm in arms:
        step = arm.best_step()
        best[arm.name] = arm.steps[step]
        last = max(arm.steps)
        lines.append(f"| {arm.name} | best: step {step} | {_pass1(arm.steps[step])} |")
        if last != step:
            lines.append(f"| {arm.name} | last: step {last} | {_pass1(arm.steps[last])} |")
    steps = sorted(set().union(*(a.steps for a in arms)))
    lines += ["", "pass@1 per checkpoint (solved problems):", "",
              "| step | " + " | ".join(a.name for a in arms) + " |", "|---:|" + "---:|" * len(arms)]
    if base is not None:
        lines.append("| 0 (base) | " + " | ".join(str(sum(base.values())) for _ in arms) + " |")
    for step in steps:
        lines.append(f"| {step} | " + " | ".join(str(sum(a.steps[step].values())) if step in a.steps else "-"
                                                   for a in arms) + " |")
    if base is not None:
        lines += ["", "Against the base (each arm's best checkpoint):", ""]
        for arm in arms:
            gained = sorted(t for t in base if best[arm.name][t] and not base[t])
            lost = sorted(t for t in base if base[t] and not best[arm.name][t])
            lines.append(f"- {arm.name}: gained {len(gained)} ({', '.join(gained) or 'none'}); "
                         f"lost {len(lost)} ({', '.join(lost) or 'none'})")
    lines += ["", "Paired exact McNemar tests (two-sided; problems solved by one model and not the other):", "",
              "| comparison | only the first | only the second | p |", "|---|---:|---:|---:|"]
    pairs = [(a.name, b.name) for i, a in enumerate(arms) for b in arms[i + 1:]]
    named = dict(best)
    if base is not None:
        named["base"] = base
        pairs += [(a.name, "base") for a in arms]
    for first, second in pairs:
        x, y, p = mcnemar_exact(named[first], named[second])
        lines.append(f"| {first} vs {second} | {x} | {y} | {p:.3f} |")
    two = mcnemar_exact({"a": True, "b": True}, {"a": False, "b": False})[2]
    lines += ["", f"A difference of 2 problems with no problem going the other way gives p = {two:.2f}: on "
              f"{total} problems, only large, one-sided differences reach p < 0.05. The best checkpoint is chosen "
              "on these same problems, which flatters it; the last checkpoint is shown beside it where they differ."]
    return "\n".join(lines)


def plot_study(arms: list[Arm], output_dir: Path) -> list[Path]:
    """PNGs: pass@1 per checkpoint (base at step 0) and train/validation loss, every arm overlaid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for arm in arms:
        points = sorted((s, sum(v.values()) / len(v)) for s, v in arm.steps.items())
        if arm.base is not None:
            points = [(0, sum(arm.base.values()) / len(arm.base)), *points]
        ax.plot([s for s, _ in points], [v for _, v in points], marker="o", markersize=3, label=arm.name)
    ax.set_xlabel("step")
    ax.set_ylabel("pass@1")
    ax.set_title("pass@1 per checkpoint (step 0: base)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    files.append(output_dir / "study_pass1.png")
    fig.savefig(files[-1], dpi=110)
    plt.close(fig)
    files.append(save_loss_plot([(arm.name, arm.scalars) for arm in arms], output_dir / "study_losses.png"))
    return files


def write_study_report(arms: list[Arm], output_dir: Path) -> tuple[str, list[Path]]:
    """``study.md``, ``study.json`` and the plots in ``output_dir``; returns the markdown and the files."""
    output_dir.mkdir(parents=True, exist_ok=True)
    text = study_report(arms)
    (output_dir / "study.md").write_text(text + "\n")
    data = {arm.name: {"best_step": arm.best_step(), "steps": {str(s): sum(v.values()) for s, v in arm.steps.items()},
                       "base": sum(arm.base.values()) if arm.base else None,
                       "best_solved": sorted(t for t, ok in arm.steps[arm.best_step()].items() if ok)}
            for arm in arms}
    (output_dir / "study.json").write_text(json.dumps(data, indent=2) + "\n")
    return text, [output_dir / "study.md", output_dir / "study.json", *plot_study(arms, output_dir)]

