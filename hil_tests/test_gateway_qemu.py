"""Gateway HIL under QEMU: ten emulated nodes (MicroPython VMs) -> a private Mosquitto (host)
-> the gateway as an aarch64 process in an emulated Raspberry Pi userland (Debian bookworm
arm64, Python 3.11, aarch64 wheels; qemu-user) -> the fleet service (host), over loopback.

One scenario, set up once for the module; each test checks one promise of it, the SIGKILL
test last. See docs/hil.md for what this emulation proves and what it does not.
"""

from __future__ import annotations

import os
import platform
import random
import secrets
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest

from gateway.broker import MosquittoProcess, free_port
from gateway.broker_config import acl_file, listener_conf, password_file
from gateway.registry import write_atomic
from hil_tests.territory_fixture import STATUS
from protocol.codec import encode_reading, sign
from protocol.credentials import mqtt_password
from protocol.topics import node_topic
from tools.bundle import firmware_files, node_config
from tools.emulator import EmulatedNode
from tools.fleet_api import FleetAdmin, claim
from tools.fleet_process import LocalFleet
from tools.pi_image import PiImage, ensure_image, python_env, stage_gateway
from tools.territory import NodePlan, plan_nodes, profile_for, quartiers

# the first run on a fresh machine builds the image (about 35 s) inside this budget
pytestmark = [pytest.mark.hil, pytest.mark.timeout(900)]

GATEWAY_ID = "gw-qemu"
N_NODES = 10
# five weather stations per quartier: their cells pass small-count suppression (k_nodes = 3)
KINDS = ("weather",) * 5
FORGED_COUNTER = 900_000
BAD_MAC = 'territoire_gateway_readings_rejected_total{reason="bad_mac"}'


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
        self.gw.kill()  # SIGKILL to qemu: the emulated Pi loses power, whatever it was doing
        self.gw.wait()

    def health(self) -> dict[str, Any] | None:
        try:
            r = httpx.get(f"http://127.0.0.1:{self.http_port}/health", timeout=5)
        except httpx.HTTPError:
            return None
        result: dict[str, Any] = orjson.loads(r.content)
        return result

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.http_port}/metrics", timeout=5).text

    def stored(self) -> list[tuple[str, int]]:
        with sqlite3.connect(self.db) as c:
            return list(c.execute("SELECT node_id, counter FROM readings"))

    def acknowledged(self, node_id: str) -> int:
        """The most readings the node had measured at a status showing none unacknowledged
        (0 before any): all of those are committed in the gateway's store. Not just the last
        status: every 2 s, it often catches the reading of that second still in flight."""
        drained = [int(m) for _p, _f, m, buf in STATUS.findall(self.nodes[node_id].console())
                   if int(buf) == 0]
        return max(drained, default=0)

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
                         f"{sc.log_tail()}")


def _provision(fleet: LocalFleet, plans: list[NodePlan]) -> tuple[str, dict[str, Any]]:
    admin = FleetAdmin(fleet.url, fleet.token)
    try:
        known = {q["id"]: q for q in quartiers()}
        for zone in sorted({p.zone for p in plans}):
            admin.ensure_zone(zone, known[zone]["name"], known[zone]["lat"], known[zone]["lon"])
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


@pytest.fixture(scope="session")
def pi_image() -> PiImage:
    return ensure_image()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, pi_image: PiImage) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp("qemu")
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

        started = sc

        def synced() -> bool:
            h = started.health()
            return h is not None and h["mqtt_connected"] and h["nodes"] == N_NODES

        wait_for(synced, 180, "the emulated gateway: connected, ten nodes synced", started)
        bundle = firmware_files()
        for p in plans:
            key_id, secret = sc.keys[p.node_id]
            node = EmulatedNode(tmp / p.node_id, p.board(speed=60.0), compensate_heap=True)
            node.create()
            files = dict(bundle)
            files["node.json"] = node_config(
                node_id=p.node_id, key_id=key_id, secret=secret, mqtt_host="127.0.0.1",
                mqtt_port=mqtt_port, mqtt_password=mqtt_password(secret),
                sensors=p.kind.sensors, zone=p.zone, interval_s=1.0, status_s=2,
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


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def _check_nothing_lost_nor_stored_twice(sc: Scenario, at_least: dict[str, int]) -> None:
    """Each node has let go of ``at_least`` readings or more, and the store holds every one it
    let go of, once."""
    # the nodes' consoles first, then the store: a reading is committed before its ack
    acknowledged = {n: sc.acknowledged(n) for n in sc.nodes}
    stored = sc.stored()
    twice = [k for k, v in Counter(stored).items() if v > 1]
    assert twice == [], f"stored twice: {twice[:10]}"
    for node_id, count in acknowledged.items():
        assert count >= at_least[node_id], (node_id, count, at_least[node_id])
        mine = {c for n, c in stored if n == node_id}
        assert len(mine) >= count, (node_id, len(mine), count)


def _wait_acknowledged(sc: Scenario, at_least: dict[str, int], what: str) -> None:
    wait_for(lambda: all(sc.acknowledged(n) >= k for n, k in at_least.items()), 240, what, sc)


def test_gateway_process_is_aarch64_python_under_qemu(scenario: Scenario) -> None:
    assert scenario.gw is not None
    exe = os.readlink(f"/proc/{scenario.gw.pid}/exe")
    assert Path(exe).name == "qemu-aarch64-static", exe
    health = scenario.health()
    assert health is not None
    assert health["machine"] == "aarch64" != platform.machine(), (health, platform.machine())
    assert scenario.image.manifest["python"].startswith("3.11.")


def test_emulated_python_imports_only_the_image_and_the_gateways_code(scenario: Scenario) -> None:
    probe = ("import json, sys, aiomqtt, cryptography, opendp, orjson, gateway.service\n"
             "mods = [m.__file__ for m in sys.modules.values() if getattr(m, '__file__', None)]\n"
             "print(json.dumps({'path': sys.path, 'files': mods}))")
    out = subprocess.run(scenario.image.python_argv("-c", probe), env=scenario.env,
                         capture_output=True, text=True, timeout=300, check=True)
    seen = orjson.loads(out.stdout)
    app = str(scenario.tmp / "app")
    allowed = (str(scenario.image.root), app, "/opt/territoire/site-packages")
    assert [p for p in seen["path"] if not p.startswith(allowed)] == []
    # every module loaded (the compiled ones included) comes from the image or the copied code
    assert [f for f in seen["files"] if not f.startswith(allowed)] == []
    assert any(f.startswith(app + "/gateway/") for f in seen["files"])


def test_ten_nodes_readings_are_verified_stored_and_acknowledged_end_to_end(
    scenario: Scenario,
) -> None:
    eight = dict.fromkeys(scenario.nodes, 8)
    _wait_acknowledged(scenario, eight, "ten nodes with 8 readings each acknowledged")
    _check_nothing_lost_nor_stored_twice(scenario, eight)
    total = sum(scenario.acknowledged(n) for n in scenario.nodes)
    assert _metric(scenario.metrics(), "territoire_gateway_readings_accepted_total") >= total


def test_forged_reading_is_rejected_by_the_emulated_gateway(scenario: Scenario) -> None:
    victim = scenario.plans[0].node_id
    key_id, secret = scenario.keys[victim]
    # the attacker has the node's broker login (a stolen password), not its signing secret
    body = encode_reading(victim, key_id, FORGED_COUNTER, int(time.time()), "0.1.0",
                          [("temp_c", 99.0)], 3.9)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="forger")
    client.username_pw_set(victim, mqtt_password(secret))
    client.connect("127.0.0.1", scenario.broker.port)
    client.loop_start()
    try:
        forged = sign(b"f" * 32, body)  # signed with a secret that is not the node's
        client.publish(node_topic(victim, "reading"), forged, qos=1).wait_for_publish(30)
    finally:
        client.loop_stop()
        client.disconnect()
    wait_for(lambda: _metric(scenario.metrics(), BAD_MAC) >= 1, 60,
             "the forged reading counted as bad_mac", scenario)
    assert (victim, FORGED_COUNTER) not in scenario.stored()


def test_aggregates_from_the_emulated_gateway_reach_the_fleet(scenario: Scenario) -> None:
    zones = sorted({p.zone for p in scenario.plans})

    def published() -> list[dict[str, Any]]:
        r = httpx.get(f"{scenario.fleet.url}/api/v1/public/aggregates", timeout=10)
        return [a for a in r.json()["data"] if a["zone_id"] in zones and not a["suppressed"]]

    wait_for(lambda: {a["zone_id"] for a in published()} == set(zones), 240,
             "a published aggregate for both quartiers in the fleet", scenario)
    temps = [a for a in published() if a["metric"] == "temp_c"]
    assert temps, published()
    assert all(a["n"] >= 3 and a["dp_mechanism"] for a in temps), temps


def test_gateway_killed_under_qemu_loses_no_acknowledged_reading_and_stores_none_twice(
    scenario: Scenario,
) -> None:
    rng = random.Random(11)
    for _ in range(2):
        before = len(scenario.stored())
        wait_for(lambda b=before: len(scenario.stored()) > b + 10, 120,
                 "readings flowing before the kill", scenario)
        time.sleep(rng.uniform(0.5, 3.0))  # a random instant mid-stream
        scenario.kill_gateway()
        scenario.start_gateway()
    wait_for(lambda: (h := scenario.health()) is not None and h["mqtt_connected"], 180,
             "the restarted emulated gateway connected", scenario)
    assert scenario.starts == 3
    # each node lets go of three more readings than it had before the last restart
    more = {n: scenario.acknowledged(n) + 3 for n in scenario.nodes}
    _wait_acknowledged(scenario, more, "every node acknowledged after the restarts")
    _check_nothing_lost_nor_stored_twice(scenario, more)
