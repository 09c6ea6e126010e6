"""The public release log: every firmware release ever published, what anyone needs to check a
bundle against it (hashes from the signed manifest, the signing key's fingerprint), the
release manager's notes, and where each rollout stands by zone, from what the nodes report.
Read only: a public page never moves a rollout (fleet.crud.rollouts.evaluate does)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, Field
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from fleet.models import (
    Node,
    NodeHealth,
    Release,
    ReleaseFile,
    ReleaseKey,
    Rollout,
    RolloutMember,
    Zone,
)
from fleet.rollout_engine import TERMINAL_FAILURES

__all__ = [
    "EXPLANATION",
    "ReleaseLog",
    "ReleaseLogEntry",
    "key_fingerprint",
    "release_log",
]

EXPLANATION = (
    "Every firmware release the fleet ever accepted, newest first. A release is signed offline "
    "by a release key; nodes install it only if the signature and every file's SHA-256 match. "
    "Check a bundle: sha256sum BUNDLE.tar must print bundle_sha256; tar -xOf BUNDLE.tar "
    "files/PATH | sha256sum must print that file's sha256. Rollouts by zone count what the "
    "nodes themselves report running."
)


class FileEntry(BaseModel):
    path: str
    size: int
    sha256: str


class ZoneStanding(BaseModel):
    zone_id: str
    zone_name: str
    sensors: int = Field(description="sensors of the zone in the rollout")
    running: int = Field(description="reporting this release running")
    failed: int = Field(description="refused it or rolled back")
    waiting: int = Field(description="not yet updated")


class RolloutStanding(BaseModel):
    id: int
    status: str
    started_at: datetime
    zones: list[ZoneStanding]


class ReleaseLogEntry(BaseModel):
    id: int
    version: str
    hardware: str
    secure_version: int
    published_at: datetime
    built_at: int = Field(description="unix time the manifest was made")
    expires: int
    key_id: str
    key_fingerprint: str | None = Field(
        description="SHA-256 of the signing key's public key (DER SubjectPublicKeyInfo)"
    )
    manifest_sha256: str = Field(description="SHA-256 of the signed manifest")
    bundle_sha256: str | None = Field(description="SHA-256 of the bundle (.tar) published")
    total_bytes: int
    files: list[FileEntry]
    notes: str | None = Field(description="the release manager's changelog, plain text")
    rollouts: list[RolloutStanding]


class ReleaseLog(BaseModel):
    explanation: str
    data: list[ReleaseLogEntry]
    next_cursor: str | None = None


def key_fingerprint(pem: str) -> str:
    """What ``openssl pkey -pubin -in KEY.pub.pem -outform DER | sha256sum`` prints."""
    key = serialization.load_pem_public_key(pem.encode())
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _standings(session: Session, releases: list[Release]) -> dict[int, list[RolloutStanding]]:
    version = {r.id: r.version for r in releases}
    rollouts = list(
        session.exec(
            select(Rollout)
            .where(col(Rollout.release_id).in_(list(version)))
            .order_by(col(Rollout.id).desc())
        )
    )
    counts: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    names: dict[str, str] = {}
    rows = session.execute(
        sa_select(
            col(RolloutMember.rollout_id),
            col(RolloutMember.status),
            col(Zone.id),
            col(Zone.name),
            col(NodeHealth.fw),
        )
        .join(Node, col(Node.id) == col(RolloutMember.node_id))
        .join(Zone, col(Zone.id) == col(Node.zone_id))
        .join(NodeHealth, col(NodeHealth.node_id) == col(Node.id), isouter=True)
        .where(
            col(RolloutMember.rollout_id).in_([r.id for r in rollouts]),
            col(Node.status) == "active",
        )
    )
    of_rollout = {r.id: r.release_id for r in rollouts}
    for rollout_id, status, zone_id, zone_name, fw in rows:
        names[zone_id] = zone_name
        c = counts[(rollout_id, zone_id)]
        if fw is not None and fw == version[of_rollout[rollout_id]]:
            c[0] += 1
        elif status in TERMINAL_FAILURES:
            c[1] += 1
        else:
            c[2] += 1
    out: dict[int, list[RolloutStanding]] = defaultdict(list)
    for r in rollouts:
        zones = [
            ZoneStanding(
                zone_id=z,
                zone_name=names[z],
                sensors=sum(c),
                running=c[0],
                failed=c[1],
                waiting=c[2],
            )
            for (rid, z), c in sorted(counts.items())
            if rid == r.id
        ]
        out[r.release_id].append(
            RolloutStanding(
                id=int(r.id or 0), status=r.status, started_at=r.created_at, zones=zones
            )
        )
    return out


def release_log(session: Session, *, limit: int, offset: int) -> list[ReleaseLogEntry]:
    """Newest release first."""
    releases = list(
        session.exec(select(Release).order_by(col(Release.id).desc()).offset(offset).limit(limit))
    )
    ids = [r.id for r in releases]
    files: dict[int, list[FileEntry]] = defaultdict(list)
    for f in session.exec(
        select(ReleaseFile)
        .where(col(ReleaseFile.release_id).in_(ids))
        .order_by(col(ReleaseFile.path))
    ):
        files[f.release_id].append(FileEntry(path=f.path, size=f.size, sha256=f.sha256))
    kids = {r.kid for r in releases}
    fingerprints = {
        k.kid: key_fingerprint(k.pem)
        for k in session.exec(select(ReleaseKey).where(col(ReleaseKey.kid).in_(kids)))
    }
    standings = _standings(session, releases)
    return [
        ReleaseLogEntry(
            id=int(r.id or 0),
            version=r.version,
            hardware=r.hardware,
            secure_version=r.secure_version,
            published_at=r.created_at,
            built_at=r.made,
            expires=r.expires,
            key_id=r.kid,
            key_fingerprint=fingerprints.get(r.kid),
            manifest_sha256=r.digest,
            bundle_sha256=r.bundle_sha256,
            total_bytes=r.total_bytes,
            files=files[int(r.id or 0)],
            notes=r.notes,
            rollouts=standings.get(int(r.id or 0), []),
        )
        for r in releases
    ]
