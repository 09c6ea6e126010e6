"""A node's weight is bounded (issue #13): its rate per window of reading time, equal weight of
nodes in a window's statistics, and the plausibility of its values. Pure logic, plus the
publisher's shell on a real store (marks, migration of an older aggregator state)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.aggregate import ADDED, RATE_LIMITED, Aggregator, AggregatorSettings
from gateway.config import NodeRateSettings, PlausibilitySettings, PrivacySettings
from gateway.node_rate import NodeRate, window_cap
from gateway.plausibility import BOUNDS, RATE, STUCK, Plausibility
from gateway.publisher import Publisher, apply
from gateway.store import Store
from protocol.codec import Reading

FIVE_MIN = AggregatorSettings(window_s=300)  # the tests' windows (the default is hourly)

T0 = 1_750_000_200  # a window start (multiple of 300)


def reading(node: str, t: int, counter: int = 1, **measures: float) -> Reading:
    return Reading(node, 1, counter, t, "1.0.0", dict(measures))


# ------------------------------------------------------------------------------ node rate
def test_window_cap_is_a_nodes_readings_per_window_times_the_margin() -> None:
    assert window_cap(300, 60, 2.0) == 10
    assert window_cap(300, 1, 2.0) == 600
    assert window_cap(300, 7, 1.5) == math.ceil(300 / 7 * 1.5)
    assert window_cap(300, 86400, 1.0) == 1  # a node measuring daily still gets its reading


def test_node_rate_admits_up_to_the_cap_per_node_and_window_and_forgets_closed_windows() -> None:
    rate = NodeRate(cap=3)
    assert [rate.admit("a", T0) for _ in range(5)] == [True, True, True, False, False]
    assert rate.admit("b", T0)  # another node has its own share
    assert rate.admit("a", T0 + 300)  # and another window too
    again = NodeRate.from_state(json.loads(json.dumps(rate.to_state())), cap=3)
    assert not again.admit("a", T0)
    again.forget_before(T0 + 300, 300)
    assert list(again.counts) == [T0 + 300]


def test_a_flood_stamped_now_is_cut_at_the_cap_but_a_two_hour_backlog_is_not() -> None:
    s = FIVE_MIN
    agg = Aggregator(s, NodeRateSettings(interval_s=60, margin=2.0))  # cap 10 per window
    # 100x the rate: 500 readings of one node within one window
    flood = [
        agg.add(reading("hostile", T0 + i % 300, i + 1, temp_c=8.0), "centre") for i in range(500)
    ]
    assert flood.count(ADDED) == 10
    assert flood.count(RATE_LIMITED) == 490
    assert agg.counters[RATE_LIMITED] == 490
    # a node back from a 2 h outage sends its stored readings (one a minute) at once
    backlog = [
        agg.add(reading("honest", T0 - 7200 + 60 * i, i + 1, temp_c=8.0 + i / 100), "centre")
        for i in range(120)
    ]
    assert backlog == [ADDED] * 120


# ------------------------------------------------------------------------------ weighting
def test_a_node_sending_many_readings_weighs_as_one_node() -> None:
    agg = Aggregator(FIVE_MIN, plausibility=PlausibilitySettings(enabled=False))
    for node in ("a", "b", "c"):
        for i in range(5):
            agg.add(reading(node, T0 + 60 * i, i + 1, temp_c=8.0), "centre")
    for i in range(250):
        agg.add(reading("hostile", T0 + i, i + 1, temp_c=40.0), "centre")
    (cell,) = agg.close(T0 + 421)
    assert (cell.n, cell.nodes) == (265, 4)
    assert cell.mean == pytest.approx((3 * 8.0 + 40.0) / 4)  # one node's share, not 250/265
    assert (cell.min, cell.max) == (8.0, 40.0)  # over the nodes' means


def test_sound_level_is_the_energy_mean_of_the_nodes_energy_means() -> None:
    agg = Aggregator(FIVE_MIN)
    for i in range(3):  # node a: 50 dB three times; node b: once 70 dB
        agg.add(reading("a", T0 + 60 * i, i + 1, laeq_db=50.0), "centre")
    agg.add(reading("b", T0, 1, laeq_db=70.0), "centre")
    (cell,) = agg.close(T0 + 421)
    assert cell.mean == pytest.approx(10 * math.log10((1e5 + 1e7) / 2), abs=1e-6)
    assert (cell.min, cell.max) == (pytest.approx(50.0), pytest.approx(70.0))


def test_aggregator_state_with_nodes_rate_and_plausibility_round_trips() -> None:
    straight = Aggregator(None, NodeRateSettings(interval_s=60))
    for i in range(30):
        straight.add(reading(f"n{i % 3}", T0 + 10 * i, i + 1, temp_c=8.0 + i / 50), "centre")
    restored = Aggregator.from_state(
        json.loads(json.dumps(straight.to_state())), None, NodeRateSettings(interval_s=60)
    )
    assert restored.to_state() == straight.to_state()
    more = [reading("n0", T0 + 290, 99, temp_c=30.0), reading("n1", T0 + 291, 98, temp_c=8.5)]
    assert [restored.add(r, "centre") for r in more] == [straight.add(r, "centre") for r in more]
    assert restored.close(T0 + 900) == straight.close(T0 + 900)


# ------------------------------------------------------------------------------ plausibility
def test_a_value_outside_the_sensor_models_range_is_suspect() -> None:
    p = Plausibility()
    assert p.judge("a", T0, {"laeq_db": 25.0}) == BOUNDS  # below the microphones' noise floor
    assert p.judge("a", T0, {"pm25_ugm3": 12.0, "laeq_db": 55.0}) is None


def test_a_spike_is_suspect_the_return_is_not_and_a_real_step_passes_with_time() -> None:
    p = Plausibility()
    assert p.judge("a", T0, {"temp_c": 8.0}) is None
    assert p.judge("a", T0 + 60, {"temp_c": 40.0}) == RATE  # 32 K in a minute
    assert p.judge("a", T0 + 120, {"temp_c": 8.1}) is None  # compared with 8.0, not 40
    # a genuine 6 K step (a sensor moved into the sun): suspect at first, accepted once the
    # time since the last plausible value allows it (3 K/min + 0.5 K)
    assert p.judge("a", T0 + 130, {"temp_c": 14.1}) == RATE
    assert p.judge("a", T0 + 240, {"temp_c": 14.1}) is None
    # other nodes and metrics are judged apart; after a long gap nothing is compared
    assert p.judge("b", T0 + 240, {"temp_c": 30.0}) is None
    assert p.judge("a", T0 + 240 + 3601, {"temp_c": 30.0}) is None


def test_the_same_value_for_stuck_n_readings_over_stuck_s_is_suspect_where_sensors_are_noisy() -> (
    None
):
    p = Plausibility()
    verdicts = [p.judge("a", T0 + 60 * i, {"temp_c": 12.34, "p_hpa": 1013.2}) for i in range(62)]
    assert verdicts[:60] == [None] * 60  # 60 readings span 59 minutes: not yet an hour
    assert verdicts[60:] == [STUCK, STUCK]
    assert p.judge("a", T0 + 60 * 62, {"temp_c": 12.35}) is None  # it moved: a new run
    # pressure at 0.1 hPa may rightly not move for hours: never judged stuck
    q = Plausibility()
    assert {q.judge("b", T0 + 60 * i, {"p_hpa": 1013.2}) for i in range(200)} == {None}
    # fast readings repeating for a minute are not stuck either (the emulator's smooth values)
    r = Plausibility()
    assert {r.judge("c", T0 + i, {"temp_c": 12.0}) for i in range(120)} == {None}


def test_plausibility_memory_is_bounded_and_disabled_judges_nothing() -> None:
    p = Plausibility(PlausibilitySettings(max_entries=50))
    for i in range(500):
        p.judge(f"n{i}", T0 + i, {"temp_c": 8.0})
    assert len(p.entries) <= 50
    assert ("n499", "temp_c") in p.entries  # the stalest went, not the newest
    off = Plausibility(PlausibilitySettings(enabled=False))
    assert off.judge("a", T0, {"laeq_db": 1.0}) is None
    restored = Plausibility.from_state(json.loads(json.dumps(p.to_state())))
    assert restored.entries == p.entries


# ------------------------------------------------------------------------------ the shell
def _store(tmp_path: Path, readings: list[Reading]) -> tuple[Store, int]:
    store = Store(tmp_path / "gateway.db", X25519PrivateKey.generate())
    last = store.commit_batch([(r, "centre", float(r.t)) for r in readings], {}, {}, [], 10)
    return store, last


def test_held_back_readings_stay_stored_marked_and_purged_with_the_readings(
    tmp_path: Path,
) -> None:
    readings = [
        reading("a", T0, 1, temp_c=8.0),
        reading("a", T0 + 60, 2, temp_c=60.0),
        reading("a", T0 + 61, 3, laeq_db=25.0),
    ]
    store, last = _store(tmp_path, readings)
    pub = Publisher(FIVE_MIN, PrivacySettings())
    held = pub.add([(r, "centre", float(r.t)) for r in readings], last)
    assert held == [("a", 2, T0 + 60, RATE), ("a", 3, T0 + 61, BOUNDS)]
    cp = pub.close(T0 + 100, None)
    apply(store, cp, T0 + 100)
    assert store.reading_count() == 3
    rows = store.db.execute("SELECT node_id, counter, reason FROM held_back").fetchall()
    assert rows == [("a", 2, RATE), ("a", 3, BOUNDS)]
    store.purge_readings(T0 + 1000)
    assert store.db.execute("SELECT COUNT(*) FROM held_back").fetchone() == (0,)


def test_an_aggregator_state_of_version_1_is_rebuilt_from_the_stored_readings(
    tmp_path: Path,
) -> None:
    readings = [reading(n, T0 + i, i + 1, temp_c=8.0 + i) for i, n in enumerate("abc")]
    store, last = _store(tmp_path, readings)
    # what a gateway before issue #13 checkpointed: pooled cells, no node accumulators
    v1 = {
        "version": 1,
        "window_s": 300,
        "closed_until": T0,
        "counters": {"readings_added": 3},
        "cells": [
            {
                "zone": "centre",
                "metric": "temp_c",
                "start": T0,
                "n": 3,
                "sum_q": 2700,
                "min_q": 800,
                "max_q": 1000,
                "energy": 0,
                "level": 0,
                "bins": [[800, 1], [900, 1], [1000, 1]],
                "peaks": {"a": 800},
            }
        ],
    }
    store.kv_set("aggregator", orjson.dumps(v1))
    store.kv_set("aggregator_cursor", str(last).encode())
    pub = Publisher(FIVE_MIN, PrivacySettings())
    assert pub.load(store) == []
    assert pub.replayed == 3
    assert pub.cursor == last
    (cell,) = pub.agg.close(T0 + 421)
    assert (cell.n, cell.nodes, cell.mean) == (3, 3, pytest.approx(9.0))
    with pytest.raises(ValueError, match="version"):
        Aggregator.from_state({**v1, "version": 7})
