"""What a gateway learns about updates (its nodes' targets, the release keys) and what it
reports back (its nodes' OTA progress, idempotent by batch id)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import orjson
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fleet.crud.rollout_members import UNFINISHED
from fleet.crud.rollouts import Evaluation
from fleet.models import Node, OtaStatusBatch, Release, ReleaseKey, Rollout, RolloutMember
from fleet.models.ota_api import OtaDocument, OtaKey, OtaStatusRequest, OtaStatusResult, OtaTarget

__all__ = ["apply_status", "document_etag", "gateway_document"]


def gateway_document(
    session: Session, *, gateway_id: str, evaluations: Sequence[Evaluation]
) -> OtaDocument:
    """The release each of this gateway's nodes should run now, and the trusted keys."""
    keys = session.exec(
        select(ReleaseKey).where(col(ReleaseKey.revoked_at).is_(None)).order_by(col(ReleaseKey.kid))
    )
    served = set(
        session.exec(select(Node.id).where(Node.gateway_id == gateway_id, Node.status == "active"))
    )
    targets: dict[str, OtaTarget] = {}
    for ev in evaluations:
        r = ev.release
        for node_id in ev.decision.targets & served:
            targets[node_id] = OtaTarget(
                node_id=node_id,
                release_id=int(r.id or 0),
                ver=r.version,
                hw=r.hardware,
                mh=r.digest,
                ml=len(r.manifest),
            )
    return OtaDocument(
        keys=[OtaKey(kid=k.kid, pem=k.pem) for k in keys],
        targets=[targets[n] for n in sorted(targets)],
    )


def document_etag(doc: OtaDocument) -> str:
    """The document's own hash: any change of target or key changes it."""
    digest = hashlib.sha256(orjson.dumps(doc.model_dump(mode="json"))).hexdigest()[:32]
    return f'"{digest}"'


def apply_status(
    session: Session, *, gateway_id: str, batch: OtaStatusRequest, now: int
) -> OtaStatusResult:
    """Record each item on the node's unfinished rollout of that version; once per batch id.

    Items about nodes this gateway does not serve, or about a version no unfinished rollout of
    the node carries, are counted as ignored. An item older than the one stored is ignored too
    (QoS 1 may deliver out of order after a reconnect).
    """
    done = session.exec(
        select(OtaStatusBatch).where(
            OtaStatusBatch.gateway_id == gateway_id, OtaStatusBatch.batch_id == batch.batch_id
        )
    ).first()
    if done is not None:
        return OtaStatusResult(
            batch_id=batch.batch_id, duplicate=True, applied=done.applied, ignored=done.ignored
        )
    row = OtaStatusBatch(gateway_id=gateway_id, batch_id=batch.batch_id, received_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same batch applied concurrently by another worker
        return OtaStatusResult(batch_id=batch.batch_id, duplicate=True, applied=0, ignored=0)
    ids = sorted({i.node_id for i in batch.items})
    served = (
        set(
            session.exec(
                select(Node.id).where(Node.gateway_id == gateway_id, col(Node.id).in_(ids))
            )
        )
        if ids
        else set()
    )
    members: dict[tuple[str, str], RolloutMember] = {}
    if served:
        q = (
            select(RolloutMember, Release.version)
            .join(Rollout, col(Rollout.id) == col(RolloutMember.rollout_id))
            .join(Release, col(Release.id) == col(Rollout.release_id))
            .where(col(Rollout.status).in_(UNFINISHED), col(RolloutMember.node_id).in_(served))
        )
        members = {(m.node_id, ver): m for m, ver in session.exec(q)}
    applied = ignored = 0
    for item in batch.items:
        m = members.get((item.node_id, item.ver))
        if m is None or item.at < m.status_at:
            ignored += 1
            continue
        m.status, m.why, m.status_at = item.st, item.why, item.at
        session.add(m)
        applied += 1
    row.applied, row.ignored = applied, ignored
    session.add(row)
    return OtaStatusResult(
        batch_id=batch.batch_id, duplicate=False, applied=applied, ignored=ignored
    )
