"""Run a fleet service process on this machine (demo and tests): SQLite in a directory, a
generated master key, the first admin, and an API token for it."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from fleet.admin import create_admin
from gateway.broker import free_port
from tools.fleet_client import login_token

# the demo's daily budget per zone, for its one-minute windows: a demonstration, NOT a privacy
# setting (docs/privacy.md, "The demo"); its gateway and its fleet use the same
DEMO_EPSILON_PER_ZONE_DAY = 100.0

__all__ = ["LocalFleet"]


@dataclass
class LocalFleet:
    workdir: Path
    port: int = 0
    admin_email: str = "admin@territoire.example"
    admin_password: str = ""
    proc: subprocess.Popen[bytes] | None = None
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        key_file = self.workdir / "master.key"
        if not key_file.exists():
            key_file.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
            key_file.chmod(0o600)
        db = f"sqlite:///{self.workdir / 'fleet.db'}"
        env = {**os.environ, "TERRITOIRE_FLEET_MASTER_KEY_FILE": str(key_file),
               "TERRITOIRE_FLEET_ENVIRONMENT": "development",
               # the demo's one-minute windows come with their documented demonstration budget
               # (docs/privacy.md, "The demo"); the fleet allots and enforces the same per zone
               "TERRITOIRE_FLEET_PRIVACY_ZONE_EPSILON_PER_DAY": str(DEMO_EPSILON_PER_ZONE_DAY)}
        log = (self.workdir / "fleet.log").open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, our module
            [sys.executable, "-c",
             f"from fleet.main import serve; serve('127.0.0.1', {self.port}, {db!r}, 1)"],
            env=env, stdout=log, stderr=log, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/api/v1/utils/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = (self.workdir / "fleet.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the fleet service did not start:\n{tail}")
            time.sleep(0.2)
        if not self.admin_password:
            self.admin_password = secrets.token_urlsafe(18)
            create_admin(database_url=db, email=self.admin_email, password=self.admin_password,
                         full_name="Demo admin")
        self.token = login_token(self.url, self.admin_email, self.admin_password)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> LocalFleet:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
