"""Failed-login counters per client address and per (account, address), in the database so
every worker shares them; bounded in rows (docs/security.md)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fleet.models import LoginThrottle

__all__ = [
    "ThrottleLimits",
    "account_key_prefix",
    "blocked_for",
    "clear",
    "clear_account",
    "keys_for",
    "record_failure",
    "sweep",
]


@dataclass(frozen=True, slots=True)
class ThrottleLimits:
    address_max: int  # failures from one address, whatever the accounts
    pair_max: int  # failures on one account from one address
    window: timedelta
    block: timedelta
    rows_max: int


def account_key_prefix(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"p|{digest}|"


def keys_for(email: str, address: str) -> tuple[str, str]:
    """(address key, pair key). The pair uses the e-mail's hash whether an account exists or
    not, so the throttle answers the same for both and reveals no account."""
    return f"a|{address}"[:160], (account_key_prefix(email) + address)[:160]


def blocked_for(session: Session, keys: tuple[str, ...], *, now: datetime) -> int | None:
    """Seconds until every one of these keys may try again, or None when none is blocked."""
    rows = session.exec(
        select(LoginThrottle).where(
            col(LoginThrottle.key).in_(keys), col(LoginThrottle.blocked_until).is_not(None)
        )
    )
    waits = [(r.blocked_until - now).total_seconds() for r in rows if r.blocked_until]
    longest = max((w for w in waits if w > 0), default=None)
    return None if longest is None else max(1, math.ceil(longest))


def record_failure(
    session: Session, *, key: str, limit: int, limits: ThrottleLimits, now: datetime
) -> bool:
    """Count one failure against ``key``; True when this one blocks it. The row is locked on
    PostgreSQL, so concurrent workers do not lose counts."""
    row = session.exec(
        select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    ).first()
    if row is None:
        _make_room(session, limits=limits, now=now)
        try:
            with session.begin_nested():  # another worker may insert the same key meanwhile
                session.add(LoginThrottle(key=key, failures=0, window_start=now))
        except IntegrityError:
            pass
        row = session.exec(
            select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
        ).one()
    if row.window_start + limits.window <= now:
        row.failures, row.window_start = 0, now  # a new window
    row.failures += 1
    blocked = row.failures >= limit
    if blocked:
        row.blocked_until = now + limits.block
        row.failures, row.window_start = 0, now
    session.add(row)
    session.flush()
    return blocked


def clear(session: Session, *, key: str) -> None:
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == key))


def clear_account(session: Session, *, email: str) -> int:
    """Forget every address's failures on this account (an admin's unlock)."""
    prefix = account_key_prefix(email)
    result = session.execute(
        delete(LoginThrottle).where(col(LoginThrottle.key).startswith(prefix, autoescape=True))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _expired(limits: ThrottleLimits, now: datetime):  # type: ignore[no-untyped-def]
    """Rows that no longer count: window over and no block in force."""
    return (col(LoginThrottle.window_start) <= now - limits.window) & or_(
        col(LoginThrottle.blocked_until).is_(None), col(LoginThrottle.blocked_until) <= now
    )


def _make_room(session: Session, *, limits: ThrottleLimits, now: datetime) -> None:
    """Keep the table under rows_max: drop what no longer counts, then, under a flood of
    addresses, the oldest windows (a flood costs its sender those attempts anyway)."""
    count = session.exec(select(func.count()).select_from(LoginThrottle)).one()
    if count < limits.rows_max:
        return
    session.execute(delete(LoginThrottle).where(_expired(limits, now)))
    count = session.exec(select(func.count()).select_from(LoginThrottle)).one()
    excess = count - limits.rows_max + max(1, limits.rows_max // 10)
    if excess > 0:
        # rows that block nothing go first, so a flood does not lift a block in force
        oldest = (
            select(LoginThrottle.key)
            .order_by(
                col(LoginThrottle.blocked_until).is_not(None), col(LoginThrottle.window_start)
            )
            .limit(excess)
        )
        session.execute(delete(LoginThrottle).where(col(LoginThrottle.key).in_(oldest)))


def sweep(session: Session, *, limits: ThrottleLimits, now: datetime) -> int:
    """Housekeeping: rows whose window is over and that block nothing."""
    result = session.execute(delete(LoginThrottle).where(_expired(limits, now)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
