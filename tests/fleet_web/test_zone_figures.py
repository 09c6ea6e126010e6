"""The pure logic of the public figures: combining cells, the 90 % band of people counts,
colour classes, the comparison median, the words of a chart's summary, and the band drawn."""

from __future__ import annotations

import math
import re
from zoneinfo import ZoneInfo

from fleet.crud.public_figures import ZoneChart
from fleet.web.charts import line_chart
from fleet.web.i18n import Translator
from fleet.web.render import Formats
from fleet.web.zone_view import chart_views
from fleet.zone_figures import (
    NO_DATA_COLOUR,
    PALETTE,
    CellRow,
    Figure,
    bucket_start,
    cell_row,
    colour_bands,
    colour_of,
    combine,
    figures_by_zone,
    median_of_others,
    people_interval,
    summarise,
)

TZ = ZoneInfo("Europe/Paris")
H = 3600


def _cell(start: int, *, people: int | None = None, mean: float | None = None, n: int = 1,
          ci: tuple[float, float] | None = None, zone: str = "centre") -> CellRow:  # fmt: skip
    return CellRow(zone_id=zone, start=start, n=n, mean=mean, people=people, ci90=ci)


def test_people_interval_reads_the_cells_published_bounds_only_when_both_are_there() -> None:
    row = {"zone_id": "centre", "start": 0, "n": 4, "mean": None, "people": 40}
    assert people_interval({**row, "dp_ci90_low": 31, "dp_ci90_high": 49}) == (31.0, 49.0)
    assert people_interval({**row, "dp_ci90_low": 31, "dp_ci90_high": None}) is None
    assert people_interval({**row, "dp_ci90_low": 50, "dp_ci90_high": 49}) is None
    assert people_interval(row) is None  # a row stored before cells carried their interval
    assert cell_row({**row, "dp_ci90_low": 0, "dp_ci90_high": 9}).ci90 == (0.0, 9.0)


def test_people_counts_add_up_with_their_bands_and_a_band_needs_every_cell() -> None:
    both = [_cell(0, people=40, ci=(31, 49)), _cell(300, people=10, ci=(1, 19))]
    fig = combine(both, is_count=True, metric="people_n")
    assert fig == Figure(0, 50.0, (32.0, 68.0), 2)
    one_missing = [both[0], _cell(300, people=10)]
    assert combine(one_missing, is_count=True, metric="people_n") == Figure(0, 50.0, None, 2)
    assert combine([_cell(0)], is_count=True, metric="people_n") is None


def test_measures_are_weighted_by_readings_and_sound_levels_by_energy() -> None:
    cells = [_cell(0, mean=20.0, n=3), _cell(300, mean=24.0, n=1)]
    assert combine(cells, is_count=False, metric="temp_c") == Figure(0, 21.0, None, 2)
    loud = [_cell(0, mean=70.0), _cell(300, mean=50.0)]
    fig = combine(loud, is_count=False, metric="laeq_db")
    assert fig is not None
    assert math.isclose(fig.value, 10 * math.log10((10**7 + 10**5) / 2))  # ~67.0, not 60


def test_hours_and_local_days_bucket_cells_of_each_zone() -> None:
    # 2026-07-01 23:30 in Paris is 21:30 UTC: the local day began at 22:00 UTC the day before
    t = 1782941400
    assert bucket_start(t, "hour", TZ) == t - 1800
    assert bucket_start(t, "day", TZ) == 1782856800
    rows = [_cell(t, mean=1.0), _cell(t + 3600, mean=3.0), _cell(t, mean=5.0, zone="doutre")]
    by_zone = figures_by_zone(rows, period="day", tz=TZ, is_count=False, metric="temp_c")
    assert set(by_zone) == {"centre", "doutre"}
    assert [f.value for f in by_zone["centre"].values()] == [1.0, 3.0]  # 00:30 is the next day
    others = median_of_others(
        {"a": {0: Figure(0, 1, None, 1)}, "b": {0: Figure(0, 5, None, 1)},
         "c": {0: Figure(0, 9, None, 1), H: Figure(H, 2, None, 1)}}, "c",
    )  # fmt: skip
    assert [(f.start, f.value) for f in others] == [(0, 3.0)]


def test_colours_run_through_equal_classes_and_no_figure_is_grey() -> None:
    bands = colour_bands([10.0, 20.0, 60.0])
    assert [(b.low, b.high) for b in bands] == [(10, 20), (20, 30), (30, 40), (40, 50), (50, 60)]
    assert [colour_of(v, bands) for v in (10.0, 20.0, 20.5, 60.0)] == [
        PALETTE[0], PALETTE[0], PALETTE[1], PALETTE[4],
    ]  # fmt: skip
    assert colour_of(None, bands) == NO_DATA_COLOUR
    assert len(colour_bands([7.0, 7.0])) == 1
    assert colour_bands([]) == []


def test_a_summary_says_the_range_the_latest_and_the_trend() -> None:
    rising = [Figure(i * H, v, None, 1) for i, v in enumerate([1, 2, 2, 3, 5, 6])]
    s = summarise(rising)
    assert s is not None
    assert (s.low, s.high, s.latest, s.trend) == (1, 6, 6, "rising")
    flat = summarise([Figure(i * H, v, None, 1) for i, v in enumerate([5, 5.1, 4.9, 5])])
    assert flat is not None
    assert flat.trend == "stable"
    single = summarise([Figure(0, 3, None, 1)])
    assert single is not None
    assert single.trend == "unknown"
    assert summarise([]) is None


def test_a_people_chart_draws_its_band_and_says_it_in_its_table() -> None:
    figures = [Figure(i * H, 40.0 + i, (31.0 + i, 49.0 + i), 1) for i in range(4)]
    chart = ZoneChart(
        key="24h", period="hour", since=0, until=4 * H, figures=figures,
        others=[Figure(i * H, 30.0, None, 3) for i in range(4)], summary=summarise(figures),
    )  # fmt: skip
    fmt = Formats("fr", TZ)
    [view] = chart_views([chart], t=Translator("fr"), fmt=fmt, metric="people_n", zone_name="Z")
    assert view.has_band
    assert view.has_others
    svg = str(view.svg)
    assert svg.count('class="chart-band"') == 1
    assert 'class="chart-compare"' in svg
    assert view.rows[0].interval == "de 34 à 52"
    assert view.rows[0].value == "43"
    assert view.summary.startswith("De 40 à 43 ; dernière valeur 43")
    # at each point, the line runs inside the band (SVG y grows downwards)
    band = re.search(r'class="chart-band" points="([^"]+)"', svg)
    line = re.search(r'd="([^"]+)" fill="none" class="chart-line"', svg)
    assert band
    assert line
    corners = [tuple(map(float, p.split(","))) for p in band.group(1).split()]
    upper, lower = corners[:4], corners[4:][::-1]
    found = re.findall(r"[ML]([\d.]+ [\d.]+)", line.group(1))
    points = [tuple(map(float, xy.split())) for xy in found]
    assert len(points) == 4
    for (x, y), (ux, uy), (lx, ly) in zip(points, upper, lower, strict=True):
        assert x == ux == lx
        assert uy < y < ly


def test_a_lone_point_of_band_is_a_narrow_bar_and_gaps_stay_gaps() -> None:
    svg = str(
        line_chart(
            [(0, 1.0), (3 * H, 2.0)], chart_id="c", title="t", description="d", t0=0,
            t1=3 * H, gap_s=H, fmt_value=str, fmt_time=str, band=[(0, 0.5, 1.5)],
            compare=[(0, 1.0), (H, 1.2), (3 * H, 1.1)],
        )
    )  # fmt: skip
    assert svg.count("<polygon") == 1
    assert len(re.search(r'points="([^"]+)"', svg).group(1).split()) == 4  # type: ignore[union-attr]
    line = re.search(r'd="([^"]+)" fill="none" class="chart-line"', svg)
    assert line
    assert line.group(1).count("M") == 2


def test_the_y_axis_labels_fit_left_of_the_axis_however_wide() -> None:
    for unit in ("", " µg/m³", " passages/h"):
        svg = str(
            line_chart(
                [(0, 12345.6), (H, 23456.7)], chart_id="c", title="t", description="d", t0=0,
                t1=H, gap_s=H, fmt_value=lambda v, u=unit: f"{v:,.1f}{u}", fmt_time=str,
            )
        )  # fmt: skip
        axis = re.search(r'<line x1="(\d+)" y1="[\d.]+" x2="\d+"', svg)
        assert axis
        x0 = int(axis.group(1))
        labels = re.findall(r'<text x="(\d+)" y="[\d.]+" text-anchor="end" font-size="13" '
                            r'fill="#262b30">([^<]+)</text>', svg)
        assert len(labels) >= 3
        for x, text in labels[:3]:
            # right-aligned at x: its left end, at 0.62 em a character, stays in the picture
            assert int(x) - len(text) * 13 * 0.62 >= 0, (unit, text, x0)
