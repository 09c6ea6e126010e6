"""Release keys (public only) and releases: an upload is kept only if it verifies.

The fleet never holds a release private key; an admin registers the public half. An upload
is checked as a node would check it (signature by a registered key, canonical manifest, every
file's size and SHA-256) and refused whole otherwise: nothing of a refused bundle is stored.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fleet.crud import audit
from fleet.crud.errors import Conflict, Invalid, NotFound
from fleet.models import Release, ReleaseFile, ReleaseKey
from protocol.manifest import RSA_BITS, Refusal, key_id, public_numbers
from protocol.node_config import MAX_RELEASE_KEYS
from protocol.release_bundle import verify_bundle

__all__ = [
    "BundleRefused",
    "add_key",
    "add_release",
    "list_keys",
    "list_releases",
    "node_release_keys",
    "release_file",
    "revoke_key",
    "trusted_keys",
]


class BundleRefused(Invalid):
    """An uploaded bundle the fleet will not keep; ``reason`` is a stable label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _load_public(pem: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnicodeError) as exc:
        raise Invalid("not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size != RSA_BITS:
        raise Invalid(f"release keys are RSA-{RSA_BITS} public keys")
    if key.public_numbers().e != 65537:
        raise Invalid("release keys use the public exponent 65537")
    return key


def add_key(session: Session, *, name: str, pem: str, actor: str, max_keys: int) -> ReleaseKey:
    key = _load_public(pem)
    kid = key_id(key)
    if session.get(ReleaseKey, kid) is not None:
        raise Conflict(f"release key {kid} is already registered")
    active = session.exec(select(ReleaseKey).where(col(ReleaseKey.revoked_at).is_(None))).all()
    if len(active) >= max_keys:
        raise Conflict(f"at most {max_keys} active release keys: revoke an old one first")
    canonical = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    row = ReleaseKey(kid=kid, name=name, pem=canonical, created_by=actor)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="release_key.add",
        entity_type="release_key",
        entity_id=kid,
        after=row,
    )
    return row


def revoke_key(session: Session, *, kid: str, actor: str) -> ReleaseKey:
    row = session.get(ReleaseKey, kid)
    if row is None:
        raise NotFound(f"no release key {kid}")
    if row.revoked_at is not None:
        raise Conflict(f"release key {kid} is already revoked")
    audit.revoke(
        session, row, actor=actor, action="release_key.revoke", entity_type="release_key",
        entity_id=kid,
    )
    return row


def list_keys(session: Session) -> list[ReleaseKey]:
    return list(session.exec(select(ReleaseKey).order_by(col(ReleaseKey.created_at))))


def trusted_keys(session: Session) -> dict[str, rsa.RSAPublicKey]:
    """The registered, unrevoked release keys by key id."""
    rows = session.exec(select(ReleaseKey).where(col(ReleaseKey.revoked_at).is_(None)))
    return {r.kid: _load_public(r.pem) for r in rows}


def node_release_keys(session: Session) -> list[tuple[int, int]]:
    """(n, e) of the active release keys, newest first, as many as a node's configuration
    holds (protocol/node_config.py): what a claim gives the node to trust."""
    rows = session.exec(
        select(ReleaseKey)
        .where(col(ReleaseKey.revoked_at).is_(None))
        .order_by(col(ReleaseKey.created_at).desc(), col(ReleaseKey.kid))
        .limit(MAX_RELEASE_KEYS)
    )
    return [public_numbers(_load_public(r.pem)) for r in rows]


def add_release(session: Session, *, data: bytes, now: int, actor: str) -> Release:
    """Verify and store a signed bundle; raises BundleRefused (nothing stored) or Conflict."""
    verified = verify_bundle(data, trusted_keys(session))
    if isinstance(verified, Refusal):
        raise BundleRefused(verified.reason, verified.detail)
    m = verified.manifest
    if m.expires <= now:
        raise BundleRefused("expired", f"the manifest expired at {m.expires}")
    if session.exec(select(Release).where(Release.digest == m.digest)).first() is not None:
        raise Conflict("this release is already published")
    taken = session.exec(
        select(Release).where(Release.version == m.version, Release.hardware == m.hardware)
    ).first()
    if taken is not None:
        raise Conflict(f"release {m.version} for {m.hardware} exists (id {taken.id})")
    row = Release(
        version=m.version,
        hardware=m.hardware,
        secure_version=m.secure_version,
        expires=m.expires,
        made=m.created,
        kid=m.kid,
        manifest=verified.signed,
        digest=m.digest,
        file_count=len(m.files),
        total_bytes=m.total_bytes,
        created_by=actor,
        notes=verified.notes,
        bundle_sha256=hashlib.sha256(data).hexdigest(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent upload of the same release won
        raise Conflict("this release is already published") from exc
    release_id = int(row.id or 0)  # set by the flush
    for f in m.files:
        session.add(
            ReleaseFile(
                release_id=release_id,
                path=f.path,
                sha256=f.sha256,
                size=f.size,
                data=verified.files[f.path],
            )
        )
    audit.record(
        session,
        actor=actor,
        action="release.publish",
        entity_type="release",
        entity_id=release_id,
        after=row.model_dump(exclude={"manifest"}),
    )
    return row


def list_releases(session: Session, *, limit: int, offset: int = 0) -> list[Release]:
    q = select(Release).order_by(col(Release.id).desc()).offset(offset).limit(limit)
    return list(session.exec(q))


def release_file(session: Session, *, release_id: int, sha256: str) -> bytes | None:
    row = session.exec(
        select(ReleaseFile).where(
            ReleaseFile.release_id == release_id, ReleaseFile.sha256 == sha256
        )
    ).first()
    return row.data if row is not None else None
