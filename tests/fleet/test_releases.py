"""Release keys and release uploads: only signed, intact bundles by a registered key are kept."""

from __future__ import annotations

import io
import tarfile

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from fleet.models import AuditEvent, Release, ReleaseFile
from protocol.manifest import sign_body
from protocol.release_bundle import MAX_BUNDLE_BYTES, pack
from tests.fleet.gwsim import API
from tests.fleet.ota_helpers import (
    NEW,
    body_of,
    kid,
    public_pem,
    publish,
    register_key,
    release_key,
    signed_bundle,
)


def _stored(engine: Engine) -> tuple[int, int]:
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(Release)).one(),
            s.exec(select(func.count()).select_from(ReleaseFile)).one(),
        )


def test_admin_registers_a_release_key_and_it_is_audited(
    client: TestClient, admin: dict[str, str], engine: Engine
) -> None:
    key = release_key()
    register_key(client, admin, key)
    keys = client.get(f"{API}/release-keys", headers=admin).json()
    assert [k["kid"] for k in keys] == [kid(key)]
    again = client.post(
        f"{API}/release-keys", json={"name": "x", "pem": public_pem(key)}, headers=admin
    )
    assert again.status_code == 409
    with Session(engine) as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "release_key.add")).one()
    assert ev.entity_id == kid(key)


def test_only_admins_register_or_revoke_release_keys(
    client: TestClient, operator: dict[str, str], viewer: dict[str, str], admin: dict[str, str]
) -> None:
    body = {"name": "k", "pem": public_pem(release_key())}
    assert client.post(f"{API}/release-keys", json=body, headers=operator).status_code == 403
    assert client.post(f"{API}/release-keys", json=body, headers=viewer).status_code == 403
    register_key(client, admin, release_key())
    path = f"{API}/release-keys/{kid(release_key())}/revoke"
    assert client.post(path, headers=operator).status_code == 403
    assert client.post(path, headers=admin).status_code == 200
    assert client.post(path, headers=admin).status_code == 409


def test_a_key_that_is_not_rsa_3072_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = client.post(
        f"{API}/release-keys", json={"name": "k", "pem": public_pem(small)}, headers=admin
    )
    assert r.status_code == 422
    assert "RSA-3072" in r.json()["detail"]
    junk = "-----BEGIN PUBLIC KEY-----\n" + "A" * 200 + "\n-----END PUBLIC KEY-----\n"
    r = client.post(f"{API}/release-keys", json={"name": "k", "pem": junk}, headers=admin)
    assert r.status_code == 422


def test_signed_bundle_is_published_listed_and_audited(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    viewer: dict[str, str],
    engine: Engine,
) -> None:
    register_key(client, admin, release_key())
    r = publish(client, operator, signed_bundle())
    assert r.status_code == 201, r.text
    rel = r.json()
    assert (rel["version"], rel["hardware"], rel["kid"]) == (NEW, "emu-x64", kid(release_key()))
    assert rel["file_count"] == 3
    listed = client.get(f"{API}/releases", headers=viewer).json()
    assert [x["id"] for x in listed] == [rel["id"]]
    assert _stored(engine) == (1, 3)
    assert publish(client, operator, signed_bundle()).status_code == 409, "same version and hw"
    assert publish(client, viewer, signed_bundle("1.5.0")).status_code == 403


def _tampered_file() -> bytes:
    body, files = body_of(NEW)
    files["node.mpy"] = files["node.mpy"][:-1] + b"X"
    return pack(files=files, manifest=sign_body(body, release_key()))


def _bad_signature() -> bytes:
    body, files = body_of(NEW)
    sig = bytearray(sign_body(body, release_key()))
    # one base64url character of the signature changed to another valid one (flipping a bit
    # could make "A" into "@", a malformed line rather than a bad signature)
    sig[-10] = ord("B") if sig[-10] == ord("A") else ord("A")
    return pack(files=files, manifest=bytes(sig))


def _extra_member() -> bytes:
    body, files = body_of(NEW)
    manifest = sign_body(body, release_key())
    return pack(files={**files, "extra.mpy": b"surprise"}, manifest=manifest)


def _symlink() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("files/node.mpy")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    return out.getvalue()


BAD = {
    "unsigned": (lambda: pack(files=body_of(NEW)[1], body=body_of(NEW)[0]), 422, "unsigned"),
    "bad_signature": (_bad_signature, 422, "bad_signature"),
    "unknown_key": (lambda: signed_bundle(key=release_key(1)), 422, "unknown_key"),
    "tampered_file": (_tampered_file, 422, "bad_hash"),
    "extra_file": (_extra_member, 422, "malformed"),
    "not_a_tar": (lambda: b"\x00" * 1024 + b"garbage", 422, "malformed"),
    "symlink": (_symlink, 422, "malformed"),
    "expired": (lambda: signed_bundle(expires_in=-5), 422, "expired"),
    "too_large": (lambda: b"\x00" * (MAX_BUNDLE_BYTES + 1), 413, "too large"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_uploads_are_refused_with_a_clear_4xx_and_nothing_is_stored(
    case: str, client: TestClient, admin: dict[str, str], engine: Engine
) -> None:
    register_key(client, admin, release_key())
    make, status, word = BAD[case]
    r = publish(client, admin, make())
    assert r.status_code == status, r.text
    assert word in r.json()["detail"]
    assert "Traceback" not in r.text
    assert _stored(engine) == (0, 0)
