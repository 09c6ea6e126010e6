"""The one password login of the API and of the dashboard: throttled per client address and per
(account, address) before the password is checked, then an account-wide lock (docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from fleet.core import security
from fleet.crud import login_throttle as throttle
from fleet.crud.operators import create_login_session, delete_login_session, get_operator_by_email
from fleet.models import LoginSession, Operator, utcnow

__all__ = ["LoggedIn", "LoginPolicy", "Throttled", "authenticate", "log_in", "log_out"]


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    max_failures: int  # account-wide, consecutive, from any addresses
    lockout: timedelta
    ttl: timedelta  # of the login session
    throttle: throttle.ThrottleLimits


@dataclass(frozen=True, slots=True)
class LoggedIn:
    operator: Operator
    row: LoginSession
    token: str


@dataclass(frozen=True, slots=True)
class Throttled:
    """Too many failures from this address (for every account, or for this one)."""

    retry_after: int


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    max_failures: int,
    lockout: timedelta,
    now: datetime | None = None,
) -> Operator | None:
    """The operator if the password is right and the account usable; counts failures."""
    now = now or utcnow()
    op = get_operator_by_email(session, email=email)
    ok, rehash = security.check_password(op.password_hash if op else None, password)
    if op is None:
        return None
    if op.locked_until is not None and op.locked_until > now:
        return None
    if not ok:
        op.failed_logins += 1
        if op.failed_logins >= max_failures:
            op.locked_until = now + lockout
            op.failed_logins = 0
        session.add(op)
        return None
    if not op.is_active:
        return None
    op.failed_logins = 0
    op.locked_until = None
    if rehash:
        op.password_hash = security.hash_password(password)
    session.add(op)
    return op


def log_in(
    session: Session,
    *,
    email: str,
    password: str,
    address: str,
    policy: LoginPolicy,
    now: datetime | None = None,
) -> LoggedIn | Throttled | None:
    """Log in from ``address``: a new login session, Throttled (nothing checked, nothing
    counted), or None when refused. Committed either way: the failure counts are kept."""
    now = now or utcnow()
    address_key, pair_key = throttle.keys_for(email, address)
    wait = throttle.blocked_for(session, (address_key, pair_key), now=now)
    if wait is not None:
        session.rollback()
        return Throttled(retry_after=wait)
    op = authenticate(session, email=email, password=password,
                      max_failures=policy.max_failures, lockout=policy.lockout, now=now)
    if op is None:
        limits = policy.throttle
        throttle.record_failure(session, key=pair_key, limit=limits.pair_max, limits=limits,
                                now=now)
        throttle.record_failure(session, key=address_key, limit=limits.address_max,
                                limits=limits, now=now)
        session.commit()
        return None
    # the pair's count restarts; the address's does not (one owned account must not be a way
    # to reset an address that guesses at others)
    throttle.clear(session, key=pair_key)
    row, token = create_login_session(session, operator=op, ttl=policy.ttl, now=now)
    session.commit()
    return LoggedIn(op, row, token)


def log_out(session: Session, *, token: str) -> None:
    """End a login session (committed); an unknown or expired one is already ended."""
    delete_login_session(session, token=token)
    session.commit()
