"""The public register and open data: no login, nothing that names a node or a host."""

from __future__ import annotations

import csv
import io

from tests.fleet.gwsim import API, World
from tests.fleet.test_ingest import aggregate, health

REGISTER_FIELDS = {
    "id",
    "type",
    "measures",
    "measures_labels",
    "purpose",
    "legal_basis",
    "operator",
    "contact",
    "personal_data",
    "personal_data_processing",
    "zone_id",
    "zone_name",
    "retention",
    "installed_month",
    "active_until_month",
    "status",
}


def test_register_lists_every_sensor_without_login(world: World) -> None:
    a = world.claim()["node_id"]
    world.claim()
    world.client.patch(f"{API}/nodes/{a}", json={"label": "12 rue Secrète"}, headers=world.admin)
    world.gw_a.ingest(world.client, {"batch_id": "h", "health": [health(a)]})
    r = world.client.get(f"{API}/public/register")
    assert r.status_code == 200
    entries = r.json()["data"]
    assert len(entries) == 2
    assert set(entries[0]) == REGISTER_FIELDS
    assert {e["status"] for e in entries} == {"active", "inactive"}
    assert entries[0]["measures"] == ["temp_c", "rh_pct", "pm25_ugm3"]
    assert entries[0]["legal_basis"].startswith("Public interest")
    assert "ang-000" not in r.text
    assert "Secrète" not in r.text
    assert "gw-a" not in r.text


def test_register_marks_revoked_sensor_removed(world: World) -> None:
    a = world.claim()["node_id"]
    world.client.post(f"{API}/nodes/{a}/revoke", headers=world.admin)
    [entry] = world.client.get(f"{API}/public/register").json()["data"]
    assert entry["status"] == "removed"


def test_aggregates_csv_has_header_and_rows(world: World) -> None:
    world.claim()
    cells = [aggregate(world.zone, start=1764259200 + i * 3600) for i in range(3)]
    world.gw_a.ingest(world.client, {"batch_id": "c", "aggregates": cells})
    r = world.client.get(f"{API}/public/aggregates.csv?zone={world.zone}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 3
    assert rows[0]["metric"] == "temp_c"
    assert rows[0]["unit"] == "°C"
    assert "gateway" not in r.text


def test_aggregates_filter_and_page(world: World) -> None:
    world.claim()
    cells = [aggregate(world.zone, start=1764259200 + i * 3600) for i in range(5)]
    world.gw_a.ingest(world.client, {"batch_id": "p", "aggregates": cells})
    first = world.client.get(f"{API}/public/aggregates?limit=2").json()
    second = world.client.get(f"{API}/public/aggregates?limit=2&after={first['next_cursor']}")
    starts = [c["start"] for c in first["data"] + second.json()["data"]]
    assert starts == sorted(set(starts))
    assert len(starts) == 4
    since = world.client.get(f"{API}/public/aggregates?since={1764259200 + 3 * 3600}").json()
    assert len(since["data"]) == 2


def test_metrics_list_matches_the_protocol_registry(world: World) -> None:
    from protocol.metrics import METRICS

    keys = [m["key"] for m in world.client.get(f"{API}/public/metrics").json()]
    assert keys == list(METRICS)
