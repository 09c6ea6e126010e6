"""Operators, API tokens and login sessions. Keyword-only, no HTTP errors here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from fleet.core import passwords, security
from fleet.crud import audit
from fleet.crud import login_throttle as throttle
from fleet.crud.errors import Conflict, NotFound, Refused, WeakPassword
from fleet.models import (
    ApiToken,
    ApiTokenCreate,
    LoginSession,
    Operator,
    OperatorCreate,
    OperatorUpdate,
    Role,
    utcnow,
)
from fleet.models.common import ROLE_RANK

__all__ = [
    "Principal",
    "change_own_password",
    "check_new_password",
    "create_api_token",
    "create_login_session",
    "create_operator",
    "delete_login_session",
    "get_operator_by_email",
    "list_api_tokens",
    "list_operators",
    "resolve_api_token",
    "resolve_login_session",
    "revoke_api_token",
    "unlock_operator",
    "update_operator",
]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and with which role (a token may carry less than its owner's role)."""

    operator: Operator
    role: Role
    actor: str  # as written in the audit log
    session_token: str | None = None  # set when authenticated by the browser cookie

    def at_least(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def get_operator_by_email(session: Session, *, email: str) -> Operator | None:
    return session.exec(select(Operator).where(Operator.email == email.strip().lower())).first()


def check_new_password(password: str, *, email: str, policy: passwords.PasswordPolicy) -> None:
    """Raise WeakPassword (with its reason code) unless the policy accepts this password."""
    local = email.strip().lower().split("@", 1)[0]
    reason = passwords.refusal(password, policy, user_words=(email.strip().lower(), local))
    if reason is not None:
        raise WeakPassword(passwords.explain(reason, policy), reason=reason)


def create_operator(
    session: Session, *, data: OperatorCreate, actor: str, policy: passwords.PasswordPolicy
) -> Operator:
    email = data.email.strip().lower()
    check_new_password(data.password, email=email, policy=policy)
    if get_operator_by_email(session, email=email) is not None:
        raise Conflict("an operator with this email exists")
    op = Operator(
        email=email,
        full_name=data.full_name,
        role=data.role,
        is_active=data.is_active,
        password_hash=security.hash_password(data.password),
    )
    session.add(op)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="operator.create",
        entity_type="operator",
        entity_id=op.id or 0,
        after=op,
    )
    return op


def list_operators(session: Session, *, limit: int, offset: int) -> list[Operator]:
    q = select(Operator).order_by(col(Operator.id)).offset(offset).limit(limit)
    return list(session.exec(q))


def update_operator(
    session: Session,
    *,
    operator_id: int,
    data: OperatorUpdate,
    actor: str,
    policy: passwords.PasswordPolicy,
) -> Operator:
    op = session.get(Operator, operator_id)
    if op is None:
        raise NotFound("no such operator")
    before = op.model_dump()
    changes = data.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    if password is not None:
        check_new_password(password, email=op.email, policy=policy)
    for key, value in changes.items():
        if value is not None:
            setattr(op, key, value)
    if password is not None:
        op.password_hash = security.hash_password(password)
        op.failed_logins = 0
        op.locked_until = None
    if op.role != before["role"] or not op.is_active or password is not None:
        # a demoted, disabled or re-passworded account loses its browser sessions
        for s in session.exec(select(LoginSession).where(LoginSession.operator_id == op.id)):
            session.delete(s)
    session.add(op)
    audit.record(
        session,
        actor=actor,
        action="operator.update",
        entity_type="operator",
        entity_id=operator_id,
        before=before,
        after=op,
    )
    return op


def change_own_password(
    session: Session,
    *,
    operator: Operator,
    current: str,
    new: str,
    actor: str,
    policy: passwords.PasswordPolicy,
) -> None:
    """An operator's own change: the current password first, then the policy (not committed)."""
    if not security.verify_password(operator.password_hash, current):
        raise Refused("current password is wrong")
    check_new_password(new, email=operator.email, policy=policy)
    operator.password_hash = security.hash_password(new)
    session.add(operator)
    audit.record(
        session,
        actor=actor,
        action="operator.password",
        entity_type="operator",
        entity_id=operator.id or 0,
        before={"password": "old"},
        after={"password": "new"},
    )


def unlock_operator(session: Session, *, operator_id: int, actor: str) -> Operator:
    """Lift the account-wide lock and every address's failure count on this account (an
    address blocked for all accounts stays blocked: that is about the address). Audited."""
    op = session.get(Operator, operator_id)
    if op is None:
        raise NotFound("no such operator")
    before = {"locked_until": op.locked_until, "failed_logins": op.failed_logins}
    cleared = throttle.clear_account(session, email=op.email)
    op.locked_until = None
    op.failed_logins = 0
    session.add(op)
    audit.record(
        session,
        actor=actor,
        action="operator.unlock",
        entity_type="operator",
        entity_id=operator_id,
        before=before,
        after={"locked_until": None, "failed_logins": 0, "address_counts_cleared": cleared},
    )
    return op


def create_api_token(
    session: Session,
    *,
    owner: Operator,
    data: ApiTokenCreate,
    default_ttl_days: int,
    max_ttl_days: int,
    actor: str,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    now = now or utcnow()
    role = data.role or owner.role
    if ROLE_RANK[role] > ROLE_RANK[owner.role]:
        raise Conflict("a token cannot have more rights than its owner")
    ttl = min(data.ttl_days or default_ttl_days, max_ttl_days)
    token = security.new_api_token()
    row = ApiToken(
        operator_id=owner.id or 0,
        name=data.name,
        role=role,
        token_hash=security.hash_token(token),
        prefix=token[:12],
        created_at=now,
        expires_at=now + timedelta(days=ttl),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.create",
        entity_type="api_token",
        entity_id=row.id or 0,
        after=row,
    )
    return row, token


def list_api_tokens(
    session: Session, *, operator_id: int | None, limit: int, offset: int
) -> list[ApiToken]:
    q = select(ApiToken)
    if operator_id is not None:
        q = q.where(ApiToken.operator_id == operator_id)
    return list(session.exec(q.order_by(col(ApiToken.id)).offset(offset).limit(limit)))


def revoke_api_token(
    session: Session, *, token_id: int, owner_id: int | None, actor: str
) -> ApiToken:
    """Revoke a token; ``owner_id`` restricts to the caller's own tokens (None: any, admin)."""
    row = session.get(ApiToken, token_id)
    if row is None or (owner_id is not None and row.operator_id != owner_id):
        raise NotFound("no such token")
    if row.revoked_at is None:
        audit.revoke(
            session, row, actor=actor, action="token.revoke", entity_type="api_token",
            entity_id=token_id,
        )
    return row


def resolve_api_token(
    session: Session, *, token: str, now: datetime | None = None
) -> Principal | None:
    now = now or utcnow()
    row = session.exec(
        select(ApiToken).where(ApiToken.token_hash == security.hash_token(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    op = session.get(Operator, row.operator_id)
    if op is None or not op.is_active:
        return None
    # the token never exceeds its owner's current role (owner demoted after issuing)
    role = row.role if ROLE_RANK[row.role] <= ROLE_RANK[op.role] else op.role
    return Principal(operator=op, role=role, actor=f"token:{row.id}")


def create_login_session(
    session: Session, *, operator: Operator, ttl: timedelta, now: datetime | None = None
) -> tuple[LoginSession, str]:
    now = now or utcnow()
    token = security.new_session_token()
    row = LoginSession(
        token_hash=security.hash_token(token),
        operator_id=operator.id or 0,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    return row, token


def resolve_login_session(
    session: Session, *, token: str, now: datetime | None = None
) -> tuple[Principal, LoginSession] | None:
    now = now or utcnow()
    row = session.exec(
        select(LoginSession).where(LoginSession.token_hash == security.hash_token(token))
    ).first()
    if row is None or row.expires_at <= now:
        return None
    op = session.get(Operator, row.operator_id)
    if op is None or not op.is_active:
        return None
    principal = Principal(operator=op, role=op.role, actor=f"operator:{op.id}", session_token=token)
    return principal, row


def delete_login_session(session: Session, *, token: str) -> None:
    row = session.exec(
        select(LoginSession).where(LoginSession.token_hash == security.hash_token(token))
    ).first()
    if row is not None:
        session.delete(row)
