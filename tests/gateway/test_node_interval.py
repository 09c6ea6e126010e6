"""Each node's rate cap from its own measuring interval (issue #13): the pure cap, the sync
page's field into the store (an older database gains the column), and the publisher's replay
after a restart deciding as the live intake did. Through the real Mosquitto and gateway, with
the interval given at the claim to a real fleet: tests/gateway/test_node_interval_attack.py."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.aggregate import ADDED, RATE_LIMITED, Aggregator, AggregatorSettings
from gateway.config import NodeRateSettings, PlausibilitySettings, PrivacySettings
from gateway.fleet_client import apply_sync_page, sync_interval
from gateway.node_rate import NodeRate, window_cap
from gateway.publisher import Publisher, apply
from gateway.registry import entries
from gateway.store import NodeRecord, Store
from protocol.codec import Reading

FIVE_MIN = AggregatorSettings(window_s=300)
T0 = 1_750_000_200  # a window start (multiple of 300)
NO_PLAUSIBILITY = PlausibilitySettings(enabled=False)
INTERVALS = {"slow": 60, "fast": 1}  # "other": not known


def reading(node: str, t: int, counter: int, temp: float = 8.0) -> Reading:
    return Reading(node, 1, counter, t, "1.0.0", {"temp_c": temp})


def _flood(agg: Aggregator, node: str, n: int, first: int = 1) -> list[str]:
    return [agg.add(reading(node, T0 + i % 300, first + i), "centre") for i in range(n)]


# ------------------------------------------------------------------------------ pure
def test_node_rate_asks_each_nodes_cap_and_falls_back_without_one() -> None:
    caps = {"a": 2, "b": 4}
    rate = NodeRate(3, lambda n: caps.get(n, 3))
    assert [rate.admit("a", T0) for _ in range(4)] == [True, True, False, False]
    assert [rate.admit("b", T0) for _ in range(5)] == [True] * 4 + [False]
    assert [rate.admit("c", T0) for _ in range(4)] == [True] * 3 + [False]
    caps["a"] = 3  # its interval changed mid-window: what it had stays, the new cap applies
    assert rate.admit("a", T0)
    assert not rate.admit("a", T0)


def test_each_node_is_capped_from_its_own_interval_and_an_unknown_one_from_the_fallback() -> None:
    # the fallback left at its default (1 s): a node at 60 s is cut far below it
    agg = Aggregator(FIVE_MIN, NodeRateSettings(), NO_PLAUSIBILITY, INTERVALS.get)
    slow_cap = window_cap(300, 60, 2.0)
    assert slow_cap == 10
    slow = _flood(agg, "slow", 100 * 5)  # 100x its rate: 500 in the window
    assert slow.count(ADDED) == slow_cap
    assert slow.count(RATE_LIMITED) == 500 - slow_cap
    # a node at 1 s sending each second: 300 in the window, none limited (its cap is 600)
    assert _flood(agg, "fast", 300) == [ADDED] * 300
    # not known: the fallback's cap (1 s, margin 2: 600)
    other = _flood(agg, "other", 700)
    assert other.count(ADDED) == window_cap(300, 1.0, 2.0) == 600
    assert agg.counters[RATE_LIMITED] == (500 - slow_cap) + 100


def test_without_intervals_every_node_gets_the_fallback_cap_as_before() -> None:
    agg = Aggregator(FIVE_MIN, NodeRateSettings(interval_s=60), NO_PLAUSIBILITY)
    assert _flood(agg, "slow", 30).count(ADDED) == 10
    assert _flood(agg, "fast", 30).count(ADDED) == 10


def test_a_restored_state_keeps_the_counts_and_caps_from_the_intervals() -> None:
    agg = Aggregator(FIVE_MIN, NodeRateSettings(), NO_PLAUSIBILITY, INTERVALS.get)
    assert _flood(agg, "slow", 6) == [ADDED] * 6
    state = json.loads(json.dumps(agg.to_state()))
    again = Aggregator.from_state(
        state, FIVE_MIN, NodeRateSettings(), NO_PLAUSIBILITY, INTERVALS.get
    )
    more = _flood(again, "slow", 10, first=7)
    assert more == [ADDED] * 4 + [RATE_LIMITED] * 6  # 6 + 4 = its cap of 10


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (60, 60),
        (1, 1),
        (86400, 86400),
        (None, None),
        (0, None),
        (86401, None),
        (60.0, None),
        (True, None),
        ("60", None),
        (-5, None),
    ],
)
def test_a_sync_pages_interval_is_kept_only_as_whole_seconds_in_the_nodes_bounds(
    value: object, kept: int | None
) -> None:
    assert sync_interval(value) == kept


# ------------------------------------------------------------------------------ the shell
def test_a_sync_page_stores_each_nodes_interval_and_a_bad_one_is_counted_as_not_known(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "gateway.db", X25519PrivateKey.generate())
    try:
        page = {
            "cursor": 3,
            "nodes": [
                {"node_id": "ang-0001", "zone_id": "centre", "keys": [], "interval_s": 60},
                {"node_id": "ang-0002", "zone_id": "centre", "keys": [], "interval_s": 10**9},
                {"node_id": "ang-0003", "zone_id": "centre", "keys": []},  # an older fleet
            ],
        }
        result = apply_sync_page(store, X25519PrivateKey.generate(), page)
        assert result.bad_intervals == 1
        got = {n.node_id: n.interval_s for n in store.nodes()}
        assert got == {"ang-0001": 60, "ang-0002": None, "ang-0003": None}
        nodes = entries(store.nodes(), T0)
        assert (nodes["ang-0001"].interval_s, nodes["ang-0003"].interval_s) == (60, None)
        # the next page changes it
        apply_sync_page(
            store,
            X25519PrivateKey.generate(),
            {
                "cursor": 4,
                "nodes": [
                    {"node_id": "ang-0001", "zone_id": "centre", "keys": [], "interval_s": 300}
                ],
            },
        )
        assert {n.node_id: n.interval_s for n in store.nodes()}["ang-0001"] == 300
    finally:
        store.close()


_OLD_NODES = """CREATE TABLE nodes (node_id TEXT PRIMARY KEY, zone TEXT NOT NULL,
keys TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, updated REAL NOT NULL)"""


def test_a_database_from_before_the_intervals_gains_the_column_and_keeps_its_nodes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gateway.db"
    sealing = X25519PrivateKey.generate()
    Store(path, sealing).close()
    old = sqlite3.connect(path)  # the nodes table as an older gateway made it
    old.execute("DROP TABLE nodes")
    old.execute(_OLD_NODES)
    old.execute("INSERT INTO nodes VALUES ('ang-0001', 'centre', '{}', 0, 1.0)")
    old.commit()
    old.close()
    store = Store(path, sealing)
    try:
        assert [(n.node_id, n.interval_s) for n in store.nodes()] == [("ang-0001", None)]
        store.upsert_node(NodeRecord("ang-0001", "centre", {1: bytes(32)}, False, {}, 60))
        assert [n.interval_s for n in store.nodes()] == [60]
    finally:
        store.close()
    Store(path, sealing).close()  # opening again changes nothing


def test_the_replay_after_a_restart_caps_each_node_as_the_live_intake_did(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "gateway.db", X25519PrivateKey.generate())
    try:
        for node, interval in INTERVALS.items():
            store.upsert_node(NodeRecord(node, "centre", {1: bytes(32)}, False, {}, interval))
        intervals = {n.node_id: n.interval_s for n in store.nodes()}
        settings = (FIVE_MIN, PrivacySettings(), 100, NodeRateSettings(), NO_PLAUSIBILITY)
        live = Publisher(*settings, intervals.get)
        first = [reading(n, T0 + i, i + 1) for n in ("slow", "fast") for i in range(8)]
        last = store.commit_batch([(r, "centre", float(r.t)) for r in first], {}, {}, [], 10)
        assert live.add([(r, "centre", float(r.t)) for r in first], last) == []
        apply(store, live.close(T0 + 5, None), T0 + 5)  # a checkpoint, windows still open
        # after the checkpoint, more of both: stored, then the gateway stops before the next
        second = [reading(n, T0 + 8 + i, 9 + i) for n in ("slow", "fast") for i in range(20)]
        last = store.commit_batch([(r, "centre", float(r.t)) for r in second], {}, {}, [], 10)
        held_live = live.add([(r, "centre", float(r.t)) for r in second], last)
        assert held_live == [("slow", 9 + i, T0 + 8 + i, RATE_LIMITED) for i in range(2, 20)]
        # the restart: the registry is read first, then the checkpoint and the replay
        restarted = Publisher(*settings, {n.node_id: n.interval_s for n in store.nodes()}.get)
        assert restarted.load(store) == held_live
        assert restarted.replayed == 40
        assert restarted.agg.rate.counts == live.agg.rate.counts
    finally:
        store.close()
