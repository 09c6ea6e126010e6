"""Gateway HIL: emulated nodes -> a real Mosquitto -> the gateway as its own process
(`territoire gateway run`), killed with SIGKILL mid-stream and restarted."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from gateway.broker import free_port
from gateway.config_file import load_settings
from hil_tests.gateway_process import broker_for_gateway, start_gateway, start_nodes, stored
from hil_tests.territory_fixture import STATUS
from tools.demo.territory import plan_nodes
from tools.emulator import EmulatedNode

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
    broker, _key = broker_for_gateway(conf, plans, tmp_path, mqtt_port)
    gw = start_gateway(conf, tmp_path / "gateway.log")
    nodes = []
    rng = random.Random(7)
    try:
        nodes = start_nodes(tmp_path, plans, mqtt_port, interval_s=0.5, status_s=2,
                            ack_timeout_s=3)
        db = Path(settings.data_dir) / "gateway.db"
        deadline = time.monotonic() + 60
        while len(stored(db)) < 15 and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(3):
            time.sleep(rng.uniform(0.5, 2.5))
            gw.kill()  # SIGKILL: no clean shutdown, whatever the gateway was doing
            gw.wait()
            time.sleep(1.0)
            gw = start_gateway(conf, tmp_path / "gateway.log")
        time.sleep(3)
        deadline = time.monotonic() + 90
        while not all(_drained(n) for n in nodes) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert all(_drained(n) for n in nodes), [n.console()[-800:] for n in nodes]
        for n in nodes:
            n.stop()
        rows = stored(db)
        twice = [k for k, v in Counter(rows).items() if v > 1]
        assert twice == [], f"stored twice: {twice[:10]}"
        for p, n in zip(plans, nodes, strict=True):
            measured = int(STATUS.findall(n.console())[-1][2])
            mine = [c for node_id, c in rows if node_id == p.node_id]
            # every reading the node let go of (its outbox is empty) is in the gateway's store
            assert len(mine) >= measured, (p.node_id, len(mine), measured)
    finally:
        for n in nodes:
            n.close()
        gw.kill()
        gw.wait()
        broker.stop()
    assert os.path.exists(tmp_path / "gateway.log")
