"""A small territory, built only through the fleet's public HTTP API (as in production).

Works with the in-process TestClient and with an httpx.Client on a real server: zones with
their centroids, three sensor profiles, two enrolled gateways, claimed nodes in every state
(online, offline, never seen, revoked, low battery, a spike of rejected messages), their
health, and published aggregates (one suppressed cell, one metric that is CSV-only).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.fleet.gwsim import API, GatewaySim

Client = TestClient | httpx.Client

# a few quartiers of Angers (data/zones/angers-quartiers.geojson), with their centroids
ZONES = (
    ("centre", "Centre-ville - La Fayette - Éblé", 47.4700, -0.5510, "gw-a"),
    ("doutre", "Doutre - Saint-Jacques - Nazareth", 47.4740, -0.5640, "gw-a"),
    ("belle-beille", "Belle-Beille", 47.4780, -0.6000, "gw-b"),
    ("monplaisir", "Monplaisir", 47.4900, -0.5350, "gw-b"),
)
PROFILES: dict[str, dict[str, Any]] = {
    "air-quality": {
        "name": "Station qualité de l'air",
        "measures": ["temp_c", "rh_pct", "p_hpa", "pm25_ugm3", "pm10_ugm3"],
        "purpose": "Mesurer la qualité de l'air pour les études de santé publique",
        "personal_data": False,
        "personal_data_processing": "",
    },
    "noise": {
        "name": "Sonomètre",
        "measures": ["laeq_db", "lamax_db"],
        "purpose": "Suivre le bruit ambiant des rues",
        "personal_data": False,
        "personal_data_processing": "Aucun son n'est enregistré : seul le niveau en dB(A) sort.",
    },
    "people": {
        "name": "Compteur de passages",
        "measures": ["people_n"],
        "purpose": "Compter les passages pour adapter l'aménagement des rues",
        "personal_data": True,
        "personal_data_processing": "Identifiants Wi-Fi/BLE hachés avec un sel détruit "
        "à chaque fenêtre de comptage ; seul le nombre sort du capteur.",
    },
}
HOUR = 3600


@dataclass
class Territory:
    client: Client
    admin: dict[str, str]
    gateways: dict[str, GatewaySim]
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # node id -> claim answer
    online: list[str] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    never_seen: list[str] = field(default_factory=list)
    low_battery: list[str] = field(default_factory=list)
    spiking: list[str] = field(default_factory=list)
    batch_seq: int = 0

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = self.client.post(f"{API}{path}", json=body, headers=self.admin)
        assert r.status_code in (200, 201), r.text
        return r.json()

    def claim(self, zone: str, gateway: str, profile: str) -> str:
        codes = self.post(
            "/claim-codes", {"zone_id": zone, "gateway_id": gateway, "profile_id": profile}
        )
        r = self.client.post(f"{API}/claim", json={"code": codes[0]["code"]})
        assert r.status_code == 201, r.text
        node_id = str(r.json()["node_id"])
        self.nodes[node_id] = r.json()
        return node_id

    def ingest(self, gateway: str, **batch: Any) -> dict[str, Any]:
        self.batch_seq += 1
        body = {"batch_id": f"seed-{self.batch_seq}-{time.time_ns()}", **batch}
        r = self.gateways[gateway].ingest(self.client, body)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


def health(
    node_id: str,
    *,
    last_seen: int,
    battery_v: float | None = 3.9,
    rssi: int | None = -67,
    fw: str = "0.2.0",
    buffered: int = 0,
    rejected: dict[str, int] | None = None,
) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "last_seen": last_seen,
        "battery_v": battery_v,
        "rssi": rssi,
        "fw": fw,
        "slot": "a",
        "boot": 3,
        "buffered": buffered,
        "rejected": rejected or {},
    }


def build_territory(client: Client, admin: dict[str, str]) -> Territory:
    """Zones, profiles, gateways and nodes; no health or aggregates yet."""
    gateways: dict[str, GatewaySim] = {}
    terr = Territory(client=client, admin=admin, gateways=gateways)
    for zone_id, name, lat, lon, _gw in ZONES:
        terr.post("/zones", {"id": zone_id, "name": name, "lat": lat, "lon": lon})
    for profile_id, p in PROFILES.items():
        terr.post(
            "/profiles",
            {
                "id": profile_id,
                **p,
                "legal_basis": "Mission d'intérêt public (RGPD art. 6.1.e)",
                "operator_name": "Angers Loire Métropole",
                "contact": "capteurs@angersloiremetropole.fr",
                "retention": "Relevés bruts 72 h sur la passerelle ; agrégats 10 ans",
            },
        )
    for gw_id, name in (("gw-a", "Passerelle Centre"), ("gw-b", "Passerelle Ouest")):
        created = terr.post("/gateways", {"id": gw_id, "name": name})
        sim = GatewaySim(gw_id)
        r = sim.enroll(client, created["enroll_token"])
        assert r.status_code == 200, r.text
        gateways[gw_id] = sim
    return terr


def seed(
    client: Client, admin: dict[str, str], *, rounds: int = 1, pause_s: float = 0
) -> Territory:
    """The whole territory: ``rounds`` health reports per node (``pause_s`` apart, so the
    fleet's health history gets several samples), then aggregates."""
    terr = build_territory(client, admin)
    kinds = ("air-quality", "air-quality", "noise", "people")
    for i, (zone_id, _name, _lat, _lon, gw) in enumerate(ZONES):
        for j in range(3):
            terr.claim(zone_id, gw, kinds[(i + j) % len(kinds)])
    ids = sorted(terr.nodes)
    terr.never_seen = ids[-2:]
    terr.offline = ids[:2]
    terr.low_battery = [ids[2]]
    terr.spiking = [ids[3]]
    terr.online = [n for n in ids if n not in terr.never_seen + terr.offline]
    for round_no in range(rounds):
        now = int(time.time())
        by_gw: dict[str, list[dict[str, Any]]] = {}
        for k, node_id in enumerate(ids):
            if node_id in terr.never_seen:
                continue
            gw = terr.nodes[node_id]["gateway_id"]
            seen = now - 2 * HOUR if node_id in terr.offline else now - 5
            battery = 3.2 - 0.02 * round_no if node_id in terr.low_battery else 3.95 - 0.01 * k
            rejected = {"bad_mac": 15 * (round_no + 1) + 20} if node_id in terr.spiking else {}
            by_gw.setdefault(gw, []).append(
                health(
                    node_id,
                    last_seen=seen,
                    battery_v=round(battery, 2),
                    rssi=-60 - k - round_no,
                    fw="0.1.0" if k % 4 == 0 else "0.2.0",
                    buffered=(round_no * 3 + k) % 7,
                    rejected=rejected,
                )
            )
        for gw, items in by_gw.items():
            terr.ingest(gw, health=items)
        if pause_s and round_no < rounds - 1:
            time.sleep(pause_s)
    publish_aggregates(terr)
    return terr


def _env_cell(zone: str, metric: str, start: int, mean: float, spread: float) -> dict[str, Any]:
    return {
        "zone": zone,
        "metric": metric,
        "start": start,
        "period_s": HOUR,
        "n": 57,
        "mean": mean,
        "min": None,  # never published: in a small cell it is one node's reading
        "max": None,
        "p95": round(mean + spread * 0.8, 2),
        "people": None,
        "suppressed": False,
        "suppressed_reason": None,
        "dp": None,  # environmental values are not noised (docs/privacy.md)
    }


def publish_aggregates(terr: Territory, hours: int = 3) -> None:
    """Hourly cells for every zone: environment, people, a CSV-only metric, a suppressed cell."""
    start0 = (int(time.time()) // HOUR - hours) * HOUR
    by_gw: dict[str, list[dict[str, Any]]] = {}
    for zone_id, _name, _lat, _lon, gw in ZONES:
        cells = by_gw.setdefault(gw, [])
        for h in range(hours):
            start = start0 + h * HOUR
            for metric, mean, spread in (
                ("temp_c", 21.5 + h, 1.5),
                ("rh_pct", 64.5, 5.0),
                ("p_hpa", 1013.2, 0.6),
                ("pm25_ugm3", 12.3, 4.0),
                ("pm10_ugm3", 20.1, 6.0),
                ("laeq_db", 61.2, 8.0),
                ("lamax_db", 70.0, 15.0),
                ("soil_pct", 31.0, 1.0),
            ):
                cells.append(_env_cell(zone_id, metric, start, mean, spread))
            none = dict.fromkeys(("n", "mean", "min", "max", "p95", "people", "dp"))
            people = {**none, "metric": "people_n", "n": 41, "people": 137 + h}
            people["dp"] = {
                "mechanism": "discrete_laplace",
                "epsilon": 0.33,
                "scale": 2 / 0.33,
                "ci90": [137 + h - 14, 137 + h + 14],
            }
            people.update(suppressed=False, suppressed_reason=None)
            cells.append({"zone": zone_id, "start": start, "period_s": HOUR, **people})
            hidden = {**none, "metric": "fill_pct", "suppressed": True}
            hidden["suppressed_reason"] = "too_few_nodes"
            cells.append({"zone": zone_id, "start": start, "period_s": HOUR, **hidden})
    for gw, cells in by_gw.items():
        result = terr.ingest(gw, aggregates=cells)
        assert result["ignored"] == 0, result
