"""Gateway HIL: emulated nodes -> a real Mosquitto -> the gateway as its own process
(`territoire gateway run`), killed with SIGKILL mid-stream and restarted."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from gateway.broker import MosquittoProcess, free_port
from gateway.config import load_settings
from gateway.service import Gateway
from gateway.store import NodeRecord
from hil_tests.territory_fixture import STATUS, secret_for
from protocol.credentials import mqtt_password
from tools.bundle import firmware_files, node_config
from tools.emulator import EmulatedNode
from tools.territory import plan_nodes

pytestmark = pytest.mark.hil
REPO = Path(__file__).resolve().parent.parent


def _config(tmp: Path, mqtt_port: int) -> Path:
    conf = tmp / "gateway.toml"
    conf.write_text(
        f'name = "gw-hil"\ndata_dir = "{tmp / "gw"}"\n'
        f'[mqtt]\nport = {mqtt_port}\nclient_id = "gw-hil"\n'
        f'[broker]\nconf_dir = "{tmp / "broker-conf"}"\npid_file = "{tmp / "broker.pid"}"\n'
        f'[http]\nport = {free_port()}\n'
    )
    return conf


def _start_gateway(conf: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "gateway", "run", "--config", str(conf)],
            cwd=REPO, stdout=out, stderr=out,
        )


def _stored(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as c:
        return list(c.execute("SELECT node_id, counter FROM readings"))


def _drained(node: EmulatedNode) -> bool:
    found = STATUS.findall(node.console())
    return bool(found) and int(found[-1][3]) == 0 and int(found[-1][2]) > 0


def test_gateway_killed_mid_stream_loses_no_acknowledged_reading_and_counts_none_twice(
    tmp_path: Path,
) -> None:
    mqtt_port = free_port()
    conf = _config(tmp_path, mqtt_port)
    settings = load_settings(conf)
    plans = plan_nodes(3, kinds=("weather",))
    setup = Gateway(settings)  # registers the nodes and writes the broker's users and ACL
    for p in plans:
        setup.add_node(NodeRecord(p.node_id, p.zone, {1: secret_for(p.node_id)}, False))
    broker = MosquittoProcess(tmp_path / "broker", mqtt_port, extra_conf=setup.broker_files.conf())
    setup.store.close()
    broker.start()
    assert broker.proc is not None
    (tmp_path / "broker.pid").write_text(str(broker.proc.pid))
    gw = _start_gateway(conf, tmp_path / "gateway.log")
    nodes = []
    bundle = firmware_files()
    rng = random.Random(7)
    try:
        for p in plans:
            node = EmulatedNode(tmp_path / p.node_id, p.board(speed=60.0), compensate_heap=True)
            node.create()
            files = dict(bundle)
            files["node.json"] = node_config(
                node_id=p.node_id, key_id=1, secret=secret_for(p.node_id),
                mqtt_host="127.0.0.1", mqtt_port=mqtt_port,
                mqtt_password=mqtt_password(secret_for(p.node_id)), sensors=p.kind.sensors,
                zone=p.zone, interval_s=0.5, status_s=2, ack_timeout_s=3,
            )
            node.write_files(files)
            node.start()
            nodes.append(node)
        db = Path(settings.data_dir) / "gateway.db"
        deadline = time.monotonic() + 60
        while len(_stored(db)) < 15 and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(3):
            time.sleep(rng.uniform(0.5, 2.5))
            gw.kill()  # SIGKILL: no clean shutdown, whatever the gateway was doing
            gw.wait()
            time.sleep(1.0)
            gw = _start_gateway(conf, tmp_path / "gateway.log")
        time.sleep(3)
        deadline = time.monotonic() + 90
        while not all(_drained(n) for n in nodes) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert all(_drained(n) for n in nodes), [n.console()[-800:] for n in nodes]
        for n in nodes:
            n.stop()
        stored = _stored(db)
        twice = [k for k, v in Counter(stored).items() if v > 1]
        assert twice == [], f"stored twice: {twice[:10]}"
        for p, n in zip(plans, nodes, strict=True):
            measured = int(STATUS.findall(n.console())[-1][2])
            mine = [c for node_id, c in stored if node_id == p.node_id]
            # every reading the node let go of (its outbox is empty) is in the gateway's store
            assert len(mine) >= measured, (p.node_id, len(mine), measured)
    finally:
        for n in nodes:
            n.close()
        gw.kill()
        gw.wait()
        broker.stop()
    assert os.path.exists(tmp_path / "gateway.log")
