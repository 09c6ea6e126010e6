"""Residents' questions about a sensor of the register, and the operators' answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Index, String, Text
from sqlmodel import Field, SQLModel

from fleet.models.common import utcnow

__all__ = [
    "ANSWER_MAX_CHARS",
    "QUESTION_MAX_CHARS",
    "Question",
    "QuestionKind",
    "QuestionPublic",
    "QuestionStatus",
]

QUESTION_MAX_CHARS = 2000
ANSWER_MAX_CHARS = 4000
QuestionKind = Literal["question", "problem"]
# new -> answered (a draft, not public) -> published; or dismissed (never public)
QuestionStatus = Literal["new", "answered", "published", "dismissed"]


class Question(SQLModel, table=True):
    """A question or a problem report. ``name`` and ``email`` are optional and never public;
    the published question and answer belong to the group (profile, zone) of the sensor, not
    to the sensor (docs/privacy.md, "Questions about a sensor")."""

    __table_args__ = (
        Index("ix_question_status", "status", "id"),
        Index("ix_question_group", "profile_id", "zone_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    asked_at: datetime = Field(default_factory=utcnow)
    pseudonym: str = Field(max_length=24)  # the register id the resident asked from
    node_id: str | None = Field(default=None, max_length=32)  # for operators only
    profile_id: str = Field(max_length=32)
    zone_id: str = Field(max_length=32)
    kind: QuestionKind = Field(sa_type=String(16))
    text: str = Field(sa_type=Text)
    name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    status: QuestionStatus = Field(default="new", sa_type=String(16))
    answer: str | None = Field(default=None, sa_type=Text)
    answered_by: str | None = Field(default=None, max_length=80)
    answered_at: datetime | None = None
    published_at: datetime | None = None


class QuestionPublic(BaseModel):
    """A published question and its answer: no name, no e-mail, no sensor."""

    id: int
    kind: QuestionKind
    type: str  # the sensors' profile name, as in the register
    zone_id: str
    question: str
    answer: str
    asked_on: str  # YYYY-MM-DD
    published_on: str
