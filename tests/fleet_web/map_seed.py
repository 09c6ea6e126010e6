"""What the map tests add to the seeded territory, through the fleet's API as in production:
the quartiers' outlines (data/zones/angers-quartiers.geojson) and cells that differ by zone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from protocol.published_cells import build_cell
from protocol.zones import load_zones_file
from tests.fleet.gwsim import API
from tests.fleet_web.seed import HOUR, ZONES, Territory

ROOT = Path(__file__).resolve().parents[2]
ZONES_FILE = ROOT / "data" / "zones" / "angers-quartiers.geojson"
# a fine-particle hour a day ago, a different figure per zone: lowest to highest
PM25 = {"centre": 8.0, "doutre": 14.0, "belle-beille": 20.0, "monplaisir": 32.0}


def outline_zones(terr: Territory) -> None:
    """Each seeded zone gets its outline from the demo's zones file (PATCH /zones/{id})."""
    outlines = {z.id: z.boundary for z in load_zones_file(ZONES_FILE)}
    for zone_id, *_ in ZONES:
        r = terr.client.patch(
            f"{API}/zones/{zone_id}", json={"boundary": outlines[zone_id]}, headers=terr.admin
        )
        assert r.status_code == 200, r.text


def pm25_hour() -> int:
    return (int(time.time()) // HOUR - 24) * HOUR


def publish_pm25(terr: Territory) -> int:
    """One hourly PM2.5 cell per zone, a day ago, each zone its own value; the hour's start."""
    start = pm25_hour()
    by_gw: dict[str, list[dict[str, Any]]] = {}
    for zone_id, _name, _lat, _lon, gw in ZONES:
        by_gw.setdefault(gw, []).append(
            build_cell(zone=zone_id, metric="pm25_ugm3", start=start, period_s=HOUR, n=40,
                       mean=PM25[zone_id], p95=None, people=None, reason=None, dp=None,
                       p95_min_samples=20)
        )
    for gw, cells in by_gw.items():
        assert terr.ingest(gw, aggregates=cells)["ignored"] == 0
    return start
