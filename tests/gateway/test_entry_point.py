"""``python -m gateway``: the Pi's entry point answers bad input with one line and an exit
code, never a traceback, and needs nothing beyond the gateway's own dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _gateway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)


def test_missing_configuration_is_reported_with_exit_code_2(tmp_path: Path) -> None:
    result = _gateway("run", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: bad gateway configuration: configuration file not found: "
        f"{tmp_path / 'nope.toml'}")


def test_enrolling_without_a_fleet_url_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "gateway.toml"
    conf.write_text(f'data_dir = "{tmp_path / "gw"}"\n')
    result = _gateway("enroll", "--config", str(conf), "--token", "T0K3N")
    assert result.returncode == 2
    assert "the configuration has no fleet.url" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_fleet_is_reported_with_exit_code_3(tmp_path: Path) -> None:
    conf = tmp_path / "gateway.toml"
    # port 9 (discard) on loopback: nothing listens there
    conf.write_text(f'data_dir = "{tmp_path / "gw"}"\n[fleet]\nurl = "http://127.0.0.1:9"\n')
    result = _gateway("enroll", "--config", str(conf), "--token", "T0K3N")
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_a_command_is_required() -> None:
    result = _gateway()
    assert result.returncode == 2
    assert "{run,enroll}" in result.stderr
