"""Gateway HIL, the publication side: emulated nodes -> a real Mosquitto -> the gateway as its
own process -> a fleet ingest API (tests/fake_fleet.py: a real HTTP server that can fail).

One scenario in two runs of the gateway on the same data directory:
1. the uplink is down while windows close and are published: the cells wait in the outbox;
   the uplink comes back and every cell reaches the fleet exactly once;
2. restarted with a daily budget smaller than what the zones already spent today (the
   operator lowered ``privacy.epsilon_per_zone_day``): the zones' publication stops for the
   rest of the day, persisted in the ledger, while their readings are still accepted; the
   retention purge deletes raw readings older than its (here tiny) retention.

That a stopped zone publishes again the next day is shown on the ledger itself
(tests/gateway/test_privacy_budget.py): the gateway's clock cannot be moved a day ahead here
(libfaketime hangs Python's timed thread waits).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import orjson
import pytest

from gateway.broker import free_port
from gateway.fleet_client import Identity
from gateway.privacy_budget import BUDGET_TZ, budget_day
from hil_tests.gateway_process import broker_for_gateway, metrics, start_gateway, start_nodes
from tests.fake_fleet import FakeFleet
from tools.demo.territory import plan_nodes
from tools.emulator import EmulatedNode

pytestmark = [pytest.mark.hil, pytest.mark.timeout(900)]

PUBLISHED = "territoire_gateway_aggregates_published_total"
PURGED = "territoire_gateway_readings_purged_total"
EXHAUSTED = 'territoire_gateway_aggregates_suppressed_total{reason="budget_exhausted"}'
# run 1: the largest daily budget, 20 s windows: a window's share of its zone's day is
# 100 * 20 / 86 400 epsilon (23 148 micro-epsilon), spent whole on the people count (n is exact
# and free); two windows: 46 296 micro
RUN1 = {"epsilon": 100.0, "window_s": 20, "retention_h": 72.0}
# run 2: 0.03 epsilon a day (30 000 micro): a window's share (6 micro) still pays for its people
# count, but the day's total is already spent
RUN2 = {"epsilon": 0.03, "window_s": 20, "retention_h": 0.01}  # 36 s of raw readings


@dataclass
class Run:
    tmp: Path
    mqtt_port: int
    fleet: FakeFleet
    http_port: int = field(default_factory=free_port)
    gw: Popen[bytes] | None = None

    def config(self, epsilon: float, window_s: int, retention_h: float) -> Path:
        conf = self.tmp / "gateway.toml"
        conf.write_text(
            f'name = "gw-days"\ndata_dir = "{self.tmp / "gw"}"\n'
            f'[mqtt]\nport = {self.mqtt_port}\nclient_id = "gw-days"\n'
            f'[broker]\nconf_dir = "{self.tmp / "broker-conf"}"\n'
            f'pid_file = "{self.tmp / "broker.pid"}"\n'
            f'[http]\nport = {self.http_port}\n'
            f'[fleet]\nurl = "{self.fleet.url}"\nsync_interval_s = 3600.0\n'
            '[uplink]\ninterval_s = 0.5\nbackoff_cap_s = 1.0\nhealth_interval_s = 3600.0\n'
            f'[aggregation]\nwindow_s = {window_s}\ngrace_s = 2\n'
            '[publish]\ninterval_s = 1.0\n'
            f'[storage]\nretention_h = {retention_h}\npurge_interval_s = 1.0\n'
            f'[privacy]\nk_nodes = 2\nepsilon_per_zone_day = {epsilon}\n'
        )
        return conf

    def start(self, run: dict[str, float]) -> None:
        conf = self.config(run["epsilon"], int(run["window_s"]), run["retention_h"])
        # `gateway run` with a fleet.url needs the identity `gateway enroll` makes; the fake
        # fleet takes any signature, so the keys alone stand for the enrollment
        Identity.load(self.tmp / "gw", "gw-days")
        self.gw = start_gateway(conf, self.tmp / "gateway.log")
        self.wait(lambda: bool(metrics(self.http_port)), 60, "the gateway answering")

    def stop(self) -> None:
        if self.gw is not None and self.gw.poll() is None:
            self.gw.terminate()
            self.gw.wait(30)

    def metric(self, name: str) -> float:
        return metrics(self.http_port).get(name, 0.0)

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.3)
        log = (self.tmp / "gateway.log").read_text(errors="replace").splitlines()[-30:]
        raise AssertionError(f"timed out ({timeout:.0f} s) waiting for {what}\n" + "\n".join(log))

    def query(self, sql: str) -> tuple[object, ...]:
        with sqlite3.connect(self.tmp / "gw" / "gateway.db") as db:
            row: tuple[object, ...] = db.execute(sql).fetchone()
            return row

    def ledger(self) -> dict[str, Any]:
        """The privacy ledger as the gateway persisted it."""
        (raw,) = self.query("SELECT value FROM kv WHERE key='privacy_ledger'")
        assert isinstance(raw, bytes)
        doc: dict[str, Any] = orjson.loads(raw)
        return doc


def _clear_of_paris_midnight(seconds: float) -> None:
    """The scenario needs one budget day throughout: if Paris's midnight falls within the next
    ``seconds``, start after it (at most once a day, for a few minutes)."""
    while budget_day(time.time()) != budget_day(time.time() + seconds):
        time.sleep(5)


@pytest.fixture
def fleet() -> Iterator[FakeFleet]:
    f = FakeFleet()
    yield f
    f.close()


def test_outage_then_exactly_once_uplink_budget_stop_for_the_day_and_retention_purge(
    tmp_path: Path, fleet: FakeFleet,
) -> None:
    _clear_of_paris_midnight(300)
    mqtt_port = free_port()
    run = Run(tmp_path, mqtt_port, fleet)
    # two quartiers of two people counters: only people counts spend epsilon
    plans = plan_nodes(4, kinds=("people", "people"))
    zones = sorted({p.zone for p in plans})
    broker, fleet.public_key = broker_for_gateway(run.config(**RUN1), plans, tmp_path,
                                                  mqtt_port)
    nodes: list[EmulatedNode] = []
    try:
        fleet.fail_next = 10**9  # 1. the uplink is down
        run.start(RUN1)
        nodes = start_nodes(tmp_path, plans, mqtt_port, interval_s=1.0, status_s=5,
                            ack_timeout_s=3)
        # windows published (three per quartier at least) while the fleet answers 503 to
        # everything, until each quartier spent more of today's budget than run 2 will allow
        def spent_micro(zone: str) -> float:
            ratio = run.metric(f'territoire_gateway_privacy_budget_spent_ratio{{zone="{zone}"}}')
            return ratio * RUN1["epsilon"] * 1_000_000

        run.wait(lambda: all(spent_micro(z) > RUN2["epsilon"] * 1_000_000 for z in zones), 180,
                 "both quartiers spending more of today's budget than run 2 allows")
        assert fleet.applied == {}
        assert run.metric("territoire_gateway_uplink_failures_total") > 0
        assert run.metric("territoire_gateway_outbox_depth") > 0
        fleet.fail_next = 0  # the uplink is back
        run.wait(lambda: run.metric("territoire_gateway_outbox_depth") == 0, 60,
                 "the outbox delivered")
        published_1 = run.metric(PUBLISHED)
        run.stop()
        cells = fleet.items("aggregates")
        keys = [(c["zone"], c["metric"], c["start"]) for c in cells]
        assert len(keys) == len(set(keys)), "a cell was applied twice"
        # suppressed cells reach the fleet too (counted there); the metric counts the shown
        shown = [c for c in cells if not c["suppressed"]]
        assert len(shown) == published_1, (len(shown), published_1)
        assert {c["zone"] for c in cells} == set(zones)
        today = budget_day(time.time(), BUDGET_TZ)
        spent = run.ledger()["spent_micro"]
        assert all(spent[z][today] > RUN2["epsilon"] * 1_000_000 for z in zones), spent

        # 2. the daily budget lowered below what the zones spent today
        restart = time.time()
        run.start(RUN2)
        for z in zones:
            run.wait(lambda z=z: run.metric(
                f'territoire_gateway_privacy_zone_stopped{{zone="{z}"}}') == 1, 90,
                f"publication stopped for {z}")
        accepted = run.metric("territoire_gateway_readings_accepted_total")
        exhausted = run.metric(EXHAUSTED)
        # the next window: suppressed too, while readings keep coming in
        time.sleep(25)
        assert run.metric(EXHAUSTED) > exhausted
        assert run.metric("territoire_gateway_readings_accepted_total") > accepted
        assert run.metric(PUBLISHED) == 0
        run.wait(lambda: run.metric("territoire_gateway_outbox_depth") == 0, 30,
                 "the outbox delivered")
        late = [c for c in fleet.items("aggregates")
                if c["start"] + c["period_s"] > restart and not c["suppressed"]]
        assert late == [], "a cell was published after the budget ran out"
        after = [c for c in fleet.items("aggregates") if c["start"] + c["period_s"] > restart]
        assert {c["suppressed_reason"] for c in after} <= {"budget_exhausted"}
        # the stop is persisted for today's Paris day only: tomorrow starts afresh
        stopped = run.ledger()["stopped"]
        assert {z: stopped.get(z) for z in zones} == {z: [today] for z in zones}
        # retention: raw readings older than 36 s are deleted, the newer ones kept
        run.wait(lambda: run.metric(PURGED) > 0, 30, "the retention purge")
        (oldest,) = run.query("SELECT MIN(t) FROM readings")
        assert isinstance(oldest, int)
        assert oldest >= time.time() - 36 - 10, (oldest, time.time())
    finally:
        for node in nodes:
            node.close()
        run.stop()
        broker.stop()
