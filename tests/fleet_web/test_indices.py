"""The index computations against worked examples from their sources: the ATMO bands of the
arrêté du 10 juillet 2020 at their edges, the WHO 2021 guideline values, Lden and Lnight from
hourly LAeq (Directive 2002/49/EC's formula, French periods), Météo-France's heatwave IBM;
and the message tables, which must not define a key twice (a later table would overwrite)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from fleet import indices
from fleet.indices import atmo_band, heatwave, lden, lnight
from fleet.sensor_models import HUMID_RH_PCT, SENSOR_MODELS, is_humid, models_for
from protocol.metrics import METRICS

WEB = Path(__file__).resolve().parents[2] / "fleet" / "web"


@pytest.mark.parametrize(
    ("metric", "value", "label"),
    [
        ("pm25_ugm3", 0.0, "good"),
        ("pm25_ugm3", 10.0, "good"),  # "concentration ≤ 10 : bon"
        ("pm25_ugm3", 10.05, "fair"),
        ("pm25_ugm3", 20.0, "fair"),
        ("pm25_ugm3", 20.1, "degraded"),
        ("pm25_ugm3", 25.0, "degraded"),
        ("pm25_ugm3", 25.1, "poor"),
        ("pm25_ugm3", 50.0, "poor"),
        ("pm25_ugm3", 75.0, "very_poor"),
        ("pm25_ugm3", 75.1, "extremely_poor"),
        ("pm10_ugm3", 20.0, "good"),
        ("pm10_ugm3", 20.1, "fair"),
        ("pm10_ugm3", 40.0, "fair"),
        ("pm10_ugm3", 50.0, "degraded"),
        ("pm10_ugm3", 50.1, "poor"),
        ("pm10_ugm3", 100.0, "poor"),
        ("pm10_ugm3", 150.0, "very_poor"),
        ("pm10_ugm3", 150.1, "extremely_poor"),
        ("pm10_ugm3", 900.0, "extremely_poor"),
    ],
)
def test_atmo_sub_index_bands_are_the_arretes_with_upper_edges_included(
    metric: str, value: float, label: str
) -> None:
    assert indices.ATMO_LABELS[atmo_band(metric, value)] == label


def test_atmo_tables_have_six_bands_and_the_charters_colours() -> None:
    assert indices.ATMO_BANDS["pm25_ugm3"] == (10, 20, 25, 50, 75)
    assert indices.ATMO_BANDS["pm10_ugm3"] == (20, 40, 50, 100, 150)
    assert len(indices.ATMO_LABELS) == len(indices.ATMO_COLOURS) == 6
    assert indices.SOURCES["atmo"].url.startswith("https://www.legifrance.gouv.fr/")


def test_who_2021_guideline_values_and_the_comparison() -> None:
    assert indices.WHO_AIR["pm25_ugm3"] == indices.Guideline(day=15, year=5)
    assert indices.WHO_AIR["pm10_ugm3"] == indices.Guideline(day=45, year=15)
    assert indices.over_guideline(15.0, 15.0) == 1.0  # at the value is not above it
    assert indices.over_guideline(30.0, 15.0) == 2.0
    assert indices.over_guideline(22.5, 45.0) == 0.5
    assert indices.WHO_NOISE_ROAD == {"lden": 53.0, "lnight": 45.0}


def test_lden_of_a_steady_level_is_that_level_plus_6_4_db() -> None:
    # the same level all day: 10 lg((12 + 4·10^0.5 + 8·10) / 24) = 6.40 dB more
    assert lden(dict.fromkeys(range(24), 60.0)) == pytest.approx(66.395, abs=0.001)


def test_lden_penalties_balance_an_evening_5_db_and_a_night_10_db_quieter() -> None:
    hourly = {h: 65.0 if 6 <= h < 18 else 60.0 if 18 <= h < 22 else 55.0 for h in range(24)}
    assert lden(hourly) == pytest.approx(65.0, abs=1e-9)
    assert lnight(hourly) == pytest.approx(55.0, abs=1e-9)


def test_lnight_is_the_energy_mean_of_the_night_hours_only() -> None:
    hourly = {h: 45.0 if (h >= 22 or h < 6) else 70.0 for h in range(24)}
    assert lnight(hourly) == pytest.approx(45.0)
    hourly[23] = 55.0  # one louder night hour: 10 lg((7 + 10) / 8) above 45
    assert lnight(hourly) == pytest.approx(45 + 10 * math.log10(17 / 8))


def test_lden_and_lnight_need_their_hours() -> None:
    day = dict.fromkeys(range(24), 50.0)
    del day[13]
    assert lden(day) is None
    assert lnight(day) == pytest.approx(50.0)  # a day hour missing: the night is whole
    del day[3]
    assert lnight(day) is None


def test_heatwave_ibm_is_the_three_day_mean_of_lows_and_highs_against_both_thresholds() -> None:
    assert indices.HEATWAVE_49 == (18.0, 34.0)
    hot = heatwave([(18.0, 34.0), (19.0, 35.0), (17.0, 33.0)], indices.HEATWAVE_49)
    assert (hot.ibm_min, hot.ibm_max, hot.reached) == (18.0, 34.0, True)  # at the thresholds
    warm_nights = heatwave([(21.0, 33.0), (20.0, 33.5), (22.0, 34.0)], indices.HEATWAVE_49)
    assert warm_nights.reached is False  # IBMx 33.5: the days are not hot enough
    cool_nights = heatwave([(16.0, 37.0), (17.0, 38.0), (17.5, 36.0)], indices.HEATWAVE_49)
    assert cool_nights.reached is False  # IBMn 16.8: the nights bring relief
    with pytest.raises(ValueError, match="three-day"):
        heatwave([(20.0, 35.0)] * 2, indices.HEATWAVE_49)


def test_bins_and_soil_thresholds_include_their_edge() -> None:
    assert indices.needs_emptying(80.0, 80.0)
    assert not indices.needs_emptying(79.9, 80.0)
    assert indices.needs_watering(20.0, 20.0)
    assert not indices.needs_watering(20.1, 20.0)


def test_every_published_measure_but_pressure_extras_has_a_sensor_model_with_its_source() -> None:
    for metric in METRICS:
        assert models_for(metric), metric
    for model in SENSOR_MODELS:
        assert model.source
        assert all(model.accuracy)
    assert [m.name for m in models_for("pm25_ugm3")] == ["Plantower PMS5003", "Nova Fitness SDS011"]
    assert is_humid(HUMID_RH_PCT)
    assert not is_humid(HUMID_RH_PCT - 0.1)


def _message_keys(path: Path) -> list[str]:
    """Every key of every dict literal assigned at the top of a messages module."""
    keys: list[str] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Dict):
            keys += [k.value for k in value.keys if isinstance(k, ast.Constant)]
    return keys


def test_no_two_message_tables_define_the_same_key() -> None:
    seen: dict[str, str] = {}
    twice = []
    files = sorted(WEB.glob("messages*.py"))
    assert len(files) >= 6
    for path in files:
        for key in _message_keys(path):
            if key in seen:
                twice.append(f"{key}: {seen[key]} and {path.name}")
            seen[key] = path.name
    assert twice == []
