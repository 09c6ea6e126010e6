"""Operators, their API tokens and their browser sessions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, field_validator
from sqlalchemy import String
from sqlmodel import Field, SQLModel

from fleet.models.common import EMAIL_PATTERN, PASSWORD_INPUT_MAX, Role, utcnow

__all__ = [
    "ApiToken",
    "ApiTokenCreate",
    "ApiTokenCreated",
    "ApiTokenPublic",
    "LoginRequest",
    "LoginSession",
    "LoginThrottle",
    "Operator",
    "OperatorBase",
    "OperatorCreate",
    "OperatorPublic",
    "OperatorUpdate",
    "SessionInfo",
]


class OperatorBase(SQLModel):
    # stored lower-case; the login name
    email: str = Field(max_length=254, unique=True, schema_extra={"pattern": EMAIL_PATTERN})
    full_name: str = Field(default="", max_length=200)
    role: Role = Field(default="viewer", sa_type=String(16))
    is_active: bool = True


class OperatorCreate(OperatorBase):
    # the policy (fleet/core/passwords.py) judges it, with a reason code; this only bounds input
    password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)

    @field_validator("email", mode="before")
    @classmethod
    def _canonical_email(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v


class OperatorUpdate(SQLModel):
    full_name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=PASSWORD_INPUT_MAX)


class Operator(OperatorBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=512)
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class OperatorPublic(OperatorBase):
    id: int
    created_at: datetime
    # set while the account is locked for everybody (many failures from several addresses)
    locked_until: datetime | None = None


class ApiTokenCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    # a token may act with less than its owner's role, never more
    role: Role | None = None
    ttl_days: int | None = Field(default=None, ge=1, le=3650)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    operator_id: int = Field(foreign_key="operator.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    role: Role = Field(sa_type=String(16))
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=12)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class ApiTokenPublic(SQLModel):
    id: int
    operator_id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    """Returned once at creation: the only time the token itself is shown."""

    token: str


class LoginSession(SQLModel, table=True):
    __tablename__ = "login_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    operator_id: int = Field(foreign_key="operator.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class LoginThrottle(SQLModel, table=True):
    """Failed logins of one client address, or of one (account, address) pair, in a window.

    Keys: ``a|<address>`` and ``p|<sha256 of the e-mail, 32 hex>|<address>``, so an e-mail
    that is no account counts the same as one that is (no enumeration)."""

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=160)
    failures: int = 0
    window_start: datetime = Field(index=True)
    blocked_until: datetime | None = None


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)


class SessionInfo(BaseModel):
    operator: OperatorPublic
    csrf_token: str
    expires_at: datetime
