"""Gateway HIL under QEMU: ten emulated nodes (MicroPython VMs) -> a private Mosquitto (host)
-> the gateway as an aarch64 process in an emulated Raspberry Pi userland (Debian bookworm
arm64, Python 3.11, aarch64 wheels; qemu-user) -> the fleet service (host), over loopback.

One scenario (hil_tests/emulated_pi.py), set up once for the module; each test checks one
promise of it, the SIGKILL test last. See docs/hil.md for what this emulation proves and what
it does not.
"""

from __future__ import annotations

import os
import platform
import random
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest

from hil_tests.emulated_pi import Scenario, pi_territory, wait_for
from protocol.codec import encode_reading, sign
from protocol.credentials import mqtt_password
from protocol.topics import node_topic
from tools.pi_image import PiImage, ensure_image

# the first run on a fresh machine builds the image (about 35 s) inside this budget
pytestmark = [pytest.mark.hil, pytest.mark.timeout(900)]

FORGED_COUNTER = 900_000
BAD_MAC = 'territoire_gateway_readings_rejected_total{reason="bad_mac"}'


@pytest.fixture(scope="session")
def pi_image() -> PiImage:
    return ensure_image()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory, pi_image: PiImage) -> Iterator[Scenario]:
    with pi_territory(tmp_path_factory.mktemp("qemu"), pi_image) as sc:
        yield sc


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
    # a temperature is a physical measurement, not a count of people: published exact, from
    # at least 3 readings, with no noise and no epsilon spent (docs/privacy.md)
    assert all(a["n"] >= 3 and a["dp_mechanism"] is None and a["dp_epsilon"] is None
               for a in temps), temps


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
