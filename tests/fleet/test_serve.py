"""``serve``: refuses to start without a key outside development; serves with several workers."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fleet.core.config import ConfigError
from fleet.main import serve
from tests.vmutil import REPO


def test_serve_refuses_to_start_without_master_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITOIRE_FLEET_ENVIRONMENT", "production")
    monkeypatch.delenv("TERRITOIRE_FLEET_MASTER_KEY", raising=False)
    monkeypatch.delenv("TERRITOIRE_FLEET_MASTER_KEY_FILE", raising=False)
    # serve() writes these for its workers: let monkeypatch restore them afterwards
    monkeypatch.setenv("TERRITOIRE_FLEET_DATABASE_URL", "unset")
    monkeypatch.setenv("TERRITOIRE_FLEET_MIGRATE_ON_START", "true")
    with pytest.raises(ConfigError):
        serve("127.0.0.1", 0, f"sqlite:///{tmp_path}/fleet.db", 1)
    assert not (tmp_path / "fleet.db").exists()


def test_serve_migrates_and_answers_with_two_workers(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
    env = {
        **os.environ,
        "TERRITOIRE_FLEET_ENVIRONMENT": "production",
        "TERRITOIRE_FLEET_MASTER_KEY_FILE": str(key_file),
    }
    url = f"sqlite:///{tmp_path}/fleet.db"
    code = f"from fleet.main import serve; serve('127.0.0.1', {port}, {url!r}, 2)"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/utils/ready", timeout=2)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "server exited"
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.2)
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/public/register")
        assert r.status_code == 200
        assert r.json() == {"data": [], "next_cursor": None}
    finally:
        proc.terminate()
        proc.wait(20)
