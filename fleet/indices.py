"""Plain-language indices from published figures: pure functions of values, with the band
tables and their sources as data (docs/dashboard.md, "Indices").

- Particles: the French ATMO sub-index (arrêté du 10 juillet 2020, annexe I) on a day's mean,
  and the WHO 2021 air quality guideline values.
- Noise: Lden and Lnight computed from a day's hourly LAeq (day, evening and night as France
  defines them for noise maps), against the WHO 2018 guidelines for road traffic noise.
- Heat: Météo-France's biometeorological indicators (IBMn, IBMx: three-day means of the daily
  minima and maxima) against the thresholds used for Maine-et-Loire.
- Bins and soil: a profile's own threshold ("needs emptying", "needs watering").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ATMO_BANDS",
    "ATMO_COLOURS",
    "ATMO_LABELS",
    "HEATWAVE_49",
    "LDEN_PERIODS",
    "SOURCES",
    "WHO_AIR",
    "WHO_NOISE_ROAD",
    "Guideline",
    "Heatwave",
    "Source",
    "atmo_band",
    "energy_mean",
    "heatwave",
    "lden",
    "lnight",
    "needs_emptying",
    "needs_watering",
    "over_guideline",
]


@dataclass(frozen=True, slots=True)
class Source:
    title: str  # as the source names itself
    publisher: str
    url: str


SOURCES: dict[str, Source] = {
    "atmo": Source(
        "Arrêté du 10 juillet 2020 relatif à l'indice de la qualité de l'air ambiant, annexe I",
        "Ministère de la Transition écologique (Légifrance, NOR TRER2017892A)",
        "https://www.legifrance.gouv.fr/loda/id/JORFTEXT000042164835/",
    ),
    "who_air": Source(
        "WHO global air quality guidelines: particulate matter (PM2.5 and PM10), ozone, "
        "nitrogen dioxide, sulfur dioxide and carbon monoxide (2021), table 0.1",
        "World Health Organization",
        "https://www.who.int/publications/i/item/9789240034228",
    ),
    "who_noise": Source(
        "Environmental Noise Guidelines for the European Region (2018), road traffic noise",
        "WHO Regional Office for Europe",
        "https://www.who.int/europe/publications/i/item/9789289053563",
    ),
    "lden": Source(
        "Directive 2002/49/CE, annexe I (Lden, Lnight); in France day 6 h-18 h, evening "
        "18 h-22 h, night 22 h-6 h (arrêté du 4 avril 2006 relatif aux cartes de bruit)",
        "European Union; Ministère de la Transition écologique",
        "https://eur-lex.europa.eu/eli/dir/2002/49/oj",
    ),
    "heatwave": Source(
        "Vigilance météorologique canicule: indicateurs biométéorologiques (IBMn, IBMx) and "
        "their departmental thresholds",
        "Météo-France (with Santé publique France)",
        "https://vigilance.meteofrance.fr/",
    ),
}

# ATMO sub-index qualifiers, best first, and the colours of the ATMO charter
ATMO_LABELS = ("good", "fair", "degraded", "poor", "very_poor", "extremely_poor")
ATMO_COLOURS = ("#50f0e6", "#50ccaa", "#f0e641", "#ff5050", "#960032", "#872181")
# upper bounds (µg/m³, inclusive: "concentration ≤ 10 : bon", "10 < concentration ≤ 20 :
# moyen", ...) on the day's mean; above the last one: extremely poor
ATMO_BANDS: dict[str, tuple[float, float, float, float, float]] = {
    "pm25_ugm3": (10.0, 20.0, 25.0, 50.0, 75.0),
    "pm10_ugm3": (20.0, 40.0, 50.0, 100.0, 150.0),
}


@dataclass(frozen=True, slots=True)
class Guideline:
    day: float  # 24-hour mean (99th percentile of a year's daily means)
    year: float  # annual mean


WHO_AIR: dict[str, Guideline] = {
    "pm25_ugm3": Guideline(day=15.0, year=5.0),
    "pm10_ugm3": Guideline(day=45.0, year=15.0),
}
# WHO 2018, road traffic: Lden 53 dB, Lnight 45 dB (strong recommendations; annual averages)
WHO_NOISE_ROAD = {"lden": 53.0, "lnight": 45.0}
# (first hour, hours, penalty in dB): local clock hours, as France maps noise
LDEN_PERIODS: tuple[tuple[int, int, float], ...] = ((6, 12, 0.0), (18, 4, 5.0), (22, 8, 10.0))
# Maine-et-Loire (49): IBMn 18 °C, IBMx 34 °C, the value used here (see the index page)
HEATWAVE_49 = (18.0, 34.0)


def atmo_band(metric: str, daily_mean: float) -> int:
    """The ATMO sub-index of a day's mean: 0 (good) to 5 (extremely poor)."""
    for i, upper in enumerate(ATMO_BANDS[metric]):
        if daily_mean <= upper:
            return i
    return len(ATMO_LABELS) - 1


def over_guideline(value: float, guideline: float) -> float:
    """How many times the guideline value ``value`` is (1.0: at it)."""
    return value / guideline


def energy_mean(levels: Sequence[float]) -> float:
    """The equivalent level of equal-length periods: the mean of their energies, in dB."""
    return 10 * math.log10(sum(10 ** (lv / 10) for lv in levels) / len(levels))


def _hours_of(first: int, count: int) -> list[int]:
    return [(first + i) % 24 for i in range(count)]


def lden(hourly: Mapping[int, float]) -> float | None:
    """Lden of one day from its hourly LAeq by local hour (0-23): the energy mean of the 24
    hours, evening hours counted 5 dB and night hours 10 dB louder. None unless every hour of
    the day has its LAeq: a missing hour would bias it towards the hours we have."""
    if any(h not in hourly for h in range(24)):
        return None
    weighted = [
        hourly[h] + penalty
        for first, count, penalty in LDEN_PERIODS
        for h in _hours_of(first, count)
    ]
    return energy_mean(weighted)


def lnight(hourly: Mapping[int, float]) -> float | None:
    """Lnight: the energy mean of the 8 night hours (22 h-6 h), when all are there."""
    first, count, _ = LDEN_PERIODS[-1]
    hours = _hours_of(first, count)
    if any(h not in hourly for h in hours):
        return None
    return energy_mean([hourly[h] for h in hours])


@dataclass(frozen=True, slots=True)
class Heatwave:
    ibm_min: float  # mean of the three daily minima
    ibm_max: float  # mean of the three daily maxima
    reached: bool  # both thresholds reached: the level of an orange heatwave vigilance


def heatwave(days: Sequence[tuple[float, float]], thresholds: tuple[float, float]) -> Heatwave:
    """The IBM of three consecutive days' (minimum, maximum) temperatures against the
    (IBMn, IBMx) thresholds; reached when both means are at or above their threshold."""
    if len(days) != 3:
        raise ValueError("the IBM is a three-day mean")
    ibm_min = sum(d[0] for d in days) / 3
    ibm_max = sum(d[1] for d in days) / 3
    return Heatwave(ibm_min, ibm_max, ibm_min >= thresholds[0] and ibm_max >= thresholds[1])


def needs_emptying(fill_pct: float, threshold_pct: float) -> bool:
    return fill_pct >= threshold_pct


def needs_watering(soil_pct: float, threshold_pct: float) -> bool:
    return soil_pct <= threshold_pct
