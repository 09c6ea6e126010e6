"""The gateway as its own process (`territoire gateway run`) for the HIL scenarios, and what
they read of it: its store and its /metrics."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.broker import MosquittoProcess
from gateway.config_file import load_settings
from gateway.service import Gateway
from gateway.store import NodeRecord
from hil_tests import prometheus
from hil_tests.territory_fixture import secret_for
from protocol.credentials import mqtt_password
from tools.demo.territory import NodePlan
from tools.emulator import EmulatedNode
from tools.release.bundle import firmware_files, node_config

REPO = Path(__file__).resolve().parent.parent


def start_gateway(conf: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "gateway", "run", "--config", str(conf)],
            cwd=REPO, stdout=out, stderr=out,
        )


def stored(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as c:
        return list(c.execute("SELECT node_id, counter FROM readings"))


def metrics(port: int) -> dict[str, float]:
    """/metrics samples by name with their labels; {} while the gateway does not answer."""
    try:
        return prometheus.scrape(port, timeout=5)
    except OSError:
        return {}


def broker_for_gateway(conf: Path, plans: list[NodePlan], workdir: Path,
                       mqtt_port: int) -> tuple[MosquittoProcess, Ed25519PublicKey]:
    """Register the nodes in the gateway's store (as a fleet sync would; the gateway's keys are
    made on the way), then start Mosquitto with the users and ACL the gateway wrote, its pid in
    the gateway's ``broker.pid_file`` for reloads. Returns the broker and the gateway's
    signing key."""
    settings = load_settings(conf)
    setup = Gateway(settings)
    try:
        for p in plans:
            setup.add_node(NodeRecord(p.node_id, p.zone, {1: secret_for(p.node_id)}, False))
        extra = setup.broker_files.conf()
        key = setup.identity.signing.public_key()
    finally:
        setup.store.close()
    broker = MosquittoProcess(workdir / "broker", mqtt_port, extra_conf=extra)
    broker.start()
    assert broker.proc is not None
    Path(settings.broker.pid_file).write_text(str(broker.proc.pid))
    return broker, key


def start_nodes(workdir: Path, plans: list[NodePlan], mqtt_port: int, *, interval_s: float,
                status_s: float, ack_timeout_s: float) -> list[EmulatedNode]:
    """Emulated nodes flashed with the firmware bundle and their configuration, started."""
    nodes = []
    bundle = firmware_files()
    for p in plans:
        node = EmulatedNode(workdir / p.node_id, p.board(speed=60.0), compensate_heap=True)
        node.create()
        files = dict(bundle)
        files["node.json"] = node_config(
            node_id=p.node_id, key_id=1, secret=secret_for(p.node_id),
            mqtt_host="127.0.0.1", mqtt_port=mqtt_port,
            mqtt_password=mqtt_password(secret_for(p.node_id)), sensors=p.kind.sensors,
            zone=p.zone, hw="emu-x64", interval_s=interval_s, status_s=status_s,
            ack_timeout_s=ack_timeout_s,
        )
        node.write_files(files)
        node.start()
        nodes.append(node)
    return nodes
