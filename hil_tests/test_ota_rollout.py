"""Issue #5 end to end: rollouts from the real fleet to 20 emulated nodes.

The real fleet process (LocalFleet, SQLite), an enrolled gateway process managing its private
Mosquitto (free port), 20 emulated nodes (real MicroPython VMs) provisioned through the fleet's
claim API and configured with the release public key. Releases go the release manager's way:
``tools.release.manage`` keygen, build for ``emu-x64``, sign, publish; the key is registered
with the fleet; rollouts are started with ``territoire rollout start`` as an operator would.

The two scenarios share the territory (module scope): the crashing release first, then a good
one; each builds a version above whatever the nodes run, and asserts its own claims.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.broker import free_port
from hil_tests.ota_lab import BOOTED, gateway_metrics, wait_for
from protocol import manifest as mf
from protocol.credentials import mqtt_password
from tools.demo import _provision
from tools.demo.local_fleet import LocalFleet
from tools.demo.territory import plan_nodes, zones_file
from tools.emulator import EmulatedNode
from tools.fleet_client import API
from tools.release import manage as release
from tools.release.bundle import FIRMWARE_DIR, firmware_files, node_config

pytestmark = pytest.mark.hil

REPO = Path(__file__).resolve().parent.parent
N_NODES = 20
GATEWAY = "gw-demo"  # the gateway tools.demo._provision creates
PASSPHRASE = b"territoire e2e release passphrase"
FACTORY = "0.1.0"


@dataclass
class Estate:
    work: Path
    fleet: LocalFleet
    http: httpx.Client
    http_port: int
    gateway_log: Path
    key: Path
    nodes: dict[str, EmulatedNode] = field(default_factory=dict)
    minor: int = 1  # the last version built is 0.<minor>.0

    def next_version(self) -> str:
        self.minor += 1
        return f"0.{self.minor}.0"

    def running(self, node_id: str) -> tuple[str, str, int] | None:
        """(version, slot, boot) of the node's last boot that got as far as the app."""
        found = BOOTED.findall(self.nodes[node_id].console())
        return (found[-1][2], found[-1][3], int(found[-1][1])) if found else None

    def health(self, node_id: str) -> dict[str, Any] | None:
        r = self.http.get(f"{API}/nodes/{node_id}")
        r.raise_for_status()
        h: dict[str, Any] | None = r.json().get("health")
        return h

    def rollout(self, rollout_id: int) -> dict[str, Any]:
        r = self.http.get(f"{API}/rollouts/{rollout_id}")
        r.raise_for_status()
        got: dict[str, Any] = r.json()
        return got

    def metrics(self) -> dict[str, float]:
        return gateway_metrics(self.http_port)

    def publish(self, version: str, root: Path = FIRMWARE_DIR) -> int:
        """Build for emu-x64, sign offline with the encrypted key, publish: the release id."""
        out = self.work / f"fw-{version}-emu.tar"
        release.build(
            hardware="emu-x64",
            version=version,
            secure_version=1,
            expires_days=30,
            out=out,
            now=int(time.time()),
            root=root,
        )
        release.sign(out, release.load_private_key(self.key, PASSPHRASE))
        published = release.publish(out, fleet=self.fleet.url, token=self.fleet.token)
        return int(str(published["id"]))

    def start_rollout(self, release_id: int, name: str, *groups: str) -> int:
        """``territoire rollout start`` for every weather node, as an operator types it."""
        args = [f"--group={g}" for g in groups]
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "tools.cli",
                "rollout",
                "start",
                "--release",
                str(release_id),
                "--name",
                name,
                "--profile",
                "weather",
                *args,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={
                **os.environ,
                "TERRITOIRE_FLEET_URL": self.fleet.url,
                "TERRITOIRE_FLEET_TOKEN": self.fleet.token,
                "COLUMNS": "200",
            },
        )
        assert p.returncode == 0, p.stdout + p.stderr
        m = re.search(r"^rollout (\d+) ", p.stdout, re.MULTILINE)
        assert m is not None, p.stdout
        return int(m.group(1))

    def wait(self, what: str, predicate: Callable[[], object], timeout: float) -> None:
        wait_for(
            what, predicate, timeout, self.nodes, self.gateway_log, poll_s=0.5, console_chars=800
        )


def _territoire(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _gateway_config(work: Path, fleet_url: str, mqtt_port: int, http_port: int) -> Path:
    conf = work / "gateway.toml"
    conf.write_text(
        f'name = "{GATEWAY}"\ndata_dir = "{work / "gw"}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "{GATEWAY}"\n'
        f"[http]\nport = {http_port}\n"
        f'[fleet]\nurl = "{fleet_url}"\ngateway_id = "{GATEWAY}"\nsync_interval_s = 2.0\n'
        f"[uplink]\ninterval_s = 1.0\n"
        # fast OTA: poll the fleet every second, offer again every 3 s, forward progress at once
        f"[ota]\npoll_interval_s = 1.0\noffer_interval_s = 3.0\nstatus_interval_s = 0.5\n"
    )
    return conf


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    work = tmp_path_factory.mktemp("ota-e2e")
    plans = plan_nodes(N_NODES, kinds=("weather",))
    with contextlib.ExitStack() as stack:
        fleet = stack.enter_context(LocalFleet(work / "fleet"))
        http = stack.enter_context(
            httpx.Client(
                base_url=fleet.url, timeout=30, headers={"Authorization": f"Bearer {fleet.token}"}
            )
        )
        # the release key, made offline and registered with the fleet (public half only)
        _kid, pub = release.keygen(work / "release.pem", PASSPHRASE)
        release.register_key(pub, name="e2e key", fleet=fleet.url, token=fleet.token)
        public = release.load_private_key(work / "release.pem", PASSPHRASE).public_key()
        # zones, the weather profile, the gateway and 20 nodes claimed through the API
        token, claimed = _provision(fleet, plans, zones_file())
        mqtt_port, http_port = free_port(), free_port()
        conf = _gateway_config(work, fleet.url, mqtt_port, http_port)
        enrolled = _territoire("gateway", "enroll", "--config", str(conf), "--token", token)
        assert enrolled.returncode == 0, enrolled.stderr
        log_path = work / "gateway.log"
        log = stack.enter_context(log_path.open("wb"))
        gw = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.cli",
                "gateway",
                "run",
                "--config",
                str(conf),
                "--manage-broker",
            ],
            cwd=REPO,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

        def stop_gateway() -> None:
            os.killpg(gw.pid, signal.SIGTERM)
            try:
                gw.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(gw.pid, signal.SIGKILL)
                gw.wait()

        stack.callback(stop_gateway)
        e = Estate(work, fleet, http, http_port, log_path, work / "release.pem")
        # the nodes' broker accounts come from the fleet's registry at the gateway's sync
        passwd = work / "gw" / "broker" / "passwd"
        e.wait(
            "the gateway's broker accounts for every node",
            lambda: passwd.exists() and all(f"{p.node_id}:" in passwd.read_text() for p in plans),
            90,
        )
        bundle = firmware_files()
        for p in plans:
            node = EmulatedNode(
                work / "nodes" / p.node_id,
                p.board(speed=60.0),
                upstream_port=mqtt_port,
                compensate_heap=True,
            )
            stack.callback(node.close)
            node.create()
            secret = claimed[p.node_id].secret
            node.write_files(
                {
                    **bundle,
                    "node.json": node_config(
                        node_id=p.node_id,
                        key_id=claimed[p.node_id].key_id,
                        secret=secret,
                        mqtt_host="127.0.0.1",
                        mqtt_port=node.broker_port,
                        mqtt_password=mqtt_password(secret),
                        sensors=p.kind.sensors,
                        zone=p.zone,
                        interval_s=2,
                        status_s=5,
                        ack_timeout_s=3,
                        trial_s=60,
                        release_keys=[mf.public_numbers(public)],
                        hw="emu-x64",
                    ),
                }
            )
            e.nodes[p.node_id] = node
        for node in e.nodes.values():
            node.start()
        e.wait(
            f"{N_NODES} nodes running {FACTORY}",
            lambda: all((e.running(n) or ("",))[0] == FACTORY for n in e.nodes),
            180,
        )
        yield e


def _members(detail: dict[str, Any], group: int) -> list[dict[str, Any]]:
    return [n for n in detail["nodes"] if n["group"] == group]


def test_release_crashing_at_start_rolls_back_canaries_pauses_itself_and_spares_group_two(
    estate: Estate, tmp_path: Path
) -> None:
    e = estate
    old = {n: e.running(n) for n in e.nodes}
    assert all(r is not None and r[0] == FACTORY for r in old.values()), old
    src = tmp_path / "firmware"
    shutil.copytree(FIRMWARE_DIR, src, ignore=shutil.ignore_patterns("__pycache__"))
    node_py = src / "node.py"
    node_py.write_text('raise RuntimeError("broken release")\n' + node_py.read_text())
    bad = e.next_version()
    rid = e.publish(bad, root=src)
    t0 = time.monotonic()
    # two canaries that must both confirm; more than half of them failing pauses everything
    rollout = e.start_rollout(rid, f"{bad} crashing", "2:1:0.5", "100%:1:0")
    try:
        detail = e.rollout(rollout)
        assert [g["total"] for g in detail["groups"]] == [2, N_NODES - 2], detail["groups"]
        canaries = [n["node_id"] for n in _members(detail, 0)]
        others = [n["node_id"] for n in _members(detail, 1)]
        e.wait(
            "the rollout to pause itself",
            lambda: e.rollout(rollout)["status"] == "paused",
            240,
        )
        paused_after = time.monotonic() - t0
        detail = e.rollout(rollout)
        assert detail["paused_reason"] == "error_threshold:group1", detail
        assert detail["targets_now"] == 0, detail
        g1, g2 = detail["groups"]
        assert (g1["failed"], g1["confirmed"], g1["open"]) == (2, 0, True), g1
        assert (g2["open"], g2["pending"], g2["failed"], g2["confirmed"]) == (
            False,
            N_NODES - 2,
            0,
            0,
        ), g2
        by_node = {n["node_id"]: n for n in detail["nodes"]}
        for n in canaries:
            # rolled back by itself: three trial boots of the broken code, then the old slot
            assert (by_node[n]["status"], by_node[n]["why"], by_node[n]["outcome"]) == (
                "rolled_back",
                "trial_failed",
                "failed",
            ), by_node[n]
            console = e.nodes[n].console()
            assert console.count("loader: slot b trial") == 3, n
            assert "broken release" in console, n
            e.wait(
                f"{n} back on {FACTORY}",
                lambda n=n: (e.running(n) or ("",))[:2] == (FACTORY, "a"),
                60,
            )
        # the second group was never offered the release: no offer reached a node, nothing
        # was downloaded or tried, the fleet has no status and no target for any of them
        for n in others:
            console = e.nodes[n].console()
            assert "ota: offer of" not in console, n
            assert "ota: switching" not in console, n
            assert "loader: slot b" not in console, n
            assert (by_node[n]["status"], by_node[n]["outcome"]) == (None, "pending"), by_node[n]
        m = e.metrics()
        assert m.get('territoire_gateway_ota_progress_total{state="switching"}') == 2, m
        assert m.get('territoire_gateway_ota_progress_total{state="confirmed"}', 0) == 0, m
        # the fleet shows the true running version: the old one, from health measured after
        # the rollback (a boot number at least that of the boot back on the old slot)
        after = {n: e.running(n) for n in e.nodes}

        def fleet_shows_the_old_version() -> bool:
            for n in e.nodes:
                h, r = e.health(n), after[n]
                if h is None or r is None or (h["fw"], h["slot"]) != (FACTORY, "a"):
                    return False
                if n in canaries and h["boot"] < r[2]:
                    return False
            return True

        e.wait("the fleet's health showing the old version", fleet_shows_the_old_version, 90)
        detail = e.rollout(rollout)
        assert {n["node_id"]: n["running"] for n in detail["nodes"]} == dict.fromkeys(
            e.nodes, FACTORY
        )
        assert detail["status"] == "paused"
        assert all(e.running(n)[:2] == (FACTORY, "a") for n in e.nodes)  # type: ignore[index]
        print(
            f"\ncrashing release: paused by itself after {paused_after:.0f} s, "
            f"checked in {time.monotonic() - t0:.0f} s"
        )
    finally:
        # what an operator does next (docs/ota-rollouts.md): abort, so the nodes are free
        e.http.post(f"{API}/rollouts/{rollout}/abort").raise_for_status()


def test_rollout_to_twenty_nodes_in_two_groups_completes_and_every_node_reports_it(
    estate: Estate,
) -> None:
    e = estate
    new = e.next_version()
    rid = e.publish(new)
    t0 = time.monotonic()
    rollout = e.start_rollout(rid, f"{new} everywhere", "50%:1:0", "100%:1:0")
    detail = e.rollout(rollout)
    assert detail["members"] == N_NODES, detail
    assert [g["total"] for g in detail["groups"]] == [10, 10], detail["groups"]
    first = {n["node_id"] for n in _members(detail, 0)}
    second_opened_early: list[str] = []

    def completed() -> bool:
        d = e.rollout(rollout)
        g1, g2 = d["groups"]
        if g2["open"] and g1["confirmed"] < g1["total"]:
            second_opened_early.append(str(d["groups"]))
        if not g2["open"]:
            # the second group waits: none of its nodes is offered or reports anything
            early = [n for n in d["nodes"] if n["group"] == 1 and n["status"] is not None]
            second_opened_early.extend(str(n) for n in early)
        return bool(d["status"] == "completed")

    e.wait("the rollout to complete", completed, 300)
    completed_after = time.monotonic() - t0
    assert second_opened_early == []
    detail = e.rollout(rollout)
    assert detail["paused_reason"] is None
    for g in detail["groups"]:
        assert (g["open"], g["confirmed"], g["failed"], g["total"]) == (True, 10, 0, 10), g
    assert all(n["status"] == "confirmed" for n in detail["nodes"]), detail["nodes"]
    assert {n["node_id"] for n in _members(detail, 0)} == first
    # every node runs it (its console) and the fleet's node view shows it from health
    e.wait(
        "every node booted on the new version",
        lambda: all((e.running(n) or ("",))[0] == new for n in e.nodes),
        60,
    )

    def fleet_shows_the_new_version() -> bool:
        for n in e.nodes:
            h, r = e.health(n), e.running(n)
            if h is None or r is None or (h["fw"], h["slot"]) != (new, r[1]):
                return False
        return True

    e.wait("the fleet's health showing the new version", fleet_shows_the_new_version, 90)
    detail = e.rollout(rollout)
    assert {n["node_id"]: n["running"] for n in detail["nodes"]} == dict.fromkeys(e.nodes, new)
    assert detail["status"] == "completed"
    print(
        f"\n{N_NODES} nodes updated: rollout completed after {completed_after:.0f} s, "
        f"fleet health caught up after {time.monotonic() - t0:.0f} s"
    )
