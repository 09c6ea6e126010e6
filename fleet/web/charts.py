"""Line charts as inline SVG, drawn on the server: no script, readable by screen readers.

A chart is an ``<svg role="img">`` whose title and description (the range and the latest
value, in words) are its accessible name; the page also offers the same values as a table.
Points further apart than ``gap_s`` are not joined: a gap in the data stays a gap. A chart
may also draw an interval as a shaded band around the line (a published 90 % interval) and a
dashed line to compare with (the territory's other zones).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from markupsafe import Markup, escape

__all__ = ["left_margin", "line_chart"]

_P = TypeVar("_P", bound=tuple[Any, ...])
_XY = Callable[[int, float], tuple[float, float]]
_W, _H = 480, 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 12, 12, 30  # _LEFT: the least; wider for wide labels
_LABEL_PX = 13 * 0.62  # an upper bound of a digit's or letter's advance at font-size 13
_MAX_DOTS = 60
_LINE_STYLE = (
    'class="chart-line" stroke="#0b5cad" stroke-width="2.5" stroke-linejoin="round" '
    'stroke-linecap="round"'
)
_BAND_STYLE = 'fill="#0b5cad" fill-opacity="0.18" stroke="none"'
_COMPARE_STYLE = 'class="chart-compare" stroke="#7a3e00" stroke-width="2" stroke-dasharray="6 4"'


def _scale(v: float, lo: float, hi: float, a: float, b: float) -> float:
    return a + (v - lo) * (b - a) / (hi - lo)


def _runs(points: Sequence[_P], gap_s: int) -> list[list[_P]]:
    """Points split where two are further apart than ``gap_s``."""
    runs: list[list[_P]] = []
    for p in points:
        if runs and p[0] - runs[-1][-1][0] <= gap_s:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


def _line(points: Sequence[tuple[int, float]], gap_s: int, xy: _XY, attrs: str) -> str:
    path: list[str] = []
    for run in _runs(points, gap_s):
        for i, (t, v) in enumerate(run):
            x, y = xy(t, v)
            path.append(f"{'L' if i else 'M'}{x:.1f} {y:.1f}")
    return f'<path d="{" ".join(path)}" fill="none" {attrs}/>' if path else ""


def _band(band: Sequence[tuple[int, float, float]], gap_s: int, xy: _XY) -> str:
    """The interval as one shaded polygon per run (a lone point: a narrow bar)."""
    parts = []
    for run in _runs(band, gap_s):
        upper = [xy(t, hi) for t, _, hi in run]
        lower = [xy(t, lo) for t, lo, _ in reversed(run)]
        if len(run) == 1:
            (x, y_hi), (_, y_lo) = upper[0], lower[0]
            upper, lower = [(x - 3, y_hi), (x + 3, y_hi)], [(x + 3, y_lo), (x - 3, y_lo)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in upper + lower)
        parts.append(f'<polygon class="chart-band" points="{points}" {_BAND_STYLE}/>')
    return "".join(parts)


def left_margin(labels: Sequence[str]) -> int:
    """The plot's left edge: the widest y-axis label, its 6-unit gap and a little air, at
    least ``_LEFT`` and at most a third of the chart."""
    widest = max((len(s) for s in labels), default=0) * _LABEL_PX
    return min(_W // 3, max(_LEFT, int(widest + 6 + 4 + 0.999)))


def line_chart(
    points: Sequence[tuple[int, float]],
    *,
    chart_id: str,
    title: str,
    description: str,
    t0: int,
    t1: int,
    gap_s: int,
    fmt_value: Callable[[float], str],
    fmt_time: Callable[[int], str],
    band: Sequence[tuple[int, float, float]] = (),
    compare: Sequence[tuple[int, float]] = (),
) -> Markup:
    """``points`` are (unix time, value), oldest first, within [t0, t1]; ``band`` (time, low,
    high) is shaded behind the line, ``compare`` drawn dashed."""
    values = [v for _, v in points] + [v for _, v in compare]
    values += [v for _, lo, hi in band for v in (lo, hi)]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    t1 = max(t1, t0 + 1)
    ticks = [(v, fmt_value(v)) for v in (lo + pad + (hi - lo - 2 * pad) * f for f in (0, 0.5, 1))]
    # the y-axis labels end 6 units left of the axis: the margin holds the widest whole
    x0, x1, y0, y1 = left_margin([t for _, t in ticks]), _W - _RIGHT, _H - _BOTTOM, _TOP

    def xy(t: int, v: float) -> tuple[float, float]:
        return _scale(t, t0, t1, x0, x1), _scale(v, lo, hi, y0, y1)

    parts = [
        f'<svg class="chart-svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" focusable="false">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]
    for v, label in ticks:  # horizontal grid lines, labelled with their value
        _, y = xy(t0, v)
        parts.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#c8ccd0" '
            'stroke-width="1"/>'
            f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="13" '
            f'fill="#262b30">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#5f6870" stroke-width="1"/>'
        f'<text x="{x0}" y="{_H - 8}" font-size="13" fill="#262b30">{escape(fmt_time(t0))}</text>'
        f'<text x="{x1}" y="{_H - 8}" text-anchor="end" font-size="13" fill="#262b30">'
        f"{escape(fmt_time(t1))}</text>"
    )
    parts.append(_band(band, gap_s, xy))
    parts.append(_line(compare, gap_s, xy, _COMPARE_STYLE))
    parts.append(_line(points, gap_s, xy, _LINE_STYLE))
    if len(points) <= _MAX_DOTS:
        for t, v in points:
            x, y = xy(t, v)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#0b5cad"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text above is escaped)
