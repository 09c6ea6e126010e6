"""The measurement registry: every metric key, its unit, wire precision and plausible range.

The key carries its unit so a reading is self-describing on the wire (``temp_c`` is °C).
Ranges are the sensor's physical range: a value outside is rejected as ``out_of_range``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BATTERY", "FLAGS", "METRICS", "Metric"]


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    unit: str
    decimals: int
    lo: float
    hi: float
    label_fr: str
    label_en: str
    # a count of people is personal-data-derived: it gets small-count suppression and noise
    is_count: bool = False


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("temp_c", "°C", 2, -40.0, 85.0, "Température de l'air", "Air temperature"),
        Metric("rh_pct", "%", 1, 0.0, 100.0, "Humidité relative", "Relative humidity"),
        Metric("p_hpa", "hPa", 1, 300.0, 1100.0, "Pression atmosphérique", "Air pressure"),
        Metric("pm25_ugm3", "µg/m³", 1, 0.0, 1000.0, "Particules PM2,5", "Particles PM2.5"),
        Metric("pm10_ugm3", "µg/m³", 1, 0.0, 1000.0, "Particules PM10", "Particles PM10"),
        Metric("laeq_db", "dB(A)", 1, 20.0, 140.0, "Niveau sonore équivalent", "Sound level LAeq"),
        Metric("lamax_db", "dB(A)", 1, 20.0, 140.0, "Niveau sonore maximal", "Maximum sound level"),
        Metric("people_n", "count", 0, 0, 100000, "Passages de personnes", "People passing", True),
        Metric("fill_pct", "%", 0, 0.0, 100.0, "Remplissage du conteneur", "Bin fill level"),
        Metric("soil_pct", "%", 1, 0.0, 100.0, "Humidité du sol", "Soil moisture"),
    )
}

# Battery voltage travels as its own top-level field ("bat"), not as a measurement.
BATTERY = Metric("bat_v", "V", 2, 0.0, 5.0, "Tension de la batterie", "Battery voltage")

# Flags travel in "m" beside the metrics, value 1, present only when set. They qualify the
# reading's metrics and are never aggregated or published: people_sat says the node's table of
# distinct devices filled in the window, so people_n is its capacity, a lower bound.
FLAGS: dict[str, Metric] = {
    "people_sat": Metric("people_sat", "flag", 0, 1, 1, "Compteur saturé", "Counter saturated"),
}
