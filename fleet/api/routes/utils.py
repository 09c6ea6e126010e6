"""Liveness and readiness probes (the liveness one is also the benchmark's bare baseline)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from fleet.api.deps import SessionDep

router = APIRouter(prefix="/utils", tags=["utils"])


@router.get("/health-check")
async def health_check() -> dict[str, str]:
    """The process answers (no database access)."""
    return {"status": "ok"}


@router.get("/ready")
def ready(session: SessionDep) -> dict[str, str]:
    """The database answers."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
