"""Line charts as inline SVG, drawn on the server: no script, readable by screen readers.

A chart is an ``<svg role="img">`` whose title and description (the range and the latest
value, in words) are its accessible name; the page also offers the same values as a table.
Points further apart than ``gap_s`` are not joined: a gap in the data stays a gap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

__all__ = ["line_chart"]

_W, _H = 480, 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 12, 30
_MAX_DOTS = 60


def _scale(v: float, lo: float, hi: float, a: float, b: float) -> float:
    return a + (v - lo) * (b - a) / (hi - lo)


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
) -> Markup:
    """``points`` are (unix time, value), oldest first, within [t0, t1]."""
    values = [v for _, v in points]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    t1 = max(t1, t0 + 1)
    x0, x1, y0, y1 = _LEFT, _W - _RIGHT, _H - _BOTTOM, _TOP

    def xy(t: int, v: float) -> tuple[float, float]:
        return _scale(t, t0, t1, x0, x1), _scale(v, lo, hi, y0, y1)

    parts = [
        f'<svg class="chart-svg" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" focusable="false">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]
    for frac in (0.0, 0.5, 1.0):  # horizontal grid lines, labelled with their value
        v = lo + pad + (hi - lo - 2 * pad) * frac
        _, y = xy(t0, v)
        parts.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#c8ccd0" '
            'stroke-width="1"/>'
            f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="13" '
            f'fill="#262b30">{escape(fmt_value(v))}</text>'
        )
    parts.append(
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#5f6870" stroke-width="1"/>'
        f'<text x="{x0}" y="{_H - 8}" font-size="13" fill="#262b30">{escape(fmt_time(t0))}</text>'
        f'<text x="{x1}" y="{_H - 8}" text-anchor="end" font-size="13" fill="#262b30">'
        f"{escape(fmt_time(t1))}</text>"
    )
    path: list[str] = []
    previous: int | None = None
    for t, v in points:
        x, y = xy(t, v)
        joined = previous is not None and t - previous <= gap_s
        path.append(f"{'L' if joined else 'M'}{x:.1f} {y:.1f}")
        previous = t
    if path:
        parts.append(
            f'<path d="{" ".join(path)}" fill="none" stroke="#0b5cad" stroke-width="2.5" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
    if len(points) <= _MAX_DOTS:
        for t, v in points:
            x, y = xy(t, v)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#0b5cad"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text above is escaped)
