"""The public sensor register: daily pseudonyms from a ratchet, rows in a per-day random
order, dates to the month (docs/privacy.md, "Fleet: a register that does not link").

Within a day a sensor keeps one pseudonym (so a citizen can point at it); the next day every
pseudonym, and the order of the rows, is new, and only (type, zone, month, status) repeats:
entries that share those are indistinguishable across days. Day keys are kept for
``pseudonym_keep_days`` so a pseudonym noted recently still resolves, then deleted; the
ratchet (protocol/pseudonyms.py) makes a deleted key unrecoverable from the fleet's secrets.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from fleet.core.config import Settings
from fleet.core.crypto import SecretBox
from fleet.models import Node, NodeHealth, Profile, PseudonymDayKey, RegisterEntry, Zone
from protocol.metrics import METRICS
from protocol.pseudonyms import DayKey, advance_day_key, pseudonym

__all__ = [
    "RegisterView",
    "day_keys",
    "local_day",
    "month_of",
    "node_of_pseudonym",
    "register_keys",
    "register_page",
    "register_view",
]


def local_day(now: float, tz: str) -> str:
    """The ISO date of ``now`` in ``tz`` (the register's and the budget's day)."""
    return datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(tz)).date().isoformat()


def month_of(d: date | None) -> str | None:
    return None if d is None else f"{d.year:04d}-{d.month:02d}"


def _aad(day: str) -> bytes:
    return b"territoire/v1 pseudonym-day|" + day.encode()


def _insert_ignore(session: Session, day: str, blob: bytes) -> None:
    table = PseudonymDayKey.__table__  # type: ignore[attr-defined]
    pg = session.get_bind().dialect.name == "postgresql"
    ins = (postgresql.insert(table) if pg else sqlite.insert(table)).values(day=day, key_enc=blob)
    session.execute(ins.on_conflict_do_nothing(index_elements=["day"]))


def day_keys(session: Session, box: SecretBox, *, today: str, keep_days: int) -> list[DayKey]:
    """Today's key first, then the kept earlier ones; advances the ratchet and forgets keys
    older than ``keep_days`` (commits). Two workers advancing at once compute the same key
    (deterministic step); two geneses race and the first written wins for both."""
    oldest = (date.fromisoformat(today) - timedelta(days=keep_days - 1)).isoformat()
    rows = list(session.exec(select(PseudonymDayKey).order_by(col(PseudonymDayKey.day).desc())))
    latest = rows[0] if rows else None
    if latest is None or latest.day < today:
        current = DayKey(latest.day, box.open(latest.key_enc, _aad(latest.day))) if latest else None
        nxt = advance_day_key(current, today, box.pseudonym_key, os.urandom(32))
        _insert_ignore(session, today, box.seal(nxt.key, _aad(today)))
    if latest is None or latest.day < today or rows[-1].day < oldest:  # writes only then
        session.execute(delete(PseudonymDayKey).where(col(PseudonymDayKey.day) < oldest))
        session.commit()
    # newest first (a clock set back keeps using the newest key: the ratchet never goes back)
    rows = list(session.exec(select(PseudonymDayKey).order_by(col(PseudonymDayKey.day).desc())))
    return [DayKey(r.day, box.open(r.key_enc, _aad(r.day))) for r in rows]


def node_of_pseudonym(ids: list[str], keys: list[DayKey], lookup: str) -> str | None:
    """The node among ``ids`` whose pseudonym of a kept day is ``lookup``, or None."""
    for k in keys:
        for i in ids:
            if pseudonym(i, k) == lookup:
                return i
    return None


@dataclass(frozen=True, slots=True)
class RegisterView:
    entries: list[RegisterEntry]
    total: int


def _status(node: Node, last_seen: int | None, now: int, offline_after_s: int) -> str:
    if node.status == "revoked":
        return "removed"
    if last_seen is not None and last_seen >= now - offline_after_s:
        return "active"
    return "inactive"


def register_view(
    session: Session,
    *,
    keys: list[DayKey],
    now: int,
    offline_after_s: int,
    limit: int,
    offset: int,
    zone_id: str | None = None,
    lookup: str | None = None,
    profile_id: str | None = None,
) -> RegisterView:
    """A page of today's register (``keys[0]`` is today's), ordered by pseudonym: a keyed
    random permutation that changes every day. With ``lookup``, the one entry whose pseudonym
    of any kept day it is, shown under that same pseudonym (never today's: answering with
    today's would link the two days)."""
    q = select(Node.id)
    if zone_id is not None:
        q = q.where(Node.zone_id == zone_id)
    if profile_id is not None:  # a street sign's group: its type in its zone
        q = q.where(Node.profile_id == profile_id)
    ids = list(session.exec(q))
    if lookup is not None:
        found = node_of_pseudonym(ids, keys, lookup)
        ordered = [(lookup, found)] if found is not None else []
    else:
        ordered = sorted((pseudonym(i, keys[0]), i) for i in ids)
    page = ordered[offset : offset + limit]
    wanted = [i for _, i in page]
    rows = {
        node.id: (node, profile, zone, last_seen)
        for node, profile, zone, last_seen in session.exec(
            select(Node, Profile, Zone, NodeHealth.last_seen)
            .join(Profile, col(Profile.id) == col(Node.profile_id))
            .join(Zone, col(Zone.id) == col(Node.zone_id))
            .join(NodeHealth, col(NodeHealth.node_id) == col(Node.id), isouter=True)
            .where(col(Node.id).in_(wanted))
        )
    }
    out = []
    for pid, node_id in page:
        if node_id not in rows:
            continue  # deleted between the two queries
        node, profile, zone, last_seen = rows[node_id]
        out.append(
            RegisterEntry(
                id=pid,
                type=profile.name,
                measures=list(profile.measures),
                measures_labels=[METRICS[m].label_en for m in profile.measures if m in METRICS],
                purpose=profile.purpose,
                legal_basis=profile.legal_basis,
                operator=profile.operator_name,
                contact=profile.contact,
                personal_data=profile.personal_data,
                personal_data_processing=profile.personal_data_processing,
                zone_id=zone.id,
                zone_name=zone.name,
                retention=profile.retention,
                installed_month=month_of(node.installed_on) or "",
                active_until_month=month_of(node.active_until),
                status=_status(node, last_seen, now, offline_after_s),
            )
        )
    return RegisterView(out, len(ordered))


def register_keys(
    session: Session, settings: Settings, box: SecretBox, *, now: float
) -> list[DayKey]:
    """The day keys of the register at ``now``: today's first, then the kept ones."""
    return day_keys(
        session,
        box,
        today=local_day(now, settings.register_timezone),
        keep_days=settings.pseudonym_keep_days,
    )


def register_page(
    session: Session,
    settings: Settings,
    box: SecretBox,
    *,
    limit: int,
    offset: int,
    zone_id: str | None = None,
    lookup: str | None = None,
    profile_id: str | None = None,
) -> RegisterView:
    """The register as the API and the public page show it, today."""
    now = time.time()
    keys = register_keys(session, settings, box, now=now)
    return register_view(
        session,
        keys=keys,
        now=int(now),
        offline_after_s=settings.node_offline_after_s,
        limit=limit,
        offset=offset,
        zone_id=zone_id,
        lookup=lookup,
        profile_id=profile_id,
    )
