"""Anonymisation of closed windows for publication (privacy rules 3 and 4, docs/privacy.md).

Two steps, so the deterministic part can be inspected and tested on its own:

1. :func:`plan_publication` decides, per closed window of a zone, what may be released:
   - overlap: a window that starts before the end of the zone's last decided window is refused,
     so the published windows of a zone form one partition of time (no 5-minute cell can be
     subtracted from an hourly one) and no window is published twice;
   - ``k_nodes``: a cell from fewer distinct nodes is suppressed (``too_few_nodes``). Nodes
     report on their own schedule, not because someone passes, so this decision is about
     sensors, not persons, and may be deterministic;
   - the budget: the window's share of the zone's daily epsilon (capped by the fleet's
     allotment, gateway/allotment.py) goes WHOLE to its people counts; ``n`` is exact (noise on
     it protected nothing). If the zone's day cannot pay, the window is suppressed
     (``budget_exhausted``) and the zone stops until its next day (Europe/Paris).
   Suppressed cells enter the plan without any of their values.
2. :func:`publish` draws the OpenDP noise and applies the people threshold to the NOISY count
   (:func:`threshold_release`): post-processing of an epsilon-DP release, so whether a cell
   appears changes by at most e^epsilon between neighbouring counts (no deterministic threshold).

Secondary suppression by construction: we publish no total over zones or over windows. Any
total (:func:`district_totals`) is a sum of published, already noisy cells.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.aggregate import WindowStats
from gateway.allotment import Allotment
from gateway.config import AggregationSettings, PrivacySettings
from gateway.privacy_budget import (
    MICRO,
    CountRelease,
    PrivacyLedger,
    budget_day,
    plan_count,
    release_count,
    window_allowance_micro,
)
from protocol.metrics import METRICS
from protocol.published_cells import ci90

__all__ = [
    "CellPlan",
    "DpNote",
    "PrivacySettings",
    "Publication",
    "PublishedCell",
    "ReleasePlan",
    "anonymize",
    "district_totals",
    "plan_publication",
    "publish",
    "threshold_release",
]

P95_MIN_SAMPLES = AggregationSettings().p95_min_samples


@dataclass(frozen=True, slots=True)
class DpNote:
    """The noise drawn for one cell: the epsilon it spent, its scale, the 90 % interval."""

    epsilon: float
    scale: float
    ci90: tuple[int, int] | None  # None when the noisy count was not published


@dataclass(frozen=True, slots=True)
class PublishedCell:
    """A decided cell: zone-level, no node identity, never a min or max. People counts give
    ``people`` (noisy) and ``n``; the other metrics ``mean`` and ``p95``. A suppressed cell
    (``reason`` set) carries no value at all, only the noise note if noise was drawn."""

    zone: str
    metric: str
    start: int
    end: int
    n: int | None
    mean: float | None
    p95: float | None
    people: int | None
    reason: str | None = None
    dp: DpNote | None = None

    @property
    def suppressed(self) -> bool:
        return self.reason is not None


@dataclass(frozen=True, slots=True)
class CellPlan:
    zone: str
    metric: str
    start: int
    end: int
    stats: WindowStats | None  # None for a cell suppressed before any draw
    reason: str | None
    people: CountRelease | None


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    cells: tuple[CellPlan, ...]
    ledger: PrivacyLedger  # already charged: persist it before the cells leave the gateway
    skipped: dict[str, int]  # windows not decided again: overlap, expired_day
    settings: PrivacySettings
    p95_min_samples: int


@dataclass(frozen=True, slots=True)
class Publication:
    cells: tuple[PublishedCell, ...]  # published and suppressed (both go to the fleet)
    ledger: PrivacyLedger
    outcomes: dict[str, int]


OUTCOMES = ("published", "too_few_nodes", "below_threshold", "budget_exhausted", "overlap",
            "expired_day")  # fmt: skip


def _suppressed(c: WindowStats, reason: str) -> CellPlan:
    return CellPlan(c.zone, c.metric, c.start, c.end, None, reason, None)


def _decide_window(
    cells: list[WindowStats], ledger: PrivacyLedger, s: PrivacySettings, cap_micro: int
) -> tuple[list[CellPlan], PrivacyLedger]:
    zone, start, end = cells[0].zone, cells[0].start, cells[0].end
    day = budget_day(start, s.budget_tz)
    kept = [c for c in cells if c.nodes >= s.k_nodes]
    out = [_suppressed(c, "too_few_nodes") for c in cells if c.nodes < s.k_nodes]
    counts = [c for c in kept if c.peak_sum is not None]
    plans: list[CountRelease | None] = []
    if counts and cap_micro > 0 and not ledger.is_stopped(zone, day):
        allowance = window_allowance_micro(cap_micro / MICRO, start, end, s.budget_tz)
        each = allowance // len(counts)
        plans = [plan_count(c.peak_sum or 0, s.people_sensitivity, each) for c in counts]
    paid = None
    if cap_micro > 0 and not ledger.is_stopped(zone, day) and None not in plans:
        cost = sum(p.charge_micro for p in plans if p is not None)
        paid = ledger.try_charge(zone, day, cost, cap_micro)
        if paid is None:
            ledger = ledger.stop(zone, day)
    if paid is None:  # the zone cannot pay (or was allotted nothing): it publishes nothing
        return out + [_suppressed(c, "budget_exhausted") for c in kept], ledger
    releases = iter(plans)
    for c in kept:
        people = next(releases) if c.peak_sum is not None else None
        out.append(CellPlan(c.zone, c.metric, c.start, c.end, c, None, people))
    return out, paid


def plan_publication(
    closed: Iterable[WindowStats],
    ledger: PrivacyLedger,
    settings: PrivacySettings,
    allotment: Allotment | None = None,
    p95_min_samples: int = P95_MIN_SAMPLES,
) -> ReleasePlan:
    """Decide what of ``closed`` may be published and charge the budget for it (see module).
    ``allotment`` None: no fleet allotment known, the configured budget applies alone."""
    s = settings
    for zone, until in (allotment.decided_until if allotment else {}).items():
        ledger = ledger.mark_published(zone, until)  # decided elsewhere: never again here
    groups: dict[tuple[int, str, int], list[WindowStats]] = defaultdict(list)
    for cell in closed:
        groups[(cell.start, cell.zone, cell.end)].append(cell)
    skipped: Counter[str] = Counter()
    planned: list[CellPlan] = []
    for (start, zone, end), cells in sorted(groups.items()):
        day = budget_day(start, s.budget_tz)
        if ledger.floor_day and day < ledger.floor_day:
            skipped["expired_day"] += len(cells)
            continue
        if start < ledger.published_until.get(zone, start):
            skipped["overlap"] += len(cells)
            continue
        ledger = ledger.mark_published(zone, end)
        unique: dict[str, WindowStats] = {}
        for cell in sorted(cells, key=lambda c: c.metric):
            # a second version of the same cell would let one be subtracted from the other
            if cell.metric in unique:
                skipped["overlap"] += 1
            else:
                unique[cell.metric] = cell
        cap = s.budget_micro if allotment is None else allotment.cap_micro(zone, s.budget_micro)
        decided, ledger = _decide_window(list(unique.values()), ledger, s, cap)
        planned.extend(decided)
    if groups:
        newest = date.fromisoformat(budget_day(max(groups)[0], s.budget_tz))
        ledger = ledger.prune((newest - timedelta(days=s.keep_days - 1)).isoformat())
    return ReleasePlan(tuple(planned), ledger, dict(skipped), s, p95_min_samples)


def threshold_release(plan: CountRelease, k: int) -> int | None:
    """Draw the noisy count and publish it only if IT is at least ``k`` (the decision never
    looks at the true count: post-processing, no extra epsilon)."""
    noisy = release_count(plan)
    return noisy if noisy >= k else None


def _round(x: float | None, decimals: int) -> float | None:
    return None if x is None else round(x, decimals)


def _publish_one(p: CellPlan, s: PrivacySettings, p95_min: int) -> PublishedCell:
    c = p.stats
    if c is None:
        return PublishedCell(p.zone, p.metric, p.start, p.end, None, None, None, None, p.reason)
    if p.people is not None:
        people = threshold_release(p.people, s.k_people)
        eps = p.people.charge_micro / MICRO
        ci = None if people is None else ci90(people, p.people.scale)
        dp = DpNote(eps, p.people.scale, None if ci is None else (ci[0], ci[1]))
        if people is None:
            return PublishedCell(c.zone, c.metric, c.start, c.end, None, None, None, None,
                                 "below_threshold", dp)
        return PublishedCell(c.zone, c.metric, c.start, c.end, c.n, None, None, people, None, dp)
    d = METRICS[c.metric].decimals
    p95 = _round(c.p95, d) if c.n >= p95_min else None
    return PublishedCell(c.zone, c.metric, c.start, c.end, c.n, round(c.mean, d + 1), p95, None)


def publish(plan: ReleasePlan) -> tuple[PublishedCell, ...]:
    """Draw the noise for a plan (OpenDP's CSPRNG) and apply the noisy threshold."""
    return tuple(_publish_one(p, plan.settings, plan.p95_min_samples) for p in plan.cells)


def anonymize(
    closed: Iterable[WindowStats],
    ledger: PrivacyLedger,
    settings: PrivacySettings,
    allotment: Allotment | None = None,
    p95_min_samples: int = P95_MIN_SAMPLES,
) -> Publication:
    """Plan, charge and noise in one call. Persist ``ledger`` BEFORE any cell becomes visible:
    if the gateway dies in between, the budget stays spent and the windows stay decided."""
    plan = plan_publication(closed, ledger, settings, allotment, p95_min_samples)
    cells = publish(plan)
    outcomes: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
    outcomes.update(plan.skipped)
    outcomes.update(c.reason or "published" for c in cells)
    return Publication(cells, plan.ledger, dict(outcomes))


def district_totals(cells: Iterable[PublishedCell]) -> dict[tuple[str, int, int], dict[str, int]]:
    """Totals over zones per (metric, start, end), built ONLY from published noisy cells (pure
    post-processing): ``{"n": .., "people": .., "zones": ..}``. Suppressed zones are absent,
    so subtracting published zones from a total reveals nothing about them."""
    totals: dict[tuple[str, int, int], dict[str, int]] = {}
    for c in cells:
        if c.suppressed:
            continue
        t = totals.setdefault((c.metric, c.start, c.end), {"n": 0, "people": 0, "zones": 0})
        t["n"] += c.n or 0
        t["people"] += c.people or 0
        t["zones"] += 1
    return totals
