"""The audit log, newest first (operators and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from fleet.api.deps import LimitDep, OperatorDep, SessionDep
from fleet.crud.audit import list_events
from fleet.models import AuditEventPublic, Page

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=Page[AuditEventPublic])
def audit_log(
    _: OperatorDep,
    session: SessionDep,
    limit: LimitDep,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="next_cursor")] = None,
    entity_type: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
    entity_id: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    actor: Annotated[str | None, Query(max_length=80, pattern=r"^[^\x00]*$")] = None,
) -> Page[AuditEventPublic]:
    rows = list_events(
        session,
        limit=limit,
        before_id=before,
        entity_type=entity_type,
        entity_id=entity_id,
        actor=actor,
    )
    data = [AuditEventPublic.model_validate(r, from_attributes=True) for r in rows]
    return Page(data=data, next_cursor=str(data[-1].id) if len(data) == limit else None)
