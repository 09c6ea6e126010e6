"""The QEMU HIL scenario's building blocks: the fleet, a host Mosquitto, the gateway as an
aarch64 process in the emulated Raspberry Pi (tools/pi_image), ten emulated nodes, and what
the tests read of them (the nodes' consoles, the gateway's store, /health and /metrics)."""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from gateway.broker import MosquittoProcess, free_port
from gateway.broker_config import acl_file, listener_conf, password_file
from gateway.registry import write_atomic
from hil_tests.territory_fixture import released
from protocol.credentials import mqtt_password
from tools.demo.local_fleet import LocalFleet
from tools.demo.territory import NodePlan, plan_nodes, profile_for, zones
from tools.emulator import EmulatedNode
from tools.fleet_client import FleetClient, claim
from tools.pi_image import PiImage, python_env, stage_gateway
from tools.release.bundle import firmware_files, node_config

GATEWAY_ID = "gw-qemu"
N_NODES = 10
# five weather stations per quartier: their cells pass small-count suppression (k_nodes = 3)
KINDS = ("weather",) * 5


@dataclass
class Scenario:
    tmp: Path
    image: PiImage
    fleet: LocalFleet
    broker: MosquittoProcess
    conf: Path
    http_port: int
    plans: list[NodePlan]
    keys: dict[str, tuple[int, bytes]]  # node id -> (key id, secret), as the fleet issued them
    env: dict[str, str]
    nodes: dict[str, EmulatedNode] = field(default_factory=dict)
    gw: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def db(self) -> Path:
        return self.tmp / "gw" / "gateway.db"

    def start_gateway(self) -> None:
        self.starts += 1
        with (self.tmp / "gateway.log").open("ab") as log:
            self.gw = subprocess.Popen(
                self.image.python_argv("-m", "gateway", "run", "--config", str(self.conf)),
                env=self.env, stdout=log, stderr=log,
            )

    def kill_gateway(self) -> None:
        assert self.gw is not None
        self.gw.kill()  # SIGKILL to qemu: the gateway dies at once, whatever it was doing
        self.gw.wait()

    def health(self) -> dict[str, Any] | None:
        try:
            r = httpx.get(f"http://127.0.0.1:{self.http_port}/health", timeout=5)
        except httpx.HTTPError:
            return None
        result: dict[str, Any] = orjson.loads(r.content)
        return result

    def synced(self) -> bool:
        """Connected to the broker, with every node's credentials from the fleet."""
        h = self.health()
        return h is not None and h["mqtt_connected"] and h["nodes"] == len(self.plans)

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.http_port}/metrics", timeout=5).text

    def stored(self) -> list[tuple[str, int]]:
        with sqlite3.connect(self.db) as c:
            return list(c.execute("SELECT node_id, counter FROM readings"))

    def acknowledged(self, node_id: str) -> int:
        """Readings the node let go of on the gateway's end-to-end ack: each is committed in
        the gateway's store. (Counting only statuses with nothing in flight failed once in CI:
        the emulated gateway's acks take about a second on a loaded machine, and a node's
        status line every 2 s rarely finds its buffer empty: 11 of 53 for one node with three
        CPU-bound processes beside the test; in CI, none for four minutes.)"""
        return released(self.nodes[node_id].console())

    def last_statuses(self) -> str:
        lines = []
        for node_id, node in self.nodes.items():
            status = [ln for ln in node.console().splitlines() if ln.startswith("status ")]
            lines.append(f"{node_id}: {status[-1] if status else '(no status line yet)'}")
        return "\n".join(lines)

    def log_tail(self) -> str:
        lines = (self.tmp / "gateway.log").read_text(errors="replace").splitlines()
        return "\n".join([ln for ln in lines if "HTTP Request:" not in ln][-40:])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, sc: Scenario) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out ({timeout:.0f} s) waiting for {what}; gateway log:\n"
                         f"{sc.log_tail()}\nthe nodes' last status lines:\n{sc.last_statuses()}")


def _provision(fleet: LocalFleet, plans: list[NodePlan]) -> tuple[str, dict[str, Any]]:
    admin = FleetClient(fleet.url, fleet.token)
    try:
        known = {z.id: z for z in zones()}
        for zone in sorted({p.zone for p in plans}):
            z = known[zone]
            admin.ensure_zone(zone, z.name, z.lat, z.lon, z.boundary)
        admin.ensure_profile(profile_for("weather"))
        token = admin.create_gateway(GATEWAY_ID, "Passerelle émulée (QEMU aarch64)")
        claimed = {}
        for p in plans:
            (code,) = admin.claim_codes(zone_id=p.zone, gateway_id=GATEWAY_ID,
                                        profile_id="weather", node_id=p.node_id)
            claimed[p.node_id] = claim(fleet.url, code)
        return token, claimed
    finally:
        admin.close()


def _config(tmp: Path, mqtt_port: int, http_port: int, password: str, fleet_url: str) -> Path:
    conf = tmp / "gateway.toml"
    conf.write_text(
        f'name = "{GATEWAY_ID}"\ndata_dir = "{tmp / "gw"}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "{GATEWAY_ID}"\npassword = "{password}"\n'
        f'[broker]\nconf_dir = "{tmp / "broker-conf"}"\npid_file = "{tmp / "broker.pid"}"\n'
        f'[http]\nport = {http_port}\n'
        f'[fleet]\nurl = "{fleet_url}"\ngateway_id = "{GATEWAY_ID}"\nsync_interval_s = 1.0\n'
        # short windows so that aggregates close, and reach the fleet, within the test
        '[uplink]\ninterval_s = 1.0\n[aggregation]\nwindow_s = 20\ngrace_s = 5\n'
        '[publish]\ninterval_s = 2.0\n'
    )
    return conf


def _start_broker(tmp: Path, port: int, password: str) -> MosquittoProcess:
    """Mosquitto on the host, as Debian's package runs beside the gateway on a Pi. It starts
    with the gateway's own account only; the gateway rewrites users and ACL from the fleet's
    registry and sends it SIGHUP (broker.pid_file)."""
    conf_dir = tmp / "broker-conf"
    conf_dir.mkdir()
    write_atomic(conf_dir / "passwd", password_file([("gateway", password)]))
    write_atomic(conf_dir / "acl", acl_file("gateway"))
    broker = MosquittoProcess(tmp / "broker", port, extra_conf=listener_conf(
        str(conf_dir / "passwd"), str(conf_dir / "acl"), 2048))
    broker.start()
    assert broker.proc is not None
    (tmp / "broker.pid").write_text(str(broker.proc.pid))
    return broker


@contextlib.contextmanager
def pi_territory(tmp: Path, pi_image: PiImage) -> Iterator[Scenario]:
    """Everything started, the gateway enrolled and synced, the nodes publishing."""
    plans = plan_nodes(N_NODES, kinds=KINDS)
    fleet = LocalFleet(tmp / "fleet")
    fleet.start()
    broker: MosquittoProcess | None = None
    sc: Scenario | None = None
    try:
        token, claimed = _provision(fleet, plans)
        mqtt_port, http_port = free_port(), free_port()
        password = secrets.token_urlsafe(18)
        conf = _config(tmp, mqtt_port, http_port, password, fleet.url)
        env = python_env(stage_gateway(tmp / "app"), os.environ)
        # enrollment on the emulated Pi: its keys are made by the aarch64 cryptography wheel
        enrolled = subprocess.run(
            pi_image.python_argv("-m", "gateway", "enroll", "--config", str(conf),
                                 "--token", token),
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
        broker = _start_broker(tmp, mqtt_port, password)
        sc = Scenario(tmp, pi_image, fleet, broker, conf, http_port, plans,
                      {n: (c.key_id, c.secret) for n, c in claimed.items()}, env)
        sc.start_gateway()
        wait_for(sc.synced, 180, "the emulated gateway: connected, ten nodes synced", sc)
        bundle = firmware_files()
        for p in plans:
            key_id, secret = sc.keys[p.node_id]
            node = EmulatedNode(tmp / p.node_id, p.board(speed=60.0), compensate_heap=True)
            node.create()
            files = dict(bundle)
            files["node.json"] = node_config(
                node_id=p.node_id, key_id=key_id, secret=secret, mqtt_host="127.0.0.1",
                mqtt_port=mqtt_port, mqtt_password=mqtt_password(secret),
                sensors=p.kind.sensors, zone=p.zone, hw="emu-x64", interval_s=1.0, status_s=2,
                ack_timeout_s=5,
            )
            node.write_files(files)
            node.start()
            sc.nodes[p.node_id] = node
        yield sc
    finally:
        if sc is not None:
            for node in sc.nodes.values():
                node.close()
            if sc.gw is not None and sc.gw.poll() is None:
                sc.kill_gateway()  # no clean stop needed: surviving SIGKILL is what is tested
        if broker is not None:
            broker.stop()
        fleet.stop()
