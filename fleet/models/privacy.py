"""Tables of the territory-wide privacy accounting and of the register's day keys."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

__all__ = ["CellRefusal", "PseudonymDayKey", "ZonePrivacyDay"]


class ZonePrivacyDay(SQLModel, table=True):
    """The fleet's ledger of one zone's day (``privacy_timezone``): epsilon spent by every
    accepted cell of every gateway, and what the cells were (the privacy report)."""

    __tablename__ = "zone_privacy_day"
    zone_id: str = Field(primary_key=True, foreign_key="zone.id", max_length=32)
    day: str = Field(primary_key=True, max_length=10)  # ISO date
    epsilon_spent: float = 0.0
    cells_published: int = 0
    suppressed_too_few_nodes: int = 0
    suppressed_below_threshold: int = 0
    suppressed_budget_exhausted: int = 0
    refused_budget_exceeded: int = 0
    refused_conflicting_cell: int = 0


class CellRefusal(SQLModel, table=True):
    """Cells the fleet refused, per gateway, zone, day and reason (an alert names the
    gateway): one row per combination, so a flood of bad cells stays a counter."""

    __tablename__ = "cell_refusal"
    gateway_id: str = Field(primary_key=True, max_length=32)
    zone_id: str = Field(primary_key=True, max_length=32)
    day: str = Field(primary_key=True, max_length=10)
    reason: str = Field(primary_key=True, max_length=32)
    count: int = 0
    last_at: int = Field(sa_type=BigInteger, index=True)  # when the fleet last refused one
    # the last refused cell, to look at
    last_metric: str = Field(max_length=32)
    last_start: int = Field(sa_type=BigInteger)
    last_period_s: int


class PseudonymDayKey(SQLModel, table=True):
    """One day's key of the register's pseudonym ratchet (protocol/pseudonyms.py), sealed at
    rest; only the last ``pseudonym_keep_days`` are kept."""

    __tablename__ = "pseudonym_day_key"
    day: str = Field(primary_key=True, max_length=10)
    key_enc: bytes
