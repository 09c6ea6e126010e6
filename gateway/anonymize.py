"""Anonymisation of closed windows for publication (privacy rules 3 and 4, docs/privacy.md).

Two steps, so the deterministic part can be inspected and tested on its own:

1. :func:`plan_publication` decides, per closed window of a zone, what may be released:
   - overlap: a window that starts before the end of the zone's last decided window is refused,
     so the published windows of a zone form one partition of time (no 5-minute cell can be
     subtracted from an hourly one) and no window is published twice;
   - primary suppression: a cell from fewer than ``k_nodes`` distinct nodes, or a people count
     from fewer than ``k_people`` people, is suppressed whole;
   - the budget: the window's share of the zone's daily epsilon is split between the people
     count and the ``n`` of each kept cell; if the zone's day cannot pay, publication of that
     zone stops until its next day (Europe/Paris).
   Only kept cells enter the plan, with their true values: nothing of a suppressed cell does.
2. :func:`publish` draws the OpenDP noise for the plan. :func:`anonymize` does both.

Secondary suppression by construction: we publish no total over zones or over windows. Any
total (:func:`district_totals`) is a sum of published, already noisy cells, so a suppressed cell
can never be recovered by subtraction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.aggregate import WindowStats
from gateway.config import PrivacySettings
from gateway.privacy_budget import (
    CountRelease,
    PrivacyLedger,
    budget_day,
    plan_count,
    release_count,
    window_allowance_micro,
)
from protocol.metrics import METRICS

__all__ = [
    "CellPlan",
    "PrivacySettings",
    "Publication",
    "PublishedCell",
    "ReleasePlan",
    "anonymize",
    "district_totals",
    "plan_publication",
    "publish",
]


@dataclass(frozen=True, slots=True)
class PublishedCell:
    """An anonymised cell: zone-level, noisy counts, no node identity. For people counts only
    ``people`` and ``n`` are given; for the other metrics ``mean``/``min``/``max``/``p95``."""

    zone: str
    metric: str
    start: int
    end: int
    n: int
    mean: float | None
    min: float | None
    max: float | None
    p95: float | None
    people: int | None


@dataclass(frozen=True, slots=True)
class CellPlan:
    stats: WindowStats
    n: CountRelease
    people: CountRelease | None


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    cells: tuple[CellPlan, ...]
    ledger: PrivacyLedger  # already charged: persist it before the cells leave the gateway
    outcomes: dict[str, int]  # per-cell decision counts: published, few_nodes, few_people, ...
    settings: PrivacySettings


@dataclass(frozen=True, slots=True)
class Publication:
    cells: tuple[PublishedCell, ...]
    ledger: PrivacyLedger
    outcomes: dict[str, int]


OUTCOMES = ("published", "few_nodes", "few_people", "budget_exhausted", "overlap", "expired_day")


def _primary(cell: WindowStats, s: PrivacySettings) -> str | None:
    if cell.nodes < s.k_nodes:
        return "few_nodes"
    if cell.peak_sum is not None and cell.peak_sum < s.k_people:
        return "few_people"
    return None


def plan_publication(
    closed: Iterable[WindowStats], ledger: PrivacyLedger, settings: PrivacySettings
) -> ReleasePlan:
    """Decide what of ``closed`` may be published and charge the budget for it (see module)."""
    s = settings
    groups: dict[tuple[int, str, int], list[WindowStats]] = defaultdict(list)
    for cell in closed:
        groups[(cell.start, cell.zone, cell.end)].append(cell)
    outcomes: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
    planned: list[CellPlan] = []
    for (start, zone, end), cells in sorted(groups.items()):
        day = budget_day(start, s.budget_tz)
        if ledger.floor_day and day < ledger.floor_day:
            outcomes["expired_day"] += len(cells)
            continue
        if start < ledger.published_until.get(zone, start):
            outcomes["overlap"] += len(cells)
            continue
        ledger = ledger.mark_published(zone, end)
        kept: list[WindowStats] = []
        seen: set[str] = set()
        for cell in sorted(cells, key=lambda c: c.metric):
            # a second version of the same cell would let one be subtracted from the other
            reason = "overlap" if cell.metric in seen else _primary(cell, s)
            seen.add(cell.metric)
            if reason is None:
                kept.append(cell)
            else:
                outcomes[reason] += 1
        if not kept:
            continue
        allowance = window_allowance_micro(s.epsilon_per_zone_day, start, end, s.budget_tz)
        people_micro = int(allowance * s.people_share)
        n_micro = (allowance - people_micro) // len(kept)
        plans = []
        for cell in kept:
            n_plan = plan_count(cell.n, s.n_sensitivity, n_micro)
            people_plan = None
            if cell.peak_sum is not None:
                people_plan = plan_count(cell.peak_sum, s.people_sensitivity, people_micro)
            if n_plan is None or (cell.peak_sum is not None and people_plan is None):
                break  # a share too small to pay for any noise (absurd settings): release none
            plans.append(CellPlan(cell, n_plan, people_plan))
        if len(plans) < len(kept):
            outcomes["budget_exhausted"] += len(kept)
            continue
        cost = sum(p.n.charge_micro + (p.people.charge_micro if p.people else 0) for p in plans)
        charged = ledger.try_charge(zone, day, cost, s.budget_micro)
        if charged is None:
            ledger = ledger.stop(zone, day)
            outcomes["budget_exhausted"] += len(kept)
            continue
        ledger = charged
        planned.extend(plans)
        outcomes["published"] += len(plans)
    if groups:
        newest = date.fromisoformat(budget_day(max(groups)[0], s.budget_tz))
        ledger = ledger.prune((newest - timedelta(days=s.keep_days - 1)).isoformat())
    return ReleasePlan(tuple(planned), ledger, dict(outcomes), s)


def _round(x: float | None, decimals: int) -> float | None:
    return None if x is None else round(x, decimals)


def publish(plan: ReleasePlan) -> tuple[PublishedCell, ...]:
    """Draw the noise for a plan. Noisy counts are post-processed to the bounds that publication
    already reveals (a published people count is at least ``k_people``, an n at least
    ``k_nodes``), which costs no privacy and removes absurd negative values."""
    s = plan.settings
    out = []
    for p in plan.cells:
        c = p.stats
        n = max(s.k_nodes, release_count(p.n))
        people = None if p.people is None else max(s.k_people, release_count(p.people))
        d = METRICS[c.metric].decimals
        stats: tuple[float | None, float | None, float | None, float | None] = (None,) * 4
        if people is None:  # people counts publish no min/max/p95: each is one node's count
            stats = (round(c.mean, d + 1), round(c.min, d), round(c.max, d), _round(c.p95, d))
        out.append(PublishedCell(c.zone, c.metric, c.start, c.end, n, *stats, people))
    return tuple(out)


def anonymize(
    closed: Iterable[WindowStats], ledger: PrivacyLedger, settings: PrivacySettings
) -> Publication:
    """Plan, charge and noise in one call. Persist ``ledger`` BEFORE sending ``cells``: if the
    gateway dies in between, the budget stays spent and the windows stay decided (privacy first,
    at the cost of those cells)."""
    plan = plan_publication(closed, ledger, settings)
    return Publication(publish(plan), plan.ledger, plan.outcomes)


def district_totals(cells: Iterable[PublishedCell]) -> dict[tuple[str, int, int], dict[str, int]]:
    """Totals over zones per (metric, start, end), built ONLY from published noisy cells (pure
    post-processing): ``{"n": .., "people": .., "zones": ..}``. Suppressed zones are absent,
    so subtracting published zones from a total reveals nothing about them."""
    totals: dict[tuple[str, int, int], dict[str, int]] = {}
    for c in cells:
        t = totals.setdefault((c.metric, c.start, c.end), {"n": 0, "people": 0, "zones": 0})
        t["n"] += c.n
        t["people"] += c.people or 0
        t["zones"] += 1
    return totals
