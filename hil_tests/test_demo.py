"""`territoire demo` end to end: fleet, Mosquitto, gateway and emulated nodes, then nothing
left behind, whether it ends by --duration or by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_demo_runs_the_whole_chain_and_leaves_no_process(tmp_path: Path) -> None:
    summary, work = tmp_path / "summary.json", tmp_path / "work"
    before = {c.pid for c in psutil.Process().children(recursive=True)}  # other fixtures'
    proc = subprocess.run(
        [sys.executable, "-m", "tools.cli", "demo", "--nodes", "6", "--duration", "60",
         "--summary", str(summary), "--workdir", str(work)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    data = json.loads(summary.read_text())
    assert data["nodes_started"] == 6
    assert set(data["accepted_by_node"]) == {f"ang-{i:04d}" for i in range(1, 7)}
    assert all(n > 0 for n in data["accepted_by_node"].values())
    assert data["readings_rejected"] == 0
    assert data["readings_accepted"] == sum(data["accepted_by_node"].values())
    assert data["readings_published"] >= data["readings_accepted"]
    assert data["aggregates_published"] >= 0
    for key in ("dashboard", "register_html", "open_data", "open_data_csv", "gateway_metrics"):
        assert data["urls"][key].startswith("http://127.0.0.1:")
    out = " ".join(proc.stdout.split())
    assert data["urls"]["dashboard"] in out
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
