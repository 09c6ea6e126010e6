"""Residents' questions about a sensor, and the operators' answers (docs/dashboard.md,
"Questions").

A question is asked from a register entry, by the pseudonym of the day; the fleet resolves it
to the node for the operators and files the question under the sensor's group (profile, zone):
a published question and answer appear under every entry of that group, never tied to one
sensor, so they link no entry across days (docs/privacy.md, "Questions about a sensor").
Submissions are counted per client address in the login throttle's table, key ``q|ADDRESS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from fleet.crud import audit, login_throttle
from fleet.crud.errors import Conflict, Invalid, NotFound
from fleet.models import Node, Profile, Question, QuestionPublic, utcnow
from fleet.models.common import EMAIL_PATTERN
from fleet.models.questions import ANSWER_MAX_CHARS, QUESTION_MAX_CHARS

__all__ = [
    "Asked",
    "Refused",
    "ask",
    "clean_text",
    "dismiss",
    "get_question",
    "list_questions",
    "published",
    "question_limits",
    "save_answer",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # all but tab and line feed
_EMAIL = re.compile(EMAIL_PATTERN)
NAME_MAX_CHARS = 100


@dataclass(frozen=True, slots=True)
class Asked:
    question: Question


@dataclass(frozen=True, slots=True)
class Refused:
    """Why a submission was not stored: ``reason`` is a stable label; ``retry_after`` for
    ``rate_limited``."""

    reason: str
    retry_after: int = 0


def clean_text(text: str) -> str:
    """Line breaks made ``\\n``, control characters dropped, blanks around trimmed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _problem(kind: str, text: str, name: str, email: str) -> str | None:
    if kind not in ("question", "problem"):
        return "bad_kind"
    if not text:
        return "empty"
    if len(text) > QUESTION_MAX_CHARS:
        return "too_long"
    if len(name) > NAME_MAX_CHARS:
        return "name_too_long"
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        return "bad_email"
    return None


def ask(
    session: Session,
    *,
    node: Node,
    pseudonym: str,
    kind: str,
    text: str,
    name: str,
    email: str,
    address: str,
    limits: login_throttle.ThrottleLimits,
    per_address: int,
    now: datetime,
) -> Asked | Refused:
    """Check, count against the address, then store (the caller commits). A refused
    submission stores nothing but its count."""
    text, name, email = clean_text(text), clean_text(name), email.strip()
    problem = _problem(kind, text, name, email)
    if problem is not None:
        return Refused(problem)
    key = f"q|{address}"[:160]
    wait = login_throttle.blocked_for(session, (key,), now=now)
    if wait is not None:
        return Refused("rate_limited", wait)
    # counted as a "failure" of the throttle: the limit-th one is kept and blocks the next
    login_throttle.record_failure(session, key=key, limit=per_address, limits=limits, now=now)
    row = Question(
        pseudonym=pseudonym,
        node_id=node.id,
        profile_id=node.profile_id,
        zone_id=node.zone_id,
        kind=kind,  # type: ignore[arg-type]  # checked above
        text=text,
        name=name or None,
        email=email or None,
    )
    session.add(row)
    session.flush()
    return Asked(row)


def question_limits(window_s: int, rows_max: int) -> login_throttle.ThrottleLimits:
    window = timedelta(seconds=window_s)
    return login_throttle.ThrottleLimits(
        address_max=0, pair_max=0, window=window, block=window, rows_max=rows_max
    )


def list_questions(
    session: Session, *, statuses: tuple[str, ...], limit: int, offset: int
) -> list[Question]:
    """Oldest first: the queue of what awaits an answer."""
    q = select(Question).where(col(Question.status).in_(statuses))
    return list(session.exec(q.order_by(col(Question.id)).offset(offset).limit(limit)))


def get_question(session: Session, question_id: int) -> Question:
    row = session.get(Question, question_id)
    if row is None:
        raise NotFound(f"no question {question_id}")
    return row


def _audited(q: Question) -> dict[str, Any]:
    """What the audit log keeps of a question: never the resident's name or e-mail."""
    return {"id": q.id, "kind": q.kind, "status": q.status, "answer": q.answer}


def save_answer(
    session: Session, *, question_id: int, answer: str, publish: bool, actor: str
) -> Question:
    """Write (or rewrite) the answer; ``publish`` makes the question and answer public."""
    row = get_question(session, question_id)
    text = clean_text(answer)
    if not text:
        raise Invalid("an answer is needed")
    if len(text) > ANSWER_MAX_CHARS:
        raise Invalid(f"the answer holds more than {ANSWER_MAX_CHARS} characters")
    if row.status == "dismissed":
        raise Conflict("this question was dismissed")
    before = _audited(row)
    row.answer, row.answered_by, row.answered_at = text, actor, utcnow()
    if publish:
        row.status, row.published_at = "published", utcnow()
    elif row.status != "published":
        row.status = "answered"
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="question.publish" if publish else "question.answer",
        entity_type="question",
        entity_id=question_id,
        before=before,
        after=_audited(row),
    )
    return row


def dismiss(session: Session, *, question_id: int, actor: str) -> Question:
    """Never public (a published one is withdrawn)."""
    row = get_question(session, question_id)
    if row.status == "dismissed":
        raise Conflict("this question is already dismissed")
    before = _audited(row)
    row.status, row.published_at = "dismissed", None
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="question.dismiss",
        entity_type="question",
        entity_id=question_id,
        before=before,
        after=_audited(row),
    )
    return row


def published(
    session: Session,
    *,
    limit: int,
    offset: int,
    zone_id: str | None = None,
    profile_id: str | None = None,
) -> list[QuestionPublic]:
    """Published questions and answers, newest first; of one group with both filters."""
    q = (
        select(Question, Profile.name)
        .join(Profile, col(Profile.id) == col(Question.profile_id))
        .where(Question.status == "published")
    )
    if zone_id is not None:
        q = q.where(Question.zone_id == zone_id)
    if profile_id is not None:
        q = q.where(Question.profile_id == profile_id)
    q = q.order_by(col(Question.published_at).desc(), col(Question.id).desc())
    return [
        QuestionPublic(
            id=int(row.id or 0),
            kind=row.kind,
            type=profile_name,
            zone_id=row.zone_id,
            question=row.text,
            answer=row.answer or "",
            asked_on=row.asked_at.date().isoformat(),
            published_on=(row.published_at or row.asked_at).date().isoformat(),
        )
        for row, profile_name in session.exec(q.offset(offset).limit(limit))
    ]
