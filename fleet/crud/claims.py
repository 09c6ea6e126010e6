"""Claim codes and the claim itself: a one-time code becomes a node identity and its secret."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from fleet.core import security
from fleet.core.crypto import SecretBox, node_secret_aad
from fleet.crud import audit
from fleet.crud.errors import Conflict, Invalid, NotFound, Refused
from fleet.crud.sync import note_node_change
from fleet.models import (
    ClaimCode,
    ClaimCodeCreate,
    Gateway,
    Node,
    NodeKey,
    Profile,
    Zone,
    utcnow,
)

__all__ = [
    "cancel_claim_code",
    "check_placement",
    "claim_code_text",
    "claim_node",
    "create_claim_codes",
    "list_claim_codes",
    "next_node_id",
]

_CODE_AAD = b"territoire/v1 claim-code"


def check_placement(
    session: Session, *, zone_id: str, profile_id: str, gateway_id: str | None
) -> None:
    if session.get(Zone, zone_id) is None:
        raise Invalid(f"no such zone: {zone_id}")
    if session.get(Profile, profile_id) is None:
        raise Invalid(f"no such profile: {profile_id}")
    if gateway_id is not None:
        gw = session.get(Gateway, gateway_id)
        if gw is None or gw.status == "revoked":
            raise Invalid(f"no such usable gateway: {gateway_id}")


def create_claim_codes(
    session: Session,
    *,
    data: ClaimCodeCreate,
    default_ttl: timedelta,
    max_count: int,
    box: SecretBox,
    operator_id: int | None,
    actor: str,
    now: datetime | None = None,
) -> list[tuple[ClaimCode, str]]:
    now = now or utcnow()
    if data.count > max_count:
        raise Invalid(f"at most {max_count} codes at once")
    if data.node_id is not None and data.count != 1:
        raise Invalid("a node id can be given only with count 1")
    if data.node_id is not None and session.get(Node, data.node_id) is not None:
        raise Conflict(f"node {data.node_id} exists")
    check_placement(
        session, zone_id=data.zone_id, profile_id=data.profile_id, gateway_id=data.gateway_id
    )
    ttl = timedelta(days=data.ttl_days) if data.ttl_days else default_ttl
    out = []
    for _ in range(data.count):
        code = security.new_claim_code()
        row = ClaimCode(
            code_hash=security.hash_token(code),
            code_enc=box.seal(code.encode(), _CODE_AAD),
            hint=code[-4:],
            zone_id=data.zone_id,
            gateway_id=data.gateway_id,
            profile_id=data.profile_id,
            node_id=data.node_id,
            created_by=operator_id,
            created_at=now,
            expires_at=now + ttl,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="claim_code.create",
            entity_type="claim_code",
            entity_id=row.id or 0,
            after=row,
        )
        out.append((row, code))
    return out


def claim_code_text(session: Session, *, code_id: int, box: SecretBox) -> str:
    """The code of an unused claim code, to print its label again."""
    row = session.get(ClaimCode, code_id)
    if row is None:
        raise NotFound("no such claim code")
    if row.used_at is not None or row.code_enc is None:
        raise Conflict("claim code already used or cancelled")
    return box.open(row.code_enc, _CODE_AAD).decode()


def cancel_claim_code(session: Session, *, code_id: int, actor: str) -> ClaimCode:
    row = session.get(ClaimCode, code_id)
    if row is None:
        raise NotFound("no such claim code")
    if row.used_at is not None:
        raise Conflict("claim code already used or cancelled")
    before = row.model_dump()
    row.used_at = utcnow()
    row.code_enc = None
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="claim_code.cancel",
        entity_type="claim_code",
        entity_id=code_id,
        before=before,
        after=row,
    )
    return row


def list_claim_codes(
    session: Session, *, limit: int, after_id: int | None, unused_only: bool
) -> list[ClaimCode]:
    q = select(ClaimCode)
    if after_id is not None:
        q = q.where(col(ClaimCode.id) > after_id)
    if unused_only:
        q = q.where(col(ClaimCode.used_at).is_(None))
    return list(session.exec(q.order_by(col(ClaimCode.id)).limit(limit)))


def next_node_id(session: Session, *, prefix: str) -> str:
    """``<prefix>-0001`` and on: one more than the highest numbered id with this prefix."""
    stem = prefix + "-"
    q = (
        select(Node.id)
        .where(col(Node.id).startswith(stem, autoescape=True))
        .order_by(func.length(Node.id).desc(), col(Node.id).desc())
        .limit(50)
    )
    highest = 0
    for node_id in session.exec(q):
        suffix = node_id[len(stem) :]
        if suffix.isdigit():
            highest = max(highest, int(suffix))
    return f"{stem}{highest + 1:04d}"


def claim_node(
    session: Session,
    *,
    code: str,
    box: SecretBox,
    node_id_prefix: str,
    interval_s: int | None = None,
    now: datetime | None = None,
) -> tuple[Node, int, bytes]:
    """Create the node the code was made for; return it with its key id and 32-byte secret.
    ``interval_s``: the node's measuring interval as the technician configured it (validated
    by the request model), synced to its gateway for the node's rate cap."""
    now = now or utcnow()
    canonical = security.normalise_claim_code(code)
    row = None
    if canonical is not None:
        row = session.exec(
            select(ClaimCode).where(ClaimCode.code_hash == security.hash_token(canonical))
        ).first()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Refused("claim refused: unknown, used or expired code")
    # atomic guard: of two concurrent claims with one code, only one updates the row
    taken = session.execute(
        update(ClaimCode)
        .where(col(ClaimCode.id) == row.id, col(ClaimCode.used_at).is_(None))
        .values(used_at=now, code_enc=None)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Refused("claim refused: unknown, used or expired code")
    check_placement(
        session, zone_id=row.zone_id, profile_id=row.profile_id, gateway_id=row.gateway_id
    )
    node_id = row.node_id or next_node_id(session, prefix=node_id_prefix)
    if session.get(Node, node_id) is not None:
        raise Conflict(f"node {node_id} exists")
    node = Node(
        id=node_id,
        zone_id=row.zone_id,
        gateway_id=row.gateway_id,
        profile_id=row.profile_id,
        installed_on=now.date(),
        interval_s=interval_s,
        claim_code_id=row.id,
        created_at=now,
        updated_at=now,
    )
    secret = os.urandom(32)
    session.add(node)
    session.flush()
    session.add(
        NodeKey(
            node_id=node_id,
            key_id=1,
            secret_enc=box.seal(secret, node_secret_aad(node_id, 1)),
            created_at=now,
        )
    )
    session.execute(
        update(ClaimCode)
        .where(col(ClaimCode.id) == row.id)
        .values(used_by_node=node_id)
        .execution_options(synchronize_session=False)
    )
    note_node_change(session, node_id=node_id, gateway_ids=[node.gateway_id])
    audit.record(
        session,
        actor=f"claim:{row.id}",
        action="node.claim",
        entity_type="node",
        entity_id=node_id,
        after={**node.model_dump(), "key_id": 1},
    )
    return node, 1, secret
