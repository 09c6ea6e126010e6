"""The privacy report: per zone and day, epsilon spent of the budget and what became of the
cells, read from the fleet's ledger (fleet.crud.cells) — the figures of what gateways sent."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from fleet.models import ZonePrivacyDay

__all__ = ["DOC", "EXPLANATION", "PrivacyDay", "PrivacyReport", "privacy_days"]

EXPLANATION = (
    "Each zone may spend a privacy budget (epsilon) per day, all gateways together: every "
    "published people count adds random noise and spends part of it; the smaller the spend, "
    "the harder it is to tell whether any one person was there. epsilon_spent never exceeds "
    "epsilon_budget: the fleet refuses any cell that would. Suppressed cells were withheld "
    "(too few sensors, a noisy count below the threshold, or the day's budget spent); refused "
    "cells were sent by a gateway but not accepted (over the budget, or a second value for a "
    "cell already published)."
)
DOC = 'docs/privacy.md, section "Fleet: the privacy report", in the Territoire sources'


class PrivacyDay(BaseModel):
    zone_id: str
    day: str = Field(description="calendar day in the report's time zone (YYYY-MM-DD)")
    epsilon_budget: float = Field(description="the zone's daily budget, all gateways together")
    epsilon_spent: float = Field(description="sum of the epsilon of every accepted cell")
    cells_published: int
    cells_suppressed: dict[str, int] = Field(description="by reason")
    cells_refused: dict[str, int] = Field(description="by reason")


class PrivacyReport(BaseModel):
    explanation: str
    documentation: str
    timezone: str
    data: list[PrivacyDay]
    next_cursor: str | None = None


def privacy_days(
    session: Session,
    *,
    budget_of: dict[str, float] | None = None,
    default_budget: float,
    limit: int,
    offset: int,
    zone_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[PrivacyDay]:
    """Newest day first, then by zone; ``since``/``until`` are inclusive ISO dates."""
    q = select(ZonePrivacyDay)
    if zone_id is not None:
        q = q.where(ZonePrivacyDay.zone_id == zone_id)
    if since is not None:
        q = q.where(col(ZonePrivacyDay.day) >= since)
    if until is not None:
        q = q.where(col(ZonePrivacyDay.day) <= until)
    q = q.order_by(col(ZonePrivacyDay.day).desc(), col(ZonePrivacyDay.zone_id))
    budgets = budget_of or {}
    return [
        PrivacyDay(
            zone_id=r.zone_id,
            day=r.day,
            epsilon_budget=budgets.get(r.zone_id, default_budget),
            epsilon_spent=r.epsilon_spent,
            cells_published=r.cells_published,
            cells_suppressed={
                "too_few_nodes": r.suppressed_too_few_nodes,
                "below_threshold": r.suppressed_below_threshold,
                "budget_exhausted": r.suppressed_budget_exhausted,
            },
            cells_refused={
                "budget_exceeded": r.refused_budget_exceeded,
                "conflicting_cell": r.refused_conflicting_cell,
            },
        )
        for r in session.exec(q.offset(offset).limit(limit))
    ]
