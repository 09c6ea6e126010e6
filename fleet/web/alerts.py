"""Alerts computed from node health: offline, low battery, a spike of rejected messages,
suspect readings; and cells a gateway sent that the fleet refused (fleet.crud.cells), naming
the gateway.

The rules are values (``AlertRules``, from the settings) and the decisions pure functions;
``compute_alerts`` is the thin query shell. A spike of rejected messages (bad MACs, replays,
out-of-range values, ...) is what tampering with a node, or an attacker speaking in its name,
looks like from the fleet. Suspect readings are genuine, signed readings the gateway kept out
of its published figures: a node sending faster than its interval allows, or values its sensor
cannot produce (out of range, moving too fast, stuck): a faulty sensor, or a node's owner or a
leaked key pushing a zone's figure (docs/gateway.md, "A node's weight").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import String, cast, select
from sqlmodel import Session, col
from sqlmodel import select as select_model

from fleet.core.config import Settings
from fleet.crud.health_history import rejected_series
from fleet.models import CellRefusal, Node, NodeHealth

__all__ = [
    "Alert",
    "AlertKind",
    "AlertReport",
    "AlertRules",
    "CellAlert",
    "NodeState",
    "compute_alerts",
    "node_alerts",
    "refused_cell_alerts",
    "rejected_increase",
    "suspect_alert",
]

AlertKind = Literal["offline", "low_battery", "rejected_spike", "suspect"]
KINDS: tuple[AlertKind, ...] = ("offline", "low_battery", "rejected_spike", "suspect")


@dataclass(frozen=True, slots=True)
class AlertRules:
    offline_after_s: int
    low_battery_v: float
    rejected_spike: int
    rejected_window_s: int
    bucket_s: int
    list_max: int
    suspect_min: int = 1
    refused_cell_window_s: int = 86400

    @classmethod
    def from_settings(cls, s: Settings) -> AlertRules:
        return cls(
            offline_after_s=s.node_offline_after_s,
            low_battery_v=s.alert_low_battery_v,
            rejected_spike=s.alert_rejected_spike,
            rejected_window_s=s.alert_rejected_window_s,
            bucket_s=s.health_history_bucket_s,
            suspect_min=s.alert_suspect_min,
            list_max=s.alert_list_max,
            refused_cell_window_s=s.alert_refused_cell_window_s,
        )

    @property
    def offline_minutes(self) -> int:
        return self.offline_after_s // 60

    @property
    def rejected_window_minutes(self) -> int:
        return self.rejected_window_s // 60


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    node_id: str
    zone_id: str
    since: int  # when it was last true: last contact, or last report
    value: float  # seconds silent, volts, rejections or suspect readings in the window


@dataclass(frozen=True, slots=True)
class CellAlert:
    """Cells of one gateway, zone and day the fleet refused for one reason: over the zone's
    budget, or a second value for a published cell (a bug, a restored backup, tampering)."""

    gateway_id: str
    zone_id: str
    day: str
    reason: str  # budget_exceeded | conflicting_cell
    count: int
    since: int  # the last refusal
    metric: str  # the last refused cell
    start: int


@dataclass(slots=True)
class Section:
    count: int = 0
    items: list[Alert] = field(default_factory=list)


@dataclass(slots=True)
class AlertReport:
    offline: Section
    low_battery: Section
    rejected_spike: Section
    suspect: Section = field(default_factory=Section)
    refused_cells: list[CellAlert] = field(default_factory=list)

    @property
    def total(self) -> int:
        counts = self.offline.count + self.low_battery.count + self.rejected_spike.count
        return counts + self.suspect.count + len(self.refused_cells)

    def sections(self) -> list[tuple[AlertKind, Section]]:
        return [(k, getattr(self, k)) for k in KINDS]

    def recent(self, n: int) -> list[Alert]:
        every = (self.offline.items + self.low_battery.items + self.rejected_spike.items
                 + self.suspect.items)
        return sorted(every, key=lambda a: (-a.since, a.node_id))[:n]


def rejected_increase(totals: Sequence[int], *, baseline: int | None) -> int:
    """Rejections added along a series of cumulative counters, oldest first.

    The gateway's counters restart from zero with the gateway: a drop means a restart, so the
    new value counts whole. Without a baseline (no sample before the window) the series
    starts from zero.
    """
    added, previous = 0, baseline if baseline is not None else 0
    for total in totals:
        added += total - previous if total >= previous else total
        previous = total
    return added


@dataclass(frozen=True, slots=True)
class NodeState:
    """What the alert rules read of a node and its latest health."""

    node_id: str
    zone_id: str
    active: bool
    last_seen: int | None  # None: never heard from
    battery_v: float | None
    received_at: int | None = None  # when the fleet received the latest health
    rejected_total: int = 0  # its rejection counters, added up
    suspect_total: int = 0  # its held-back counters, added up

    @classmethod
    def of(cls, node: Node, health: NodeHealth | None) -> NodeState:
        if health is None:
            return cls(node.id, node.zone_id, node.status == "active", None, None)
        return cls(
            node.id,
            node.zone_id,
            node.status == "active",
            health.last_seen,
            health.battery_v,
            health.received_at,
            sum(health.rejected.values()),
            sum(health.suspect.values()),
        )


def _increase(
    samples: Sequence[tuple[int, int]], latest: tuple[int, int] | None, start: int
) -> tuple[int, int] | None:
    """(when, how much) a cumulative counter grew from ``start`` on, along its history and
    the latest report; None without a point in the window."""
    series = list(samples)
    if latest is not None and (not series or series[-1][0] < latest[0]):
        series.append(latest)
    before = [total for at, total in series if at < start]
    inside = [(at, total) for at, total in series if at >= start]
    if not inside:
        return None
    added = rejected_increase(
        [total for _, total in inside], baseline=before[-1] if before else None
    )
    return inside[-1][0], added


def suspect_alert(
    state: NodeState, *, samples: Sequence[tuple[int, int]], rules: AlertRules, now: int
) -> Alert | None:
    """A node with readings held back by its gateway within the window. ``samples`` are its
    history, (received at, suspect total), oldest first."""
    if not state.active or state.last_seen is None:
        return None
    latest = None if state.received_at is None else (state.received_at, state.suspect_total)
    grown = _increase(samples, latest, now - rules.rejected_window_s)
    if grown is None or grown[1] < rules.suspect_min:
        return None
    return Alert("suspect", state.node_id, state.zone_id, grown[0], grown[1])


def node_alerts(
    state: NodeState, *, samples: Sequence[tuple[int, int]], rules: AlertRules, now: int
) -> list[Alert]:
    """The alerts of one node but ``suspect`` (:func:`suspect_alert`). ``samples`` are its
    history, (received at, rejected total), oldest first; the latest health is the newest
    point."""
    seen = state.last_seen
    if not state.active or seen is None:
        return []
    out: list[Alert] = []
    node_id, zone_id = state.node_id, state.zone_id
    if seen < now - rules.offline_after_s:
        out.append(Alert("offline", node_id, zone_id, seen, now - seen))
    if state.battery_v is not None and state.battery_v < rules.low_battery_v:
        out.append(Alert("low_battery", node_id, zone_id, seen, state.battery_v))
    latest = None if state.received_at is None else (state.received_at, state.rejected_total)
    grown = _increase(samples, latest, now - rules.rejected_window_s)
    if grown is not None and grown[1] >= rules.rejected_spike:
        out.append(Alert("rejected_spike", node_id, zone_id, grown[0], grown[1]))
    return out


def compute_alerts(
    session: Session, *, rules: AlertRules, now: int, offline: int, low_battery: int
) -> AlertReport:
    """The alert lists; ``offline`` and ``low_battery`` are the fleet-wide counts, which the
    overview's grouped query already has (fleet.web.stats), so nothing counts twice."""
    report = AlertReport(Section(offline), Section(low_battery), Section())
    active = (
        select(
            col(Node.id), col(Node.zone_id), col(NodeHealth.last_seen), col(NodeHealth.battery_v)
        )
        .join(NodeHealth, col(NodeHealth.node_id) == col(Node.id))
        .where(col(Node.status) == "active")
    )
    for kind, section, cond, order in (
        ("offline", report.offline,
         col(NodeHealth.last_seen) < now - rules.offline_after_s,
         col(NodeHealth.last_seen).desc()),
        ("low_battery", report.low_battery,
         col(NodeHealth.battery_v) < rules.low_battery_v,
         col(NodeHealth.battery_v)),
    ):  # fmt: skip
        if section.count == 0:
            continue
        for row in session.execute(active.where(cond).order_by(order).limit(rules.list_max)):
            state = NodeState(row[0], row[1], True, row[2], row[3])
            alerts = node_alerts(state, samples=(), rules=rules, now=now)
            section.items += [a for a in alerts if a.kind == kind]
    # spikes: only nodes whose counters are not empty and that reported within the window,
    # then their recent samples
    window_start = now - rules.rejected_window_s
    spiky = select(
        col(Node.id),
        col(Node.zone_id),
        col(NodeHealth.last_seen),
        col(NodeHealth.battery_v),
        col(NodeHealth.received_at),
        col(NodeHealth.rejected),
    ).join(NodeHealth, col(NodeHealth.node_id) == col(Node.id))
    candidates = [
        NodeState(node_id, zone_id, True, seen, battery, received, sum(rejected.values()))
        for node_id, zone_id, seen, battery, received, rejected in session.execute(
            spiky.where(
                col(Node.status) == "active",
                cast(NodeHealth.rejected, String) != "{}",
                col(NodeHealth.received_at) >= window_start,
            )
        )
    ]
    history = rejected_series(
        session, node_ids=[c.node_id for c in candidates], since=window_start - rules.bucket_s
    )
    spikes: list[Alert] = []
    for state in candidates:
        alerts = node_alerts(state, samples=history.get(state.node_id, []), rules=rules, now=now)
        spikes += [a for a in alerts if a.kind == "rejected_spike"]
    spikes.sort(key=lambda a: (-a.value, a.node_id))
    report.rejected_spike.count = len(spikes)
    report.rejected_spike.items = spikes[: rules.list_max]
    report.suspect = _suspects(session, rules=rules, now=now)
    report.refused_cells = refused_cell_alerts(session, rules=rules, now=now)
    return report


def _suspects(session: Session, *, rules: AlertRules, now: int) -> Section:
    """Nodes whose held-back counters are not empty and that reported within the window,
    then their recent samples (as for the rejected spikes)."""
    window_start = now - rules.rejected_window_s
    q = select(
        col(Node.id),
        col(Node.zone_id),
        col(NodeHealth.last_seen),
        col(NodeHealth.received_at),
        col(NodeHealth.suspect),
    ).join(NodeHealth, col(NodeHealth.node_id) == col(Node.id))
    candidates = [
        NodeState(node_id, zone_id, True, seen, None, received, 0, sum(suspect.values()))
        for node_id, zone_id, seen, received, suspect in session.execute(
            q.where(
                col(Node.status) == "active",
                cast(NodeHealth.suspect, String) != "{}",
                col(NodeHealth.received_at) >= window_start,
            )
        )
    ]
    history = rejected_series(
        session, node_ids=[c.node_id for c in candidates], since=window_start - rules.bucket_s,
        column="suspect_total",
    )
    found = [
        a for state in candidates
        if (a := suspect_alert(state, samples=history.get(state.node_id, []), rules=rules,
                               now=now)) is not None
    ]  # fmt: skip
    found.sort(key=lambda a: (-a.value, a.node_id))
    return Section(len(found), found[: rules.list_max])


def refused_cell_alerts(session: Session, *, rules: AlertRules, now: int) -> list[CellAlert]:
    """Refusals within the window, newest first."""
    q = (
        select_model(CellRefusal)
        .where(col(CellRefusal.last_at) >= now - rules.refused_cell_window_s)
        .order_by(col(CellRefusal.last_at).desc(), col(CellRefusal.gateway_id))
        .limit(rules.list_max)
    )
    return [
        CellAlert(
            r.gateway_id,
            r.zone_id,
            r.day,
            r.reason,
            r.count,
            r.last_at,
            r.last_metric,
            r.last_start,
        )
        for r in session.exec(q)
    ]
