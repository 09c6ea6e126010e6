"""What the public map and zone pages show of a figure: its value in words, the charts of a
zone (inline SVG from ``fleet.web.charts``) with their text summary and table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from fleet.crud.public_figures import ZoneChart
from fleet.web.charts import line_chart
from fleet.web.i18n import Translator
from fleet.web.render import Formats
from protocol.metrics import METRICS

__all__ = [
    "ChartView",
    "TableRow",
    "chart_views",
    "interval_text",
    "metric_label",
    "period_text",
    "value_text",
]


@dataclass(frozen=True, slots=True)
class TableRow:
    when: str
    value: str
    interval: str | None
    others: str


@dataclass(frozen=True, slots=True)
class ChartView:
    key: str
    title: str
    svg: Markup | None
    summary: str
    has_band: bool
    has_others: bool
    rows: list[TableRow]


def metric_label(t: Translator, metric: str) -> str:
    m = METRICS[metric]
    return m.label_fr if t.lang == "fr" else m.label_en


def value_text(fmt: Formats, metric: str, value: float | None) -> str:
    """A figure as people read it: the metric's precision (one decimal at most), its unit."""
    m = METRICS[metric]
    unit = "" if m.unit == "count" else m.unit
    return fmt.num(value, min(m.decimals, 1), unit)


def interval_text(
    t: Translator, fmt: Formats, metric: str, ci: tuple[float, float] | None
) -> str | None:
    if ci is None:
        return None
    return t("map_range", low=value_text(fmt, metric, ci[0]), high=value_text(fmt, metric, ci[1]))


def period_text(fmt: Formats, start: int, period: str) -> str:
    """An hour as its start and end time, a day as its date (the territory's calendar)."""
    if period == "day":
        return fmt.date(datetime.fromtimestamp(start, fmt.tz).date())
    return f"{fmt.dt(start)}\u2013{datetime.fromtimestamp(start + 3600, fmt.tz):%H:%M}"


def _summary(t: Translator, fmt: Formats, chart: ZoneChart, metric: str) -> str:
    s = chart.summary
    if s is None:
        return t("chart_empty")
    return t(
        "zone_chart_summary",
        low=value_text(fmt, metric, s.low),
        high=value_text(fmt, metric, s.high),
        latest=value_text(fmt, metric, s.latest),
        when=period_text(fmt, s.latest_start, chart.period),
        trend=t("trend_" + s.trend),
    )


def chart_views(
    charts: list[ZoneChart], *, t: Translator, fmt: Formats, metric: str, zone_name: str
) -> list[ChartView]:
    out = []
    for chart in charts:
        title = t(
            "chart_title",
            metric=metric_label(t, metric),
            zone=zone_name,
            range=t("range_" + chart.key),
        )
        summary = _summary(t, fmt, chart, metric)
        others = {f.start: f for f in chart.others}
        band = [(f.start, f.ci90[0], f.ci90[1]) for f in chart.figures if f.ci90 is not None]
        step = 3600 if chart.period == "hour" else 86400
        fmt_time: Callable[[int], str] = (
            fmt.dt if chart.period == "hour" else lambda ts: period_text(fmt, ts, "day")
        )
        svg = None
        if chart.figures:
            svg = line_chart(
                [(f.start, f.value) for f in chart.figures],
                chart_id=f"chart-{chart.key}",
                title=title,
                description=summary,
                t0=chart.since,
                t1=chart.until,
                gap_s=int(step * 1.5),  # 25 hours apart on a DST day still join
                fmt_value=lambda v: value_text(fmt, metric, v),
                fmt_time=fmt_time,
                band=band,
                compare=[(f.start, f.value) for f in chart.others],
            )
        rows = [
            TableRow(
                when=period_text(fmt, f.start, chart.period),
                value=value_text(fmt, metric, f.value),
                interval=interval_text(t, fmt, metric, f.ci90),
                others=value_text(fmt, metric, o.value if (o := others.get(f.start)) else None),
            )
            for f in reversed(chart.figures)  # newest first
        ]
        out.append(
            ChartView(
                key=chart.key,
                title=title,
                svg=svg,
                summary=summary,
                has_band=bool(band),
                has_others=bool(chart.others),
                rows=rows,
            )
        )
    return out
