"""A node provisioned with the real CLI against the real fleet trusts the fleet's release keys:
its node.json, loaded by the firmware in the MicroPython VM, accepts a release signed with the
fleet's registered key, with no hand edit (issue: "a node provisioned with the CLI can never be
updated")."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from protocol import manifest as mf
from tests.cli.helpers import provisioning_file
from tests.cli.test_node_cli_errors import territoire
from tests.vmutil import micropython_cmd, vm_path
from tools.demo.local_fleet import LocalFleet
from tools.demo.territory import profile_for
from tools.fleet_client import FleetClient

# the updater, fed by a gateway stand-in, with the configuration as the node loads it at boot
_VM_UPDATE = """
import asyncio, hashlib, binascii, json
import node, otaclient, slots, store
cfg = node.load_config()
objects = {}
for h, name in json.load(open("objects.json")).items():
    objects[h] = open(name, "rb").read()
reports = []
async def fetch(h, o, n):
    return objects[h][o:o + n]
async def report(ver, st, why=""):
    reports.append((ver, st, why))
import ota
store.makedirs("a")
up = ota.Updater(cfg, fetch, report, lambda: None, lambda: %(now)d, "0.1.0")
mh, ml = %(mh)r, %(ml)d
got = asyncio.run(up.offer("0.2.0", mh, ml))
print("RESULT", got, reports, cfg["hw"], otaclient.trust(cfg))
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f


def _provision(fleet: LocalFleet, tmp_path: Path, *extra: str) -> dict[str, object]:
    admin = FleetClient(fleet.url, fleet.token)
    try:
        admin.ensure_zone("centre", "Centre-ville")
        admin.ensure_profile(profile_for("air"))
        (code,) = admin.claim_codes(zone_id="centre", gateway_id=None, profile_id="air")
    finally:
        admin.close()
    out = tmp_path / f"node-{time.monotonic_ns()}.json"
    p = territoire("node", "provision", "--code", code, "--fleet", fleet.url, "--gateway-host",
                   "127.0.0.1", "--wifi-ssid", "territoire", "--out", str(out), *extra)
    assert p.returncode == 0, p.stdout + p.stderr
    doc: dict[str, object] = json.loads(out.read_text())
    return doc


def _register(fleet: LocalFleet, key: rsa.RSAPrivateKey, name: str) -> str:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    admin = FleetClient(fleet.url, fleet.token)
    try:
        r = admin.client.post("/api/v1/release-keys", json={"name": name, "pem": pem})
        assert r.status_code == 201, r.text
    finally:
        admin.close()
    return mf.key_id(key.public_key())


def _offer_in_vm(node_json: dict[str, object], key: rsa.RSAPrivateKey, hw: str,
                 where: Path) -> str:
    """The node (firmware in the VM, flash in ``where``) offered a release signed by ``key``."""
    where.mkdir()
    now = int(time.time())
    app = b"node code " * 200
    body = mf.encode_body(version="0.2.0", hardware=hw, secure_version=0, expires=now + 86400,
                          created=now - 10, files=mf.file_entries({"node.mpy": app}))
    signed = mf.sign_body(body, key)
    objects = {}
    for name, data in (("manifest.bin", signed), ("app.bin", app)):
        (where / name).write_bytes(data)
        objects[_sha(data)] = name
    (where / "objects.json").write_text(json.dumps(objects))
    (where / "node.json").write_text(json.dumps(node_json))
    script = _VM_UPDATE % {"now": now, "mh": _sha(signed), "ml": len(signed)}
    (where / "update.py").write_text(script)
    env = {**os.environ, "MICROPYPATH": vm_path()}
    p = subprocess.run([*micropython_cmd(), "update.py"], cwd=where, env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    (line,) = [x for x in p.stdout.splitlines() if x.startswith("RESULT")]
    return line


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_provisioned_node_accepts_a_release_signed_with_the_fleets_key(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    _register(fleet, key, "release 2026")
    doc = _provision(fleet, tmp_path, "--hw", "emu-x64")
    node = doc["node"]
    assert isinstance(node, dict)
    n, e = mf.public_numbers(key.public_key())
    assert {"n": format(n, "x"), "e": e} in node["release_keys"]
    assert node["hw"] == "emu-x64"
    line = _offer_in_vm(node, key, "emu-x64", tmp_path / "vm")
    assert line.startswith("RESULT switching"), line
    assert "refused" not in line, line


def test_board_is_provisioned_for_esp32_by_default_and_refuses_an_emulator_release(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    _register(fleet, key, "release 2027")
    node = _provision(fleet, tmp_path)["node"]
    assert isinstance(node, dict)
    assert node["hw"] == "esp32"
    line = _offer_in_vm(node, key, "emu-x64", tmp_path / "vm")
    assert "'refused', 'wrong_hw'" in line, line


def test_revoked_release_key_is_not_given_to_a_new_node(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    key, kept = (rsa.generate_private_key(public_exponent=65537, key_size=3072) for _ in "ab")
    kid = _register(fleet, key, "compromised")
    _register(fleet, kept, "kept")
    admin = FleetClient(fleet.url, fleet.token)
    try:
        r = admin.client.post(f"/api/v1/release-keys/{kid}/revoke")
        assert r.status_code == 200, r.text
    finally:
        admin.close()
    node = _provision(fleet, tmp_path, "--hw", "emu-x64")["node"]
    assert isinstance(node, dict)
    n = format(mf.public_numbers(key.public_key())[0], "x")
    given = [k["n"] for k in node["release_keys"]]
    assert format(mf.public_numbers(kept.public_key())[0], "x") in given
    assert n not in given
    line = _offer_in_vm(node, key, "emu-x64", tmp_path / "vm")
    assert "'refused', 'unknown_key'" in line, line


def test_flashing_a_board_of_another_hardware_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    prov = provisioning_file(tmp_path, "ang-0007")  # hw esp32, the default: a real board
    emu = tmp_path / "emu"
    p = territoire("node", "flash", "--config", str(prov), "--emulated", str(emu))
    said = " ".join((p.stdout + p.stderr).split())
    assert p.returncode == 2, said
    assert "is for esp32 hardware, this board is emu-x64: provision it with --hw emu-x64" in said
    assert "Traceback" not in said
    assert not emu.exists(), "no emulated node made for a refused file"
