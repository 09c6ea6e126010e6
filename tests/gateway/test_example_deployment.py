"""The shipped example configuration, run as the real gateway process with the Mosquitto it
manages (as the shipped systemd unit runs it): its open-data endpoints answer at the URLs
docs/gateway.md gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gateway.broker import free_port
from gateway.fleet_client import Identity

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "gateway" / "deploy"


def test_the_example_configuration_serves_open_data(tmp_path: Path) -> None:
    mqtt_port, http_port, public_port = free_port(), free_port(), free_port()
    data = tmp_path / "gw"
    # only what a test machine cannot have changes: the paths and the ports
    text = (DEPLOY / "gateway.example.toml").read_text()
    for old, new in [("/var/lib/territoire-gateway", str(data)),
                     ("/etc/territoire/zones.geojson",
                      str(REPO / "data" / "zones" / "angers-quartiers.geojson")),
                     ("port = 1883", f"port = {mqtt_port}"),
                     ("port = 9108", f"port = {http_port}"),
                     ("port = 9110", f"port = {public_port}")]:
        assert old in text
        text = text.replace(old, new)
    conf = tmp_path / "gateway.toml"
    conf.write_text(text)
    Identity.load(data, "gw-centre")  # as `gateway enroll` leaves it (the fleet is not reached)
    unit = (DEPLOY / "territoire-gateway.service").read_text()
    exec_start = next(x for x in unit.splitlines() if x.startswith("ExecStart="))
    args = exec_start.split(" -m gateway ", 1)[1].replace("/etc/territoire/gateway.toml",
                                                          str(conf)).split()
    log = (tmp_path / "gateway.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway", *args], cwd=REPO, stdout=log,
                            stderr=log, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{public_port}"  # open data: the public listener
        deadline = time.monotonic() + 60
        while True:
            try:
                csv = httpx.get(f"{base}/opendata/aggregates.csv", timeout=5)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, (tmp_path / "gateway.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "gateway.log").read_text()
                time.sleep(0.2)
        assert csv.status_code == 200, csv.text
        assert csv.headers["content-type"].startswith("text/csv")
        jsonld = httpx.get(f"{base}/opendata/aggregates.jsonld", timeout=5)
        assert jsonld.status_code == 200, jsonld.text
        assert isinstance(jsonld.json(), list)
        # the operator's metrics are on their own listener only
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 404
        assert httpx.get(f"http://127.0.0.1:{http_port}/metrics", timeout=5).status_code == 200
        # the managed Mosquitto listens for the nodes on every interface, at mqtt.port
        assert (data / "broker" / "run" / "mosquitto.conf").read_text().count(
            f"listener {mqtt_port} 0.0.0.0") == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()
