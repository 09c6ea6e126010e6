"""Secrets at rest on the gateway, with the real gateway process and the Mosquitto it manages:
no node secret in the clear in any byte of any file of its data directory (the database, its
WAL and shared memory, the broker's files), and every file there 0600 and every directory 0700
although the test runs under umask 0022 (docs/security.md, "Hostile node and gateway
hardening")."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import orjson
import pytest

from gateway.broker import free_port
from gateway.config_file import load_settings
from gateway.fleet_client import apply_sync_page
from gateway.service import Gateway
from gateway.store import NodeRecord
from hil_tests import prometheus
from protocol.credentials import mqtt_password
from protocol.gateway_files import database
from protocol.sealed_secrets import seal_secret, sealed_to_text
from protocol.topics import node_topic
from tests.gateway.harness import reading

REPO = Path(__file__).resolve().parents[2]

# one node per way a secret reaches the store: a fleet sync (sealed by the fleet), added
# locally, and left in the clear by an older gateway
SYNCED, LOCAL, OLDER = "ang-0101", "ang-0102", "ang-0103"
SECRETS = {n: os.urandom(32) for n in (SYNCED, LOCAL, OLDER)}


def _forms(secret: bytes) -> list[bytes]:
    """Every way a 32-byte secret could be written down."""
    return [secret, secret.hex().encode(), secret.hex().upper().encode(),
            base64.b64encode(secret), base64.b64encode(secret).rstrip(b"="),
            base64.urlsafe_b64encode(secret), base64.urlsafe_b64encode(secret).rstrip(b"=")]


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            yield Path(dirpath) / name


def _check_data_dir(root: Path) -> list[str]:
    """The data directory as the threat model wants it; returns the files searched."""
    assert (root.stat().st_mode & 0o777) == 0o700
    for dirpath, dirs, _names in os.walk(root):
        for d in dirs:
            mode = (Path(dirpath) / d).stat().st_mode & 0o777
            assert mode == 0o700, f"{Path(dirpath) / d} is {mode:o}"
    searched = []
    for path in _files(root):
        mode = path.stat().st_mode & 0o777
        assert mode == 0o600, f"{path} is {mode:o}"
        data = path.read_bytes()
        for node_id, secret in SECRETS.items():
            for form in _forms(secret):
                assert form not in data, f"the secret of {node_id} in {path} as {form[:8]!r}"
        searched.append(str(path.relative_to(root)))
    return searched


def _register(conf: Path) -> None:
    """The nodes in the gateway's store, in this (umask 0022) process, before the gateway
    process runs: as a fleet sync brings them, as added locally, and as an older gateway
    left them (secrets as hex)."""
    gw = Gateway(load_settings(conf))
    try:
        public = gw.identity.sealing.public_key().public_bytes_raw()
        page = {"cursor": 1, "nodes": [{
            "node_id": SYNCED, "zone_id": "centre-ville",
            "keys": [{"key_id": 1, "sealed": sealed_to_text(
                seal_secret(public, SECRETS[SYNCED], SYNCED, 1))}]}]}
        assert apply_sync_page(gw.store, gw.identity.sealing, page).refused_secrets == 0
        gw.add_node(NodeRecord(LOCAL, "centre-ville", {1: SECRETS[LOCAL]}, False))
        gw.add_node(NodeRecord(OLDER, "centre-ville", {1: b"\0" * 32}, False))
    finally:
        gw.store.close()
    # what an older gateway wrote: {key id: [secret hex, expires]}
    db = sqlite3.connect(database(load_settings(conf).data_path), isolation_level=None)
    try:
        db.execute("UPDATE nodes SET keys=? WHERE node_id=?",
                   (orjson.dumps({"1": [SECRETS[OLDER].hex(), None]}).decode(), OLDER))
        assert SECRETS[OLDER].hex().encode() in (
            database(load_settings(conf).data_path).with_name("gateway.db-wal").read_bytes())
    finally:
        db.close()


async def _publish_readings(port: int) -> None:
    for node_id, secret in SECRETS.items():
        async with aiomqtt.Client("127.0.0.1", port, username=node_id,
                                  password=mqtt_password(secret)) as c:
            for counter in (1, 2, 3):
                await c.publish(node_topic(node_id, "reading"),
                                reading(node_id, counter, secret=secret), qos=1)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("loose_umask")
def test_no_node_secret_in_plaintext_under_the_data_directory_and_every_file_owner_only(
    tmp_path: Path,
) -> None:
    mqtt_port, http_port = free_port(), free_port()
    data = tmp_path / "gw"
    conf = tmp_path / "gateway.toml"
    conf.write_text(f'name = "gw-rest"\ndata_dir = "{data}"\n[mqtt]\nport = {mqtt_port}\n'
                    f'[http]\nport = {http_port}\n[broker]\nmanage = true\n')
    _register(conf)
    log = (tmp_path / "gateway.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "run", "--config", str(conf)],
                            cwd=REPO, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        accepted = 0.0
        published = False
        while accepted < 9:
            assert proc.poll() is None, (tmp_path / "gateway.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "gateway.log").read_text()
            try:
                samples = prometheus.scrape(http_port, timeout=5)
            except OSError:
                time.sleep(0.2)
                continue
            if not published:
                # each node logs in with the broker password derived from its secret, and its
                # readings verify: the secrets the store keeps sealed open to the right keys
                asyncio.run(_publish_readings(mqtt_port))
                published = True
            accepted = samples.get("territoire_gateway_readings_accepted_total", 0.0)
            time.sleep(0.2)
        # while it runs: the database, its WAL and shared memory, the broker's files
        searched = _check_data_dir(data)
        assert {"gateway.db", "gateway.db-wal", "gateway.db-shm", "broker/passwd",
                "broker/run/mosquitto.log", "sealing.key"} <= set(searched)
        assert (data / "gateway.db-wal").stat().st_size > 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()
    _check_data_dir(data)  # and once it stopped


def test_a_replaced_sealing_key_stops_the_gateway_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "gw"
    conf = tmp_path / "gateway.toml"
    conf.write_text(f'data_dir = "{data}"\n[mqtt]\nport = {free_port()}\n'
                    f'[http]\nport = {free_port()}\n')
    gw = Gateway(load_settings(conf))
    gw.add_node(NodeRecord(LOCAL, "centre-ville", {1: SECRETS[LOCAL]}, False))
    gw.store.close()
    (data / "sealing.key").write_bytes(os.urandom(32))  # another key: the secrets stay shut
    result = subprocess.run([sys.executable, "-m", "gateway", "run", "--config", str(conf)],
                            cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 4, result.stderr
    assert result.stderr.strip() == (
        f"error: the gateway stopped: the secret of node {LOCAL} key 1 does not open with this "
        "gateway's sealing key: restore data_dir/sealing.key, or move gateway.db aside and let "
        "the fleet sync the nodes again")
