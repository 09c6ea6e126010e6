"""Zone figures for the public map and charts, from published cells: pure functions of values.

A figure is one zone x metric x time bucket (an hour, or a day of the territory's calendar):
the published cells whose window starts in the bucket, combined. People counts are added, and
so are the ends of their published 90 % intervals (a band at least as wide as the sum's own:
cautious, never narrower); other measures are averaged weighted by their number of readings,
sound levels as an energy average (how LAeq is defined). Suppressed cells never get here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

__all__ = [
    "NO_DATA_COLOUR",
    "PALETTE",
    "Band",
    "CellRow",
    "Figure",
    "Summary",
    "Trend",
    "bucket_start",
    "cell_row",
    "colour_bands",
    "colour_of",
    "combine",
    "figures_by_zone",
    "median_of_others",
    "people_interval",
    "summarise",
]

Period = Literal["hour", "day"]
Trend = Literal["rising", "falling", "stable", "unknown"]
ENERGY_MEAN = frozenset({"laeq_db"})  # an equivalent level: the mean of energies, not of dB
# ColorBrewer YlGnBu (5 classes): sequential, readable by most colour-blind people
PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
NO_DATA_COLOUR = "#d4d4d4"


@dataclass(frozen=True, slots=True)
class CellRow:
    zone_id: str
    start: int
    n: int | None
    mean: float | None
    people: int | None
    ci90: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class Figure:
    start: int  # the bucket's start (unix time)
    value: float
    ci90: tuple[float, float] | None  # people counts whose every cell carries its interval
    cells: int


@dataclass(frozen=True, slots=True)
class Band:
    low: float
    high: float
    colour: str


@dataclass(frozen=True, slots=True)
class Summary:
    low: float
    high: float
    latest: float
    latest_start: int
    trend: Trend


def people_interval(cell: Mapping[str, Any]) -> tuple[float, float] | None:
    """A cell's published 90 % interval of its people count, when it carries one.

    The one place that reads the cell's differential-privacy note: the fleet stores it as
    ``dp_ci90_low`` / ``dp_ci90_high`` (the published-cell contract's ``dp.ci90``); a cell
    without both (older rows, measures) has none.
    """
    low, high = cell.get("dp_ci90_low"), cell.get("dp_ci90_high")
    if isinstance(low, int | float) and isinstance(high, int | float) and low <= high:
        return float(low), float(high)
    return None


def cell_row(cell: Mapping[str, Any]) -> CellRow:
    """A stored aggregate row (its column mapping) as the figures read it."""
    return CellRow(
        zone_id=str(cell["zone_id"]),
        start=int(cell["start"]),
        n=cell["n"],
        mean=cell["mean"],
        people=cell["people"],
        ci90=people_interval(cell),
    )


def bucket_start(t: int, period: Period, tz: ZoneInfo) -> int:
    """The start of the hour, or of the territory's calendar day, holding ``t``."""
    if period == "hour":
        return t - t % 3600
    local = datetime.fromtimestamp(t, tz)
    return int(datetime(local.year, local.month, local.day, tzinfo=tz).timestamp())


def bucket_end(start: int, period: Period, tz: ZoneInfo) -> int:
    if period == "hour":
        return start + 3600
    day = datetime.fromtimestamp(start, tz).date() + timedelta(days=1)
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def combine(rows: Sequence[CellRow], *, is_count: bool, metric: str) -> Figure | None:
    """One bucket's cells of one zone as one figure (None when none carries a value)."""
    if is_count:
        counted = [r for r in rows if r.people is not None]
        if not counted:
            return None
        total = float(sum(r.people or 0 for r in counted))
        known = [r.ci90 for r in counted if r.ci90 is not None]
        ci = None
        if len(known) == len(counted):  # a band only when every cell gives its interval
            ci = (sum(k[0] for k in known), sum(k[1] for k in known))
        return Figure(min(r.start for r in counted), total, ci, len(counted))
    valued = [r for r in rows if r.mean is not None and math.isfinite(r.mean)]
    if not valued:
        return None
    weights = [float(r.n) if r.n else 1.0 for r in valued]
    means = [float(r.mean) for r in valued if r.mean is not None]
    if metric in ENERGY_MEAN:
        energy = sum(w * 10 ** (m / 10) for w, m in zip(weights, means, strict=True))
        value = 10 * math.log10(energy / sum(weights))
    else:
        value = sum(w * m for w, m in zip(weights, means, strict=True)) / sum(weights)
    return Figure(min(r.start for r in valued), value, None, len(valued))


def figures_by_zone(
    rows: Iterable[CellRow], *, period: Period, tz: ZoneInfo, is_count: bool, metric: str
) -> dict[str, dict[int, Figure]]:
    """Every zone's figures, by bucket start."""
    grouped: dict[tuple[str, int], list[CellRow]] = {}
    for r in rows:
        grouped.setdefault((r.zone_id, bucket_start(r.start, period, tz)), []).append(r)
    out: dict[str, dict[int, Figure]] = {}
    for (zone, start), cells in grouped.items():
        fig = combine(cells, is_count=is_count, metric=metric)
        if fig is not None:
            out.setdefault(zone, {})[start] = Figure(start, fig.value, fig.ci90, fig.cells)
    return out


def median_of_others(by_zone: Mapping[str, Mapping[int, Figure]], zone: str) -> list[Figure]:
    """Per bucket, the median of the other zones' figures (buckets where another has one)."""
    values: dict[int, list[float]] = {}
    for other, figures in by_zone.items():
        if other != zone:
            for start, fig in figures.items():
                values.setdefault(start, []).append(fig.value)
    return [
        Figure(start, statistics.median(v), None, len(v)) for start, v in sorted(values.items())
    ]


def colour_bands(values: Sequence[float], classes: int = len(PALETTE)) -> list[Band]:
    """Equal-width classes from the smallest value to the largest, one palette colour each."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        return [Band(lo, hi, PALETTE[len(PALETTE) // 2])]
    step = (hi - lo) / classes
    return [Band(lo + i * step, lo + (i + 1) * step, PALETTE[i]) for i in range(classes)]


def colour_of(value: float | None, bands: Sequence[Band]) -> str:
    if value is None or not bands:
        return NO_DATA_COLOUR
    for band in bands:
        if value <= band.high:
            return band.colour
    return bands[-1].colour


def summarise(figures: Sequence[Figure]) -> Summary | None:
    """Lowest, highest, latest and the trend: the last third's mean against the first third's,
    a change under a tenth of the range being "stable" (figures oldest first)."""
    if not figures:
        return None
    values = [f.value for f in figures]
    lo, hi = min(values), max(values)
    trend: Trend = "unknown"
    third = len(values) // 3
    if third >= 1:
        change = statistics.fmean(values[-third:]) - statistics.fmean(values[:third])
        if abs(change) <= 0.1 * (hi - lo) or hi - lo < 1e-9:
            trend = "stable"
        else:
            trend = "rising" if change > 0 else "falling"
    return Summary(lo, hi, values[-1], figures[-1].start, trend)
