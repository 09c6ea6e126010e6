"""`territoire demo` end to end: fleet, Mosquitto, gateway and emulated nodes, then nothing
left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.hil
REPO = Path(__file__).resolve().parent.parent


def _children_alive(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True, check=False)
    return [line for line in out.stdout.splitlines() if "pgrep" not in line]


def test_demo_runs_the_whole_chain_and_leaves_no_process(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tools.cli", "demo", "--nodes", "3", "--duration", "40",
         "--interval", "2", "--summary", str(summary), "--workdir", str(tmp_path / "work")],
        cwd=REPO, capture_output=True, text=True, timeout=400, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads(summary.read_text())
    assert data["nodes_started"] == 3
    assert set(data["accepted_by_node"]) == {"ang-0001", "ang-0002", "ang-0003"}
    assert all(n > 0 for n in data["accepted_by_node"].values())
    assert data["readings_rejected"] == 0
    assert data["urls"]["dashboard"].startswith("http://127.0.0.1:")
    assert _children_alive(str(tmp_path / "work")) == []
