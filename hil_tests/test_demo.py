"""`territoire demo` end to end: fleet, Mosquitto, gateway and emulated nodes, then nothing
left behind, whether it ends by --duration or by Ctrl-C."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.hil
REPO = Path(__file__).resolve().parent.parent


def _processes_of(workdir: Path) -> list[str]:
    """Every process whose working directory, command line or environment names the demo's
    directory (the VMs run in their node directory, Mosquitto and the fleet name their files)."""
    mark = str(workdir)
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(proc / "cwd")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (proc / "environ").read_bytes().decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if mark in cwd or mark in cmdline or mark in environ:
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


def _coloured_zones(home: str) -> list[str]:
    """The zones the public map colours with a PM2.5 figure and draws with an outline."""
    with httpx.Client(base_url=home, timeout=10) as http:
        figures = http.get("/api/v1/public/map", params={"metric": "pm25_ugm3"}).json()
        valued = {z["zone_id"] for z in figures["zones"]
                  if z["value"] is not None and z["colour"] != figures["no_data_colour"]}
        if not valued:
            return []
        page = http.get("/map", params={"metric": "pm25_ugm3"}).text
    found = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S)
    assert found, page[:2000]
    drawn = json.loads(html.unescape(found[1]))["zones"]
    return sorted(z["id"] for z in drawn if z["id"] in valued and z["boundary"]["coordinates"])


def test_demo_runs_the_whole_chain_opens_on_its_coloured_map_and_leaves_no_process(
    tmp_path: Path,
) -> None:
    summary, work, log = tmp_path / "summary.json", tmp_path / "work", tmp_path / "out.log"
    before = {c.pid for c in psutil.Process().children(recursive=True)}  # other fixtures'
    coloured: list[str] = []
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "demo", "--nodes", "6", "--duration", "75",
             "--summary", str(summary), "--workdir", str(work)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            # while it runs: its public home, then the map coloured by its nodes' readings
            home = None
            deadline = time.monotonic() + 300
            while demo.poll() is None and time.monotonic() < deadline and not coloured:
                text = log.read_text(errors="replace")
                m = re.search(r"public home\s+(http://127\.0\.0\.1:\d+/)", text)
                if home is None and m:
                    home = m[1]
                    assert httpx.get(home, timeout=10).status_code == 200
                if home is not None:
                    coloured = _coloured_zones(home)
                time.sleep(2)
            assert demo.wait(300) == 0, log.read_text()
        finally:
            if demo.poll() is None:
                demo.kill()
    output = log.read_text(errors="replace")
    assert "Traceback" not in output
    # the demo's first air-quality nodes are all in the first quartier: it is coloured and drawn
    assert coloured == ["centre"], output[-3000:]
    data = json.loads(summary.read_text())
    assert data["nodes_started"] == 6
    assert set(data["accepted_by_node"]) == {f"ang-{i:04d}" for i in range(1, 7)}
    assert all(n > 0 for n in data["accepted_by_node"].values())
    assert data["readings_rejected"] == 0
    assert data["readings_accepted"] == sum(data["accepted_by_node"].values())
    assert data["readings_published"] >= data["readings_accepted"]
    assert data["aggregates_published"] > 0
    assert next(iter(data["urls"])) == "home"
    for key in ("home", "dashboard", "register_html", "open_data", "open_data_csv",
                "gateway_metrics"):
        assert data["urls"][key].startswith("http://127.0.0.1:")
    out = " ".join(output.split())
    assert out.index(data["urls"]["home"]) < out.index(data["urls"]["dashboard"])
    assert data["urls"]["open_data"] in out
    assert _processes_of(work) == []
    assert [c for c in psutil.Process().children(recursive=True) if c.pid not in before] == []


def test_ctrl_c_stops_the_demo_and_every_process_it_started(tmp_path: Path) -> None:
    summary, work, log = tmp_path / "summary.json", tmp_path / "work", tmp_path / "out.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "demo", "--nodes", "2", "--summary",
             str(summary), "--workdir", str(work)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 300
            while "emulated nodes started" not in log.read_text(errors="replace"):
                assert demo.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
            assert len(_processes_of(work)) >= 4  # fleet, Mosquitto, two VMs at least
            demo.send_signal(signal.SIGINT)  # what Ctrl-C sends
            assert demo.wait(120) == 0, log.read_text()
        finally:
            if demo.poll() is None:
                demo.kill()
    assert "Traceback" not in log.read_text()
    assert json.loads(summary.read_text())["nodes_started"] == 2
    assert _processes_of(work) == []
