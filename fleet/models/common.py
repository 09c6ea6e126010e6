"""Shapes shared by every model: identifiers, roles, clocks, pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, StringConstraints
from sqlalchemy import BigInteger, Integer

__all__ = [
    "BIGINT_PK",
    "EMAIL_PATTERN",
    "PASSWORD_INPUT_MAX",
    "ROLE_RANK",
    "SLUG_PATTERN",
    "Page",
    "Role",
    "Slug",
    "utcnow",
]

# SQLite auto-increments only an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key
BIGINT_PK = BigInteger().with_variant(Integer(), "sqlite")

# node, zone, profile and gateway ids: 3..32 of a-z 0-9 -, not starting with "-" (docs/protocol.md)
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{2,31}$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=3, max_length=32)]

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,189}$"
# longest password read from a request (the policy's maximum is lower, settings.py: 128)
PASSWORD_INPUT_MAX = 1024

Role = Literal["viewer", "operator", "admin"]
ROLE_RANK: dict[str, int] = {"viewer": 0, "operator": 1, "admin": 2}

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Page(BaseModel, Generic[T]):
    """One page of a list. Pass ``next_cursor`` back as ``after`` for the next page."""

    data: list[T]
    next_cursor: str | None = None
