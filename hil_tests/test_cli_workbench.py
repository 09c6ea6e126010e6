"""The technician's whole path through the real CLI, on an emulated board: provision against a
real fleet process, flash over the node's serial port (mpremote), self-test, and readings the
real gateway (its own process and private Mosquitto on a free port) accepts."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.broker import free_port
from tools.demo.local_fleet import LocalFleet
from tools.demo.territory import profile_for
from tools.fleet_client import FleetClient

pytestmark = pytest.mark.hil
REPO = Path(__file__).resolve().parent.parent


def territoire(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f


@pytest.fixture
def gateway(tmp_path: Path, fleet: LocalFleet) -> Iterator[tuple[Path, int, int]]:
    """A gateway process enrolled with the fleet, with its private Mosquitto: (config, mqtt
    port, http port)."""
    admin = FleetClient(fleet.url, fleet.token)
    admin.ensure_zone("centre", "Centre-ville")
    admin.ensure_profile(profile_for("air"))
    gw_id = f"gw-bench-{tmp_path.name[-6:].lower().replace('_', '-')}"
    token = admin.create_gateway(gw_id, "Passerelle de l'atelier")
    admin.close()
    mqtt_port, http_port = free_port(), free_port()
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'name = "{gw_id}"\ndata_dir = "{tmp_path / "gw"}"\n'
        f"[mqtt]\nport = {mqtt_port}\nclient_id = \"{gw_id}\"\n"
        f"[http]\nport = {http_port}\n"
        f'[fleet]\nurl = "{fleet.url}"\ngateway_id = "{gw_id}"\nsync_interval_s = 1.0\n'
    )
    enrolled = territoire("gateway", "enroll", "--config", str(config), "--token", token)
    assert enrolled.returncode == 0, enrolled.stderr
    log = (tmp_path / "gateway.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.cli", "gateway", "run", "--config", str(config),
         "--manage-broker"], cwd=REPO, stdout=log, stderr=log, start_new_session=True)
    try:
        _wait(lambda: _port_open(mqtt_port) and _port_open(http_port), 60, "the gateway")
        yield config, mqtt_port, http_port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()


def _metric(http_port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{http_port}/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(rf"^territoire_gateway_{name}\S* (\S+)$", text,
                                           re.MULTILINE))


def test_technician_path_provision_flash_selftest_then_gateway_accepts_readings(
    tmp_path: Path, fleet: LocalFleet, gateway: tuple[Path, int, int]
) -> None:
    config, mqtt_port, http_port = gateway
    admin = FleetClient(fleet.url, fleet.token)
    gw_id = config.read_text().split('"')[1]
    (code,) = admin.claim_codes(zone_id="centre", gateway_id=gw_id, profile_id="air")
    admin.close()
    prov = tmp_path / "nodes" / "node.json"
    # the label's QR scanned by a phone app arrives as a link carrying the code
    p = territoire("node", "provision", "--code", f"https://fleet.example/claim?code={code}",
                   "--fleet", fleet.url, "--gateway-host", "127.0.0.1", "--gateway-port",
                   str(mqtt_port), "--wifi-ssid", "territoire", "--interval", "5",
                   "--hw", "emu-x64", "--out", str(prov), "--json")
    assert p.returncode == 0, p.stderr
    shown = json.loads(p.stdout)
    doc = json.loads(prov.read_text())
    node_id, secret = doc["node_id"], doc["node"]["secret"]
    assert shown["node_id"] == node_id
    assert shown["kind"] == "air"
    assert stat.S_IMODE(prov.stat().st_mode) == 0o600
    assert secret not in p.stdout + p.stderr
    # the gateway learns the node from the fleet and gives it a broker account
    passwd = tmp_path / "gw" / "broker" / "passwd"
    _wait(lambda: passwd.exists() and f"{node_id}:" in passwd.read_text(), 60, "the sync")

    emu = tmp_path / "emu"
    t0 = time.monotonic()
    f = territoire("node", "flash", "--config", str(prov), "--emulated", str(emu), "--json")
    flash_s = time.monotonic() - t0
    assert f.returncode == 0, f.stdout + f.stderr
    result = json.loads(f.stdout)
    report = result["selftest"]
    assert report["passed"], report
    assert report["node_id"] == node_id
    checks = {c["name"]: c for c in report["checks"]}
    assert {"config", "sensor:bme280", "sensor:pms5003", "wifi", "gateway", "clock", "heap",
            "flash"} <= set(checks)
    assert all(c["status"] in ("ok", "warn") for c in checks.values())
    print(f"\nflash (bundle, copy, self-test) {flash_s:.1f} s: {result['seconds']}")

    t0 = time.monotonic()
    s = territoire("node", "selftest", node_id, "--emulated", str(emu), "--json")
    print(f"selftest {time.monotonic() - t0:.1f} s")
    assert s.returncode == 0, s.stdout + s.stderr
    assert json.loads(s.stdout)["passed"]

    # the flashed node runs: the gateway accepts its readings, the monitor shows them verified
    node = subprocess.Popen([sys.executable, "-m", "tools.cli", "node", "emulate", str(emu),
                             "--duration", "120"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        m = territoire("node", "monitor", node_id, "--gateway-config", str(config),
                       "--count", "3", "--duration", "90", "--json", timeout=120)
        assert m.returncode == 0, m.stdout + m.stderr
        events = [json.loads(line) for line in m.stdout.splitlines()]
        readings = [e for e in events if e["kind"] == "reading"]
        assert len(readings) >= 3, events
        assert all(e["verdict"] == "valid" for e in readings), events
        assert {"pm25_ugm3", "temp_c"} <= set(readings[0]["values"])
        # the secret from the provisioning file instead of the gateway's registry
        m = territoire("node", "monitor", node_id, "--gateway-config", str(config), "--config",
                       str(prov), "--count", "1", "--duration", "60", "--json", timeout=90)
        assert m.returncode == 0, m.stdout + m.stderr
        assert '"verdict": "valid"' in m.stdout
        _wait(lambda: _metric(http_port, "readings_accepted_total") >= 3, 30, "acceptance")
        assert _metric(http_port, "readings_rejected_total") == 0
    finally:
        node.send_signal(signal.SIGTERM)
        out, errs = node.communicate(timeout=30)
    assert node.returncode == 0, out + errs
    assert "/dev/pts/" in out
    assert "Traceback" not in out + errs
