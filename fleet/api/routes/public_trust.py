"""The public records of trust as JSON (no login): the release log and the published answers
to residents' questions (the privacy report is in ``public.py``)."""

from __future__ import annotations

from fastapi import APIRouter

from fleet.api.deps import LimitDep, OffsetDep, SessionDep
from fleet.api.params import SlugQuery
from fleet.crud import questions
from fleet.crud.release_log import EXPLANATION, ReleaseLog, release_log
from fleet.models import Page, QuestionPublic

router = APIRouter(prefix="/public", tags=["public"])


@router.get("/releases", response_model=ReleaseLog)
def releases(session: SessionDep, limit: LimitDep, offset: OffsetDep = 0) -> ReleaseLog:
    """Every firmware release ever published, newest first: version, dates, the signing
    key's id and fingerprint, the SHA-256 of the bundle, of the signed manifest and of every
    file, the release manager's notes, and where each rollout stands by zone."""
    data = release_log(session, limit=limit, offset=offset)
    return ReleaseLog(
        explanation=EXPLANATION,
        data=data,
        next_cursor=str(offset + limit) if len(data) == limit else None,
    )


@router.get("/questions", response_model=Page[QuestionPublic])
def published_questions(
    session: SessionDep,
    limit: LimitDep,
    offset: OffsetDep = 0,
    zone: SlugQuery = None,
    profile: SlugQuery = None,
) -> Page[QuestionPublic]:
    """Residents' questions an operator answered and published, newest first, filed under the
    sensors' group (profile and zone), never one sensor; without names or e-mails."""
    data = questions.published(
        session, limit=limit, offset=offset, zone_id=zone, profile_id=profile
    )
    return Page(data=data, next_cursor=str(offset + limit) if len(data) == limit else None)
