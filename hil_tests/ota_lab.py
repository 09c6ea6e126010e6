"""A bench for over-the-air updates on this machine: release builds signed with a throwaway
key, a private Mosquitto, the gateway as its own process, the fleet stand-in, and emulated
nodes flashed with the current firmware (hil_tests/test_ota_hil.py, bench/ota.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.broker import MosquittoProcess, free_port
from gateway.config_file import load_settings
from gateway.fleet_client import Identity
from gateway.service import Gateway
from gateway.store import NodeRecord
from hil_tests import prometheus
from hil_tests.fleet_standin import FleetStandIn, Release
from protocol import manifest as mf
from protocol.credentials import mqtt_password
from tools.demo.territory import plan_nodes
from tools.emulator import EmulatedNode
from tools.release.bundle import FIRMWARE_DIR, ROOT_FILES, firmware_files, node_config

__all__ = [
    "BOOTED",
    "Lab",
    "app_files",
    "build_release",
    "gateway_metrics",
    "lab",
    "release_key",
    "wait_for",
    "with_version",
]

REPO = Path(__file__).resolve().parent.parent
NOW_SLACK_S = 600
BOOTED = re.compile(r"^node (\S+) boot (\d+) fw (\S+) slot ([ab])", re.MULTILINE)


def release_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=mf.RSA_BITS)


def app_files(
    edit: Callable[[Path], None] | None = None,
    version: str | None = None,
) -> dict[str, bytes]:
    """{slot path: .mpy} of the firmware, optionally edited and with another version."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "firmware"
        shutil.copytree(FIRMWARE_DIR, src, ignore=shutil.ignore_patterns("__pycache__"))
        if version is not None:
            (src / "version.py").write_text(f'VERSION = "{version}"\n')
        if edit is not None:
            edit(src)
        files = firmware_files(root=src)
    return {p[2:]: d for p, d in files.items() if p not in ROOT_FILES}


def with_version(files: dict[str, bytes], version: str) -> dict[str, bytes]:
    """``files`` with only ``version.mpy`` rebuilt for ``version`` (the one-module change)."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "version.py").write_text(f'VERSION = "{version}"\n')
        compiled = firmware_files(root=Path(tmp))
    return {**files, "version.mpy": compiled["a/version.mpy"]}


def build_release(
    release_id: int,
    version: str,
    key: rsa.RSAPrivateKey,
    files: dict[str, bytes],
    *,
    hardware: str = "emu-x64",
    sv: int = 1,
    expires_in: int = 86400,
) -> Release:
    now = int(time.time())
    body = mf.encode_body(
        version=version,
        hardware=hardware,
        secure_version=sv,
        expires=now + expires_in,
        created=min(now, now + expires_in - 1),
        files=mf.file_entries(files),
    )
    signed = mf.sign_body(body, key)
    by_hash = {hashlib.sha256(d).hexdigest(): d for d in files.values()}
    return Release(release_id, version, hardware, signed, by_hash)


def gateway_metrics(http_port: int) -> dict[str, float]:
    """The gateway's Prometheus text as {series: value}."""
    return prometheus.scrape(http_port)


def wait_for(
    what: str,
    predicate: Callable[[], object],
    timeout: float,
    nodes: Mapping[str, EmulatedNode],
    gateway_log: Path,
    *,
    poll_s: float = 0.1,
    console_chars: int = 3000,
) -> None:
    """Until ``predicate()``; on timeout an AssertionError with the consoles and gateway log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll_s)
    consoles = "\n".join(
        f"--- {n} ---\n{node.console()[-console_chars:]}" for n, node in nodes.items()
    )
    lines = gateway_log.read_text().splitlines() if gateway_log.exists() else []
    log = "\n".join(x for x in lines if "HTTP Request" not in x)[-3000:]
    raise AssertionError(f"timed out waiting for {what}\n{consoles}\n--- gateway ---\n{log}")


@dataclass
class Lab:
    workdir: Path
    key: rsa.RSAPrivateKey
    fleet: FleetStandIn
    broker: MosquittoProcess
    http_port: int
    gateway_log: Path
    nodes: dict[str, EmulatedNode] = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        return gateway_metrics(self.http_port)

    def running(self, node_id: str) -> tuple[str, str] | None:
        """(version, slot) of the node's last boot that got as far as the app."""
        found = BOOTED.findall(self.nodes[node_id].console())
        return (found[-1][2], found[-1][3]) if found else None

    def statuses(self, node_id: str) -> list[tuple[str, str, str]]:
        return [
            (s["ver"], s["st"], s["why"]) for s in self.fleet.statuses() if s["node_id"] == node_id
        ]

    def wait(self, what: str, predicate: Callable[[], object], timeout: float) -> None:
        wait_for(what, predicate, timeout, self.nodes, self.gateway_log)


def _gateway_conf(
    tmp: Path, mqtt_port: int, http_port: int, fleet_url: str, ota: dict[str, float]
) -> Path:
    conf = tmp / "gateway.toml"
    ota_lines = "".join(f"{k} = {v}\n" for k, v in ota.items())
    conf.write_text(
        f'name = "gw-ota"\ndata_dir = "{tmp / "gw"}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "gw-ota"\n'
        f'[broker]\nconf_dir = "{tmp / "broker-conf"}"\npid_file = "{tmp / "broker.pid"}"\n'
        f"[http]\nport = {http_port}\n"
        f'[fleet]\nurl = "{fleet_url}"\nsync_interval_s = 3600.0\n'
        f"[uplink]\ninterval_s = 1.0\n"
        f"[ota]\n{ota_lines}"
    )
    return conf


def secret_for(node_id: str) -> bytes:
    return hashlib.sha256(b"ota lab " + node_id.encode()).digest()


@contextlib.contextmanager
def lab(
    workdir: Path,
    n_nodes: int,
    *,
    key: rsa.RSAPrivateKey | None = None,
    ota: dict[str, float] | None = None,
    node_extra: dict[str, Any] | None = None,
    interval_s: float = 0.5,
) -> Iterator[Lab]:
    """Everything started, nodes running firmware 0.1.0 from slot a; all stopped at the end."""
    key = key or release_key()
    mqtt_port, http_port = free_port(), free_port()
    settings_ota = {
        "poll_interval_s": 1.0,
        "offer_interval_s": 2.0,
        "status_interval_s": 0.5,
        **(ota or {}),
    }
    data = workdir / "gw"
    data.mkdir(parents=True, exist_ok=True)
    identity = Identity.load(data, "gw-ota")
    plans = plan_nodes(n_nodes, kinds=("weather",))
    procs: list[subprocess.Popen[bytes]] = []
    with FleetStandIn(identity.signing.public_key()) as fleet:
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        fleet.add_key(mf.key_id(key.public_key()), pem.decode())
        conf = _gateway_conf(workdir, mqtt_port, http_port, fleet.url, settings_ota)
        setup = Gateway(load_settings(conf))
        for p in plans:
            setup.add_node(NodeRecord(p.node_id, p.zone, {1: secret_for(p.node_id)}, False))
        broker = MosquittoProcess(
            workdir / "broker", mqtt_port, extra_conf=setup.broker_files.conf()
        )
        setup.store.close()
        broker.start()
        assert broker.proc is not None
        (workdir / "broker.pid").write_text(str(broker.proc.pid))
        log = workdir / "gateway.log"
        with log.open("ab") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tools.cli", "gateway", "run", "--config", str(conf)],
                    cwd=REPO,
                    stdout=out,
                    stderr=out,
                )
            )
        t = Lab(workdir, key, fleet, broker, http_port, log)
        bundle = firmware_files()
        try:
            for p in plans:
                node = EmulatedNode(
                    workdir / p.node_id,
                    p.board(speed=60.0),
                    upstream_port=mqtt_port,
                    compensate_heap=True,
                )
                node.create()
                files = dict(bundle)
                files["node.json"] = node_config(
                    node_id=p.node_id,
                    key_id=1,
                    secret=secret_for(p.node_id),
                    mqtt_host="127.0.0.1",
                    mqtt_port=node.broker_port,
                    mqtt_password=mqtt_password(secret_for(p.node_id)),
                    sensors=p.kind.sensors,
                    zone=p.zone,
                    interval_s=interval_s,
                    status_s=2,
                    ack_timeout_s=3,
                    trial_s=60,
                    release_keys=[mf.public_numbers(key.public_key())],
                    hw="emu-x64",
                    **(node_extra or {}),
                )
                node.write_files(files)
                t.nodes[p.node_id] = node
            for node in t.nodes.values():
                node.start()
            yield t
        finally:
            for node in t.nodes.values():
                node.close()
            for proc in procs:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            broker.stop()
