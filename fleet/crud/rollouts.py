"""Rollouts in the database: create, evaluate with ``fleet.rollout_engine``, operator actions.

Evaluation loads a rollout's definition and its members' reported states, adds the nodes that
started to match its target since (late joiners), asks the pure engine what to do and stores
what changed (an automatic pause or completion is audited as ``system``). Any worker may
evaluate at any time: the result depends only on the database and the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from fleet.crud import audit
from fleet.crud.errors import Conflict, Invalid, NotFound
from fleet.crud.rollout_members import (
    UNFINISHED,
    busy_nodes,
    candidates,
    groups_of,
    join_late,
    target_nodes,
    target_of,
)
from fleet.models import Node, NodeHealth, Release, Rollout, RolloutMember, utcnow
from fleet.models.ota_api import RolloutCreate, WindowIn
from fleet.rollout_engine import Decision, MemberState, RolloutSpec, Window, decide
from fleet.rollout_targeting import assign_groups, group_sizes, matches, not_eligible

__all__ = [
    "UNFINISHED",
    "Evaluation",
    "NotEligible",
    "create_rollout",
    "evaluate",
    "evaluate_unfinished",
    "get_rollout",
    "list_rollouts",
    "operator_action",
]


@dataclass(frozen=True, slots=True)
class Reported:
    """A node's latest health, as far as updates care: what it runs, and when it said so."""

    fw: str
    slot: str
    last_seen: int
    hw: str | None = None


@dataclass(frozen=True, slots=True)
class NotEligible:
    """A node the target selects that cannot take the release: not offered, not counted."""

    node_id: str
    reason: str  # "hardware"
    hw: str | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    rollout: Rollout
    release: Release
    decision: Decision
    members: Sequence[RolloutMember]  # the eligible ones: the decision counts these only
    health: dict[str, Reported]
    not_eligible: Sequence[NotEligible] = ()


def _window(rollout: Rollout) -> Window | None:
    if rollout.window_start_min is None or rollout.window_end_min is None:
        return None
    return Window(rollout.window_start_min, rollout.window_end_min)


def _window_minutes(window: WindowIn | None) -> tuple[int | None, int | None]:
    if window is None:
        return None, None
    return WindowIn.minutes(window.start), WindowIn.minutes(window.end)


def create_rollout(session: Session, *, data: RolloutCreate, actor: str, now: int) -> Rollout:
    """Start a rollout: members are the matching nodes not busy in another rollout and of
    the release's hardware (or of a hardware not known yet: fleet.rollout_targeting)."""
    release = session.get(Release, data.release_id)
    if release is None:
        raise NotFound(f"no release {data.release_id}")
    if release.expires <= now:
        raise Invalid(f"release {release.version} has expired: build and sign a new one")
    start_min, end_min = _window_minutes(data.window)
    rollout = Rollout(
        name=data.name,
        release_id=data.release_id,
        target=data.target.model_dump(),
        groups=[g.model_dump() for g in data.groups],
        start_sizes=[],
        accepted_failures=[0] * len(data.groups),
        window_start_min=start_min,
        window_end_min=end_min,
        created_by=actor,
    )
    session.add(rollout)
    session.flush()
    rollout_id = int(rollout.id or 0)
    target, groups = target_of(rollout), groups_of(rollout)
    busy = busy_nodes(session, except_rollout=rollout_id)
    ids = [
        n.node_id
        for n in candidates(session, target)
        if n.node_id not in busy
        and matches(target, n, rollout_id)
        and not_eligible(n, release.hardware) is None
    ]
    assigned = assign_groups(rollout_id, groups, ids)
    rollout.start_sizes = group_sizes(groups, len(ids))
    for node_id, group in assigned.items():
        session.add(RolloutMember(rollout_id=rollout_id, node_id=node_id, group=group))
    session.add(rollout)
    audit.record(
        session,
        actor=actor,
        action="rollout.start",
        entity_type="rollout",
        entity_id=rollout_id,
        after={**rollout.model_dump(), "members": len(ids)},
    )
    return rollout


def _states(members: Sequence[RolloutMember], health: dict[str, Reported]) -> list[MemberState]:
    out = []
    for m in members:
        h = health.get(m.node_id)
        out.append(
            MemberState(
                node_id=m.node_id,
                group=m.group,
                running=h.fw if h else None,
                running_at=h.last_seen if h else 0,
                status=m.status,
                status_at=m.status_at,
            )
        )
    return out


def evaluate(
    session: Session, rollout: Rollout, *, now: int, tz: ZoneInfo, trial_grace_s: int
) -> Evaluation:
    release = session.get(Release, rollout.release_id)
    if release is None:  # the foreign key makes this impossible; keep mypy and readers sure
        raise NotFound(f"release {rollout.release_id} of rollout {rollout.id} is gone")
    # revoked nodes leave; nodes that now match join (only while the rollout is unfinished)
    members = list(
        session.exec(
            select(RolloutMember)
            .join(Node, col(Node.id) == col(RolloutMember.node_id))
            .where(RolloutMember.rollout_id == rollout.id, Node.status == "active")
        )
    )
    selected = target_nodes(session, rollout)
    if rollout.status in UNFINISHED:
        join_late(session, rollout, members, selected, release.hardware)
    health = {
        node_id: Reported(fw, slot, last_seen, hw)
        for node_id, fw, slot, last_seen, hw in session.execute(
            sa_select(
                col(NodeHealth.node_id), col(NodeHealth.fw), col(NodeHealth.slot),
                col(NodeHealth.last_seen), col(NodeHealth.hw),
            )
            .join(RolloutMember, col(RolloutMember.node_id) == col(NodeHealth.node_id))
            .where(col(RolloutMember.rollout_id) == rollout.id)
        ).all()
    }
    # a member that has since stated another hardware (it joined while unknown) leaves the
    # count: it would refuse the release, which is no failure of the release
    left_out = [
        NotEligible(m.node_id, "hardware", health[m.node_id].hw)
        for m in members
        if m.node_id in health
        and health[m.node_id].hw not in (None, release.hardware)
    ]
    gone = {n.node_id for n in left_out}
    members = [m for m in members if m.node_id not in gone]
    have = {m.node_id for m in members} | gone
    for n in selected:
        why = not_eligible(n, release.hardware)
        if why is not None and n.node_id not in have:
            left_out.append(NotEligible(n.node_id, why, n.hw))
    left_out.sort(key=lambda n: n.node_id)
    spec = RolloutSpec(
        rollout_id=int(rollout.id or 0),
        version=release.version,
        status=rollout.status,
        groups=groups_of(rollout),
        window=_window(rollout),
        tz=tz,
        open_groups=rollout.open_groups,
        accepted_failures=tuple(rollout.accepted_failures),
    )
    decision = decide(spec, _states(members, health), now, trial_grace_s=trial_grace_s)
    if decision.status != rollout.status or decision.open_groups != rollout.open_groups:
        before = {"status": rollout.status, "open_groups": rollout.open_groups}
        rollout.status = decision.status
        rollout.open_groups = decision.open_groups
        if decision.paused_reason:
            rollout.paused_reason = decision.paused_reason
        rollout.updated_at = utcnow()
        session.add(rollout)
        audit.record(
            session,
            actor="system",
            action="rollout.progress",
            entity_type="rollout",
            entity_id=int(rollout.id or 0),
            before=before,
            after={
                "status": rollout.status,
                "open_groups": rollout.open_groups,
                "paused_reason": rollout.paused_reason,
            },
        )
    return Evaluation(rollout, release, decision, members, health, left_out)


def evaluate_unfinished(
    session: Session, *, now: int, tz: ZoneInfo, trial_grace_s: int
) -> list[Evaluation]:
    rows = session.exec(
        select(Rollout).where(col(Rollout.status).in_(UNFINISHED)).order_by(col(Rollout.id))
    )
    return [evaluate(session, r, now=now, tz=tz, trial_grace_s=trial_grace_s) for r in rows]


def get_rollout(session: Session, rollout_id: int) -> Rollout:
    row = session.get(Rollout, rollout_id)
    if row is None:
        raise NotFound(f"no rollout {rollout_id}")
    return row


def list_rollouts(session: Session, *, limit: int, offset: int = 0) -> list[Rollout]:
    q = select(Rollout).order_by(col(Rollout.id).desc()).offset(offset).limit(limit)
    return list(session.exec(q))


def operator_action(
    session: Session, *, evaluation: Evaluation, action: str, actor: str
) -> Rollout:
    """pause (running), resume (paused: the failures seen so far are accepted), abort."""
    rollout = evaluation.rollout
    allowed = {"pause": ("running",), "resume": ("paused",), "abort": UNFINISHED}
    if action not in allowed:
        raise Invalid(f"unknown action {action!r}")
    if rollout.status not in allowed[action]:
        raise Conflict(f"cannot {action} a rollout that is {rollout.status}")
    before = rollout.model_dump()
    if action == "pause":
        rollout.status, rollout.paused_reason = "paused", "operator"
    elif action == "resume":
        rollout.status, rollout.paused_reason = "running", None
        rollout.accepted_failures = [g.failed for g in evaluation.decision.groups]
    else:
        rollout.status = "aborted"
    rollout.updated_at = utcnow()
    session.add(rollout)
    audit.record(
        session,
        actor=actor,
        action=f"rollout.{action}",
        entity_type="rollout",
        entity_id=int(rollout.id or 0),
        before=before,
        after=rollout,
    )
    return rollout
