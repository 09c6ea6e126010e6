"""A territory for the index pages, through the fleet's API as in production: the seeded zones
and gateways, bin and soil profiles with thresholds, nodes with readings held back by their
gateway, and whole days of hourly cells ending yesterday (the territory's calendar):

- particles yesterday, a different ATMO band per zone, humid hours in Monplaisir;
- sound levels yesterday, all 24 hours in the centre (day 65, evening 60, night 55 dB: Lden
  65 dB, Lnight 55 dB), 12 hours in Doutre;
- temperatures for the three days before today, a heatwave in the centre only;
- the latest bin fill and soil moisture.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from protocol.published_cells import build_cell
from tests.fleet_web.seed import HOUR, PROFILES, ZONES, Territory, build_territory, health

TZ = ZoneInfo("Europe/Paris")
PM25 = {"centre": 8.0, "doutre": 14.0, "belle-beille": 22.0, "monplaisir": 60.0}
PM25_BANDS = {"centre": "good", "doutre": "fair", "belle-beille": "degraded",
              "monplaisir": "very_poor"}  # fmt: skip
PM10 = {"centre": 15.0, "doutre": 30.0, "belle-beille": 45.0, "monplaisir": 90.0}
HUMID_HOURS = 6  # Monplaisir's first hours yesterday at 82 % humidity
HEAT = {"centre": (19.0, 36.0), "doutre": (12.0, 25.0)}  # every day's (low, high)
FILL = {"centre": 85.0, "doutre": 40.0}
SOIL = {"centre": 15.0, "doutre": 45.0}
LEFT_OUT = {"suspect_bounds": 5, "suspect_rate": 2}  # one centre air sensor's held back
EXTRA_PROFILES: dict[str, dict[str, Any]] = {
    "bins": {
        "name": "Capteur de remplissage",
        "measures": ["fill_pct"],
        "purpose": "Vider les conteneurs quand ils sont pleins",
        "fill_alert_pct": 80.0,
    },
    "soil": {
        "name": "Sonde d'humidité du sol",
        "measures": ["soil_pct"],
        "purpose": "Arroser les massifs quand le sol est sec",
        "soil_alert_pct": 20.0,
    },
}


@dataclass
class IndexTerritory:
    terr: Territory
    yesterday: date
    left_out_node: str


def day_start(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=TZ).timestamp())


def hours_of(d: date) -> list[int]:
    """The hour starts of local day ``d`` (23 or 25 on a DST day)."""
    start, end = day_start(d), day_start(d + timedelta(days=1))
    return list(range(start, end, HOUR))


def _cell(zone: str, metric: str, start: int, mean: float) -> dict[str, Any]:
    return build_cell(zone=zone, metric=metric, start=start, period_s=HOUR, n=40, mean=mean,
                      p95=None, people=None, reason=None, dp=None, p95_min_samples=20)  # fmt: skip


def _laeq(start: int) -> float:
    hour = datetime.fromtimestamp(start, TZ).hour
    return 65.0 if 6 <= hour < 18 else 60.0 if 18 <= hour < 22 else 55.0


def _cells(yesterday: date, now: int) -> dict[str, list[dict[str, Any]]]:
    gw_of = {z: gw for z, *_, gw in ZONES}
    by_gw: dict[str, list[dict[str, Any]]] = {}

    def add(zone: str, metric: str, start: int, mean: float) -> None:
        by_gw.setdefault(gw_of[zone], []).append(_cell(zone, metric, start, mean))

    for zone, *_ in ZONES:
        for i, start in enumerate(hours_of(yesterday)):
            add(zone, "pm25_ugm3", start, PM25[zone])
            add(zone, "pm10_ugm3", start, PM10[zone])
            humid = zone == "monplaisir" and i < HUMID_HOURS
            add(zone, "rh_pct", start, 82.0 if humid else 60.0)
            if zone == "centre" or (zone == "doutre" and i % 2 == 0):
                add(zone, "laeq_db", start, _laeq(start))
    for zone, (low, high) in HEAT.items():
        for back in (3, 2, 1):
            starts = hours_of(yesterday - timedelta(days=back - 1))
            for i, start in enumerate(starts):  # a low at dawn, a high mid-afternoon
                value = low + (high - low) * (1 - abs(i - 15) / 15)
                add(zone, "temp_c", start, round(max(low, value), 2))
    latest = (now // HOUR) * HOUR  # the current hour: the base seed publishes the past three
    for zone, fill in FILL.items():
        add(zone, "fill_pct", latest, fill)
        add(zone, "soil_pct", latest, SOIL[zone])
    return by_gw


def seed_indices(terr: Territory) -> IndexTerritory:
    """On a territory built by ``build_territory``: profiles, nodes, health, cells."""
    for profile_id, p in EXTRA_PROFILES.items():
        base = {k: v for k, v in PROFILES["air-quality"].items() if k not in p}
        terr.post("/profiles", {"id": profile_id, **base, **p, "legal_basis": "RGPD art. 6.1.e",
                                "operator_name": "Angers Loire Métropole",
                                "contact": "capteurs@angersloiremetropole.fr",
                                "retention": "Agrégats 10 ans"})  # fmt: skip
    nodes = {}
    for zone, *_, gw in ZONES:
        for kind in ("air-quality", "noise", "bins", "soil"):
            nodes[(zone, kind)] = terr.claim(zone, gw, kind)
    now = int(time.time())
    left_out_node = nodes[("centre", "air-quality")]
    for gw in ("gw-a", "gw-b"):
        items = []
        for node in nodes.values():
            if terr.nodes[node]["gateway_id"] != gw:
                continue
            item = health(node, last_seen=now - 5)
            if node == left_out_node:
                item["suspect"] = LEFT_OUT
            items.append(item)
        terr.ingest(gw, health=items)
    yesterday = datetime.fromtimestamp(now, TZ).date() - timedelta(days=1)
    for gw, cells in _cells(yesterday, now).items():
        for i in range(0, len(cells), 500):
            assert terr.ingest(gw, aggregates=cells[i : i + 500])["ignored"] == 0
    return IndexTerritory(terr, yesterday, left_out_node)


def index_territory(client: Any, admin: dict[str, str]) -> IndexTerritory:
    return seed_indices(build_territory(client, admin))
