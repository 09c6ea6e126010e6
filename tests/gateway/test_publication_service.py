"""Issue 12 through the real gateway (its Mosquitto, store, listeners): the ledger commits
before any cell is visible, /metrics stays off the public listener, the quarantine keeps no
measurement and nothing past the raw retention, and the fleet's allotment reaches the ledger."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway import allotment
from gateway.config import (
    AggregationSettings,
    FleetSettings,
    PrivacySettings,
    PublishSettings,
    StorageSettings,
)
from gateway.privacy_budget import budget_day, day_span
from gateway.service import Gateway
from hil_tests.fleet_standin import FleetStandIn
from protocol.codec import Reading, encode_reading, sign
from protocol.topics import node_topic
from tests.gateway.harness import (
    make_settings,
    node_client,
    reading,
    running_gateway,
    secret_of,
    wait_for,
)

ZONES = str(Path(__file__).resolve().parents[2] / "data" / "zones" / "angers-quartiers.geojson")
NODES = [("ang-0001", "centre"), ("ang-0002", "centre"), ("ang-0003", "centre")]


def _settings(tmp_path: Path, **privacy: Any) -> Any:
    # hourly windows closed by hand (publish_once), never by the loop
    return make_settings(
        tmp_path,
        aggregation=AggregationSettings(window_s=3600, grace_s=60),
        publish=PublishSettings(interval_s=3600, zones_file=ZONES),
        privacy=PrivacySettings(**{"k_people": 1, **privacy}),
    )


async def _readings(s: Any, t: int) -> None:
    for node_id, _zone in NODES:
        async with node_client(s, node_id) as node:
            for c in range(1, 4):
                await node.publish(node_topic(node_id, "reading"),
                                   reading(node_id, c, t=t + c), qos=1)


def _outbox_cells(db: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT body FROM outbox WHERE kind='aggregate'").fetchall()
    return [orjson.loads(b) for (b,) in rows]


async def test_a_failed_commit_shows_nothing_and_a_restart_gives_one_value_per_cell(
    tmp_path: Path,
) -> None:
    """The audit's attack: a commit failure, then a restart, drew five values for one cell
    (served by /opendata before the ledger was saved). The failure is injected in the real
    SQLite (a trigger refusing the queueing of cells)."""
    s = _settings(tmp_path)
    t = int(time.time()) // 3600 * 3600 - 7200  # two hours ago: a closed window
    db = Path(s.data_dir) / "gateway.db"
    async with running_gateway(s, NODES) as gw:
        await _readings(s, t)
        await wait_for(lambda: gw.metrics.accepted == 9)
        gw.store.db.execute("CREATE TRIGGER refuse BEFORE INSERT ON outbox "
                            "BEGIN SELECT RAISE(ABORT, 'injected commit failure'); END")
        with pytest.raises(sqlite3.IntegrityError, match="injected"):
            await gw.publish_once(time.time())
        # nothing visible: not in open data, not queued, no budget recorded as spent
        async with httpx.AsyncClient() as http:
            csv = await http.get(f"http://127.0.0.1:{s.opendata.port}/opendata/aggregates.csv")
        assert csv.text.strip().count("\n") == 0, csv.text
        assert gw.publisher.recent == []
        assert gw.store.kv_get("privacy_ledger") is None
        gw.store.db.execute("DROP TRIGGER refuse")
    # the restart: readings replayed, the window decided once
    values: dict[tuple[str, str, int], set[object]] = {}
    for _ in range(3):
        gw2 = Gateway(s)
        await gw2.publish_once(time.time())
        gw2.store.close()
    for cell in _outbox_cells(db):
        key = (cell["zone"], cell["metric"], cell["start"])
        values.setdefault(key, set()).add(orjson.dumps(cell))
    assert values, "the window was published after the restart"
    assert all(len(v) == 1 for v in values.values()), values
    assert {k[1] for k in values} == {"temp_c", "people_n"}


async def test_metrics_are_not_served_on_the_public_listener(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    async with running_gateway(s, NODES[:1]), httpx.AsyncClient() as http:
        public = f"http://127.0.0.1:{s.opendata.port}"
        operator = f"http://127.0.0.1:{s.http.port}"
        assert (await http.get(public + "/metrics")).status_code == 404
        assert (await http.get(public + "/opendata/aggregates.csv")).status_code == 200
        metrics = await http.get(operator + "/metrics")
        assert metrics.status_code == 200
        assert "territoire_gateway" in metrics.text
        assert (await http.get(operator + "/opendata/aggregates.csv")).status_code == 404


async def test_the_quarantine_keeps_no_measurement_and_nothing_past_the_retention(
    tmp_path: Path,
) -> None:
    s = replace(_settings(tmp_path), storage=StorageSettings(retention_h=1.0,
                                                             purge_interval_s=3600))
    async with running_gateway(s, NODES[:1]) as gw:
        # genuine signed readings refused: a value out of range, and one measured too far ahead
        body = encode_reading("ang-0001", 1, 1, int(time.time()), "0.1.0",
                              [("pm10_ugm3", 1812.5), ("people_n", 7)])
        ahead = encode_reading("ang-0001", 1, 2, int(time.time()) + 9999, "0.1.0",
                               [("temp_c", 21.37)])
        async with node_client(s, "ang-0001") as node:
            for b in (body, ahead):
                await node.publish(node_topic("ang-0001", "reading"),
                                   sign(secret_of("ang-0001"), b), qos=1)
        await wait_for(lambda: len(gw.store.quarantined()) == 2)
        rows = gw.store.quarantined()
        for _at, node_id, reason, detail, size in rows:
            assert node_id == "ang-0001"
            assert reason in ("out_of_range", "clock_skew")
            assert "1812" not in detail
            assert "21.37" not in detail
            assert size > 0
        with sqlite3.connect(Path(s.data_dir) / "gateway.db") as conn:
            dump = "\n".join(conn.iterdump())
        assert "1812" not in dump  # no column anywhere holds the refused payload
        assert "21.37" not in dump
        # the real purge, two hours later: the refusals go with the raw readings
        await gw.db.run(lambda: gw.housekeeping.purge(time.time() + 2 * 3600))
        assert gw.store.quarantined() == []


async def test_the_allotment_from_the_fleet_caps_the_zones_epsilon(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    gw = Gateway(replace(s, fleet=FleetSettings(url="http://unused")))
    try:
        with FleetStandIn(gw.identity.signing.public_key(), {"centre": 2.4}) as fleet:
            async with httpx.AsyncClient(base_url=fleet.url) as client:
                await gw.sync_fleet_once(client)
        allot = allotment.load(gw.store)
        assert allot is not None
        assert allot.zone_epsilon == {"centre": 2.4}
        # readings of three counters in centre and in doutre, two hours ago, then publication
        t = int(time.time()) // 3600 * 3600 - 7200
        gw.publisher.add([(Reading(f"n{z}{i}", 1, 1, t + i, "1", {"people_n": 40.0}), z, 0.0)
                          for i in range(3) for z in ("centre", "doutre")], 0)
        await gw.publish_once(time.time())
        day = budget_day(t, s.privacy.budget_tz)
        d0, d1 = day_span(day, s.privacy.budget_tz)
        hour_share = 2_400_000 * 3600 // (d1 - d0)  # an hour's share of the 2.4 allotted
        assert hour_share - 1 <= gw.publisher.ledger.spent_micro("centre", day) <= hour_share
        # doutre: allotted nothing, so nothing is drawn, spent or shown
        assert gw.publisher.ledger.spent_micro("doutre", day) == 0
        cells = _outbox_cells(Path(s.data_dir) / "gateway.db")
        (doutre,) = [c for c in cells if c["zone"] == "doutre"]
        assert doutre["suppressed_reason"] == "budget_exhausted"
        assert doutre["dp"] is None
    finally:
        gw.store.close()
