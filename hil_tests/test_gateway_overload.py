"""Gateway under overload: twice its sustainable rate for a minute, from nodes' own credentials.

The gateway runs as its own process (`territoire gateway run`) beside a Mosquitto the test
starts. Load comes from one `mosquitto_pub -l` (Mosquitto's C client) per node, fed through a
pipe at a set rate, so the test's own CPU cost stays small. The sustainable rate is measured
first in the same run (the machine is shared: a fixed figure would mean nothing).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from gateway.broker import MosquittoProcess, free_port
from gateway.config_file import load_settings
from gateway.service import Gateway
from gateway.store import NodeRecord
from hil_tests.territory_fixture import secret_for
from protocol.codec import encode_reading, sign
from protocol.credentials import mqtt_password

pytestmark = pytest.mark.hil
REPO = Path(__file__).resolve().parent.parent
NODES = [f"ang-{i:04d}" for i in range(1, 21)]
# The gateway's own memory (RSS of its process, the broker excluded) under any load: its intake
# is bounded by mqtt.max_inflight messages (gateway/mqtt_intake.py); the rest is the interpreter,
# its libraries and SQLite's page cache. The systemd unit allows 256 MB.
RSS_BOUND_MB = 150


def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def _accepted(http_port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=60).read()
    for line in text.decode().splitlines():
        if line.startswith("territoire_gateway_readings_accepted_total "):
            return float(line.split()[1])
    return 0.0


class Load:
    """One C publisher per node; ``offer(rate, seconds)`` feeds them signed readings."""

    def __init__(self, port: int, next_counter: dict[str, int] | None = None) -> None:
        self.next_counter = dict(next_counter or dict.fromkeys(NODES, 1))
        self.sent = 0
        self.pubs = {
            n: subprocess.Popen(
                ["mosquitto_pub", "-p", str(port), "-q", "1", "-M", "1000", "-l", "-i", f"{n}-load",
                 "-u", n, "-P", mqtt_password(secret_for(n)),
                 "-t", f"territoire/v1/node/{n}/reading"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
            for n in NODES
        }

    def _lines(self, node: str, count: int) -> bytes:
        out = []
        for _ in range(count):
            c = self.next_counter[node]
            self.next_counter[node] = c + 1
            body = encode_reading(node, 1, c, int(time.time()), "0.1.0",
                                  [("temp_c", 15.0 + c % 9), ("rh_pct", 60.0)])
            out.append(sign(secret_for(node), body))
        return b"\n".join(out) + b"\n"

    def offer(self, rate: float, seconds: float) -> None:
        """Feed ``rate`` readings/s in all, in 100 ms steps, for ``seconds``."""
        per_step = rate / 10 / len(NODES)
        owed = 0.0
        start = time.monotonic()
        step = 0
        while time.monotonic() - start < seconds:
            owed += per_step
            whole = int(owed)
            owed -= whole
            if whole:
                for n, p in self.pubs.items():
                    assert p.stdin is not None
                    p.stdin.write(self._lines(n, whole))
                    p.stdin.flush()
                self.sent += whole * len(NODES)
            step += 1
            time.sleep(max(0.0, start + step / 10 - time.monotonic()))

    def close(self) -> None:
        for p in self.pubs.values():
            assert p.stdin is not None
            p.stdin.close()
        for p in self.pubs.values():
            p.wait(120)
            err = p.stderr.read() if p.stderr else b""
            assert p.returncode == 0, err


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                self.peak_kb = max(self.peak_kb, _rss_kb(self.pid))
            except (OSError, AssertionError):
                return


@pytest.mark.timeout(1200)
def test_gateway_at_twice_its_sustainable_rate_keeps_memory_bounded_loses_nothing_catches_up(
    tmp_path: Path,
) -> None:
    mqtt_port, http_port = free_port(), free_port()
    conf = tmp_path / "gateway.toml"
    conf.write_text(
        f'name = "gw-load"\ndata_dir = "{tmp_path / "gw"}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "gw-load"\n'
        f'[broker]\nconf_dir = "{tmp_path / "broker-conf"}"\n'
        f'pid_file = "{tmp_path / "broker.pid"}"\n'
        # the broker holds the surplus of a minute at twice the sustainable rate (a minute
        # of that rate: 1.1 million at 18k/s measured here), or drops what it cannot queue
        'max_queued_messages = 4000000\n'
        f'[http]\nport = {http_port}\n'
    )
    setup = Gateway(load_settings(conf))
    for n in NODES:
        setup.add_node(NodeRecord(n, "centre", {1: secret_for(n)}, False))
    db = Path(setup.s.data_dir) / "gateway.db"
    setup.store.close()
    broker = MosquittoProcess(tmp_path / "broker", mqtt_port, extra_conf=setup.broker_files.conf())
    broker.start()
    assert broker.proc is not None
    (tmp_path / "broker.pid").write_text(str(broker.proc.pid))
    log = (tmp_path / "gateway.log").open("ab")
    gw = subprocess.Popen(
        [sys.executable, "-m", "tools.cli", "gateway", "run", "--config", str(conf)],
        cwd=REPO, stdout=log, stderr=log,
    )
    load: Load | None = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _accepted(http_port)
                break
            except OSError:
                assert time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.2)
        sampler = RssSampler(gw.pid)
        sampler.start()
        # 1. sustainable rate: a backlog queued at the broker while the gateway is stopped
        # (SIGSTOP), then the time it takes to work through it
        gw.send_signal(signal.SIGSTOP)
        calibration = Load(mqtt_port)
        calibration.offer(20_000, 4)
        calibration.close()  # the publishers exit once the broker has every reading
        backlog = calibration.sent
        gw.send_signal(signal.SIGCONT)
        t0 = time.monotonic()
        while _accepted(http_port) < backlog:
            assert time.monotonic() - t0 < 300, "calibration backlog not drained"
            time.sleep(0.1)
        sustainable = backlog / (time.monotonic() - t0)
        print(f"calibration: {backlog} readings drained at {sustainable:.0f}/s")
        # 2. twice that for a minute
        load = Load(mqtt_port, calibration.next_counter)
        load.sent = backlog
        before, start = load.sent, time.monotonic()
        load.offer(2 * sustainable, 60)
        end_of_load = time.monotonic()
        offered_rate = (load.sent - before) / (end_of_load - start)
        assert offered_rate > 1.8 * sustainable, (offered_rate, sustainable)
        load.close()
        while _accepted(http_port) < load.sent:
            assert time.monotonic() - end_of_load < 600, (
                f"not caught up: {_accepted(http_port):.0f} of {load.sent}")
            # readings the broker could not queue never reach the gateway (a node would send
            # them again, mosquitto_pub does not): say so rather than wait
            assert "being dropped" not in broker.log_path.read_text(errors="replace"), (
                "the broker dropped readings: its queue for the gateway was full")
            time.sleep(0.5)
        catch_up_s = time.monotonic() - end_of_load
        sampler.stop.set()
        peak_mb = max(sampler.peak_kb, _rss_kb(gw.pid, "VmHWM")) / 1024
        print(f"sustainable {sustainable:.0f}/s, offered {offered_rate:.0f}/s, {load.sent} in all, "
              f"caught up {catch_up_s:.0f} s after the load, gateway RSS peak {peak_mb:.0f} MB")
        with sqlite3.connect(db) as c:
            stored = c.execute(
                "SELECT node_id, COUNT(*), COUNT(DISTINCT counter), MAX(counter) FROM readings"
                " GROUP BY node_id").fetchall()
        assert sorted(s[0] for s in stored) == NODES
        for node_id, rows, distinct, top in stored:
            sent = load.next_counter[node_id] - 1
            assert rows == distinct == top == sent, (node_id, rows, distinct, top, sent)
        assert peak_mb < RSS_BOUND_MB, f"gateway RSS peaked at {peak_mb:.0f} MB"
    finally:
        if load is not None:
            for p in load.pubs.values():
                p.kill()
        gw.terminate()
        try:
            gw.wait(20)
        except subprocess.TimeoutExpired:
            gw.kill()
        broker.stop()
        log.close()
