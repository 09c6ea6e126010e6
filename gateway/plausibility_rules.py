"""What each sensor model can physically report, per metric, with the sources: the table the
gateway's plausibility checks judge readings against (gateway/plausibility.py; their tunable
limits are ``PlausibilitySettings`` in gateway/config.py). Physics, not configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PLAUSIBILITY", "MetricRule"]


@dataclass(frozen=True, slots=True)
class MetricRule:
    """What one sensor can physically report for a metric (gateway/plausibility.py).

    ``lo``/``hi``: the sensor model's measuring range (the wire range of protocol/metrics.py
    is wider, it covers every model). ``step_per_min`` and ``step_tolerance``: a change
    larger than ``step_per_min * dt / 60 + step_tolerance`` from the node's last plausible
    value is suspect (None: the quantity can jump, e.g. a truck passing a microphone).
    ``stuck_n``/``stuck_s``: the same value this many readings in a row spanning at least
    this many seconds is a stuck sensor (0: the metric is not noisy enough to tell).
    """

    lo: float
    hi: float
    step_per_min: float | None
    step_tolerance: float
    stuck_n: int
    stuck_s: int
    source: str


# Sources: Bosch BME280 datasheet BST-BME280-DS002 (operating ranges, noise); Plantower
# PMS5003 datasheet 2016 ("effective range 0-500 ug/m3, maximum >= 1000") and Nova SDS011
# datasheet V1.3 (0-999.9 ug/m3); InvenSense INMP441 / ICS-43434 datasheets (noise floor
# 33 / 29 dB(A), acoustic overload 120 dB SPL); step limits: WMO-No. 8 (2018), Vol. I,
# Annex 1.D, and WMO-No. 488 Guide on the GOS, "step test" maximum variability between
# 1-min values (air temperature 3 K, relative humidity 10 %, pressure 0.5 hPa).
PLAUSIBILITY: dict[str, MetricRule] = {
    "temp_c": MetricRule(-40.0, 85.0, 3.0, 0.5, 60, 3600, "BME280; WMO step test"),
    "rh_pct": MetricRule(0.0, 100.0, 10.0, 3.0, 60, 3600, "BME280; WMO step test"),
    "p_hpa": MetricRule(300.0, 1100.0, 0.5, 0.5, 0, 0, "BME280; WMO step test"),
    "pm25_ugm3": MetricRule(0.0, 1000.0, None, 0.0, 0, 0, "PMS5003 / SDS011"),
    "pm10_ugm3": MetricRule(0.0, 1000.0, None, 0.0, 0, 0, "PMS5003 / SDS011"),
    "laeq_db": MetricRule(29.0, 120.0, None, 0.0, 30, 1800, "INMP441 / ICS-43434"),
    "lamax_db": MetricRule(29.0, 120.0, None, 0.0, 30, 1800, "INMP441 / ICS-43434"),
    "people_n": MetricRule(0, 100000, None, 0.0, 0, 0, "BLE scan table (firmware)"),
    "fill_pct": MetricRule(0.0, 100.0, None, 0.0, 0, 0, "HC-SR04 / JSN-SR04T, clamped"),
    "soil_pct": MetricRule(0.0, 100.0, None, 0.0, 0, 0, "capacitive probe, clamped"),
}
