"""Line charts as inline SVG, drawn here so the HTML report needs no plotting library, no script and no network.

Every chart is ``<svg class="plot" data-metric="...">``: a browser test (or a reader of the DOM) finds each by its
metric. Names and titles are escaped; points are numbers formatted here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

#: Colour-blind-safe series colours (Okabe-Ito), in order.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
WIDTH, HEIGHT = 560, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 150, 26, 40  # the legend sits in the right margin


@dataclass
class Series:
    """One line: ``points`` as (step, value); ``markers`` draws a dot per point (checkpoints, validations)."""

    name: str
    points: list[tuple[float, float]]
    markers: bool = False
    dashed: bool = False
    color: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high] (steps of 1, 2 or 5 times a power of ten)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _label(value: float) -> str:
    return f"{value:.4g}"


def line_chart(series: list[Series], *, metric: str, title: str, x_label: str = "step", y_label: str = "",
               best: tuple[float, float] | None = None, y_range: tuple[float, float] | None = None) -> str:
    """An SVG line chart of ``series`` (non-finite points dropped), with axes, ticks, a legend and, where ``best``
    is given, that point ringed and labelled ``best``. With no point at all it says so in place of the lines."""
    clean = [Series(s.name, [(float(x), float(y)) for x, y in s.points if math.isfinite(x) and math.isfinite(y)],
                    s.markers, s.dashed, s.color or COLORS[i % len(COLORS)], s.extra) for i, s in enumerate(series)]
    xs = [x for s in clean for x, _ in s.points]
    ys = [y for s in clean for _, y in s.points]
    head = (f'<svg class="plot" data-metric="{escape(metric)}" data-points="{len(xs)}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" class="plot-title">{escape(title)}</text>')
    if not xs:
        return head + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="empty">no data</text></svg>'
    x_ticks = nice_ticks(min(xs), max(xs))
    y_ticks = nice_ticks(*(y_range or (min(ys), max(ys))))
    x0, x1, y0, y1 = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / ((x1 - x0) or 1) * plot_w

    def py(y: float) -> float:
        return TOP + plot_h - (y - y0) / ((y1 - y0) or 1) * plot_h

    parts = [head, f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="frame"/>']
    for t in y_ticks:
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{py(t):.1f}" y2="{py(t):.1f}" class="grid"/>'
                     f'<text x="{LEFT - 4}" y="{py(t) + 4:.1f}" text-anchor="end" class="tick">{_label(t)}</text>')
    for t in x_ticks:
        parts.append(f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" class="axis"/>'
                     f'<text x="{px(t):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" class="tick">{_label(t)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" text-anchor="middle" class="axis-label">'
                 f'{escape(x_label)}</text>')
    if y_label:
        parts.append(f'<text transform="translate(12 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle" '
                     f'class="axis-label">{escape(y_label)}</text>')
    for s in clean:
        if not s.points:
            continue
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        parts.append(f'<polyline class="line" data-series="{escape(s.name)}" points="{path}" fill="none" '
                     f'stroke="{s.color}" stroke-width="1.6"{dash}/>')
        if s.markers or len(s.points) == 1:
            parts += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.6" fill="{s.color}">'
                      f'<title>{escape(s.name)}: step {_label(x)}, {_label(y)}</title></circle>' for x, y in s.points]
    if best is not None:
        bx, by = px(best[0]), py(best[1])
        parts.append(f'<g class="best" data-step="{_label(best[0])}"><circle cx="{bx:.1f}" cy="{by:.1f}" r="6" '
                     f'fill="none" stroke="#000" stroke-width="1.5"/><text x="{bx:.1f}" y="{by - 9:.1f}" '
                     f'text-anchor="middle" class="best-label">best</text></g>')
    for i, s in enumerate(clean):
        y, x = TOP + 4 + 14 * i, LEFT + plot_w + 8
        name = s.name if len(s.name) <= 22 else s.name[:21] + "\u2026"
        parts.append(f'<g class="legend"><line x1="{x}" x2="{x + 16}" y1="{y + 4}" y2="{y + 4}" stroke="{s.color}" '
                     f'stroke-width="2"/><text x="{x + 20}" y="{y + 8}" class="legend-text">{escape(name)}'
                     f'<title>{escape(s.name)}</title></text></g>')
    return "".join(parts) + "</svg>"
