"""`territoire gateway run` failures reach the operator as one line, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from gateway.broker import free_port

REPO = Path(__file__).resolve().parents[2]


def _run(conf: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", "gateway", "run", "--config", str(conf)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_http_port_in_use_is_a_clear_message_with_exit_code_4(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        conf = tmp_path / "gateway.toml"
        conf.write_text(
            f'name = "gw"\ndata_dir = "{tmp_path / "gw"}"\n'
            f"[mqtt]\nport = {free_port()}\n[http]\nport = {port}\n"
        )
        done = _run(conf)
    assert done.returncode == 4, done.stderr
    assert "the gateway stopped" in done.stderr
    assert "address already in use" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_unreadable_configuration_is_a_clear_message_with_exit_code_2(tmp_path: Path) -> None:
    conf = tmp_path / "gateway.toml"
    conf.write_text("name = [unclosed\n")
    done = _run(conf)
    assert done.returncode == 2, done.stderr
    assert "bad gateway configuration" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
