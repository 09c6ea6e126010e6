"""Who is in a rollout: its target and groups read from the row, the matching nodes, and the
nodes that join while it runs. A node follows one unfinished rollout at a time."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fleet.models import Node, NodeHealth, NodeTag, Rollout, RolloutMember
from fleet.rollout_targeting import (
    GroupSpec,
    NodeFacts,
    Target,
    groups_of_newcomers,
    matches,
    not_eligible,
)

__all__ = [
    "UNFINISHED",
    "busy_nodes",
    "candidates",
    "groups_of",
    "join_late",
    "target_nodes",
    "target_of",
]

UNFINISHED = ("running", "paused")


def target_of(rollout: Rollout) -> Target:
    t = rollout.target
    return Target(
        zones=frozenset(t.get("zones", ())),
        tags=frozenset(t.get("tags", ())),
        profiles=frozenset(t.get("profiles", ())),
        percent=float(t.get("percent", 100)),
    )


def groups_of(rollout: Rollout) -> tuple[GroupSpec, ...]:
    return tuple(
        GroupSpec(g.get("percent"), g.get("count"), float(g["success"]), float(g["error"]))
        for g in rollout.groups
    )


def candidates(session: Session, target: Target) -> list[NodeFacts]:
    """Active nodes that pass the target's zone and profile filters (tags checked after),
    with the hardware they report."""
    # columns, not ORM rows: this runs on every evaluation over the whole target
    q = (
        select(Node.id, Node.zone_id, Node.profile_id, NodeHealth.hw)
        .join(NodeHealth, col(NodeHealth.node_id) == col(Node.id), isouter=True)
        .where(Node.status == "active")
    )
    if target.zones:
        q = q.where(col(Node.zone_id).in_(sorted(target.zones)))
    if target.profiles:
        q = q.where(col(Node.profile_id).in_(sorted(target.profiles)))
    nodes = list(session.exec(q.order_by(col(Node.id))).all())
    tags: dict[str, set[str]] = {}
    if target.tags:
        rows = session.exec(select(NodeTag).where(col(NodeTag.tag).in_(sorted(target.tags))))
        for row in rows:
            tags.setdefault(row.node_id, set()).add(row.tag)
    return [
        NodeFacts(node_id, zone, profile, frozenset(tags.get(node_id, ())), True, hw)
        for node_id, zone, profile, hw in nodes
    ]


def target_nodes(session: Session, rollout: Rollout) -> list[NodeFacts]:
    """Every active node the rollout's target selects, eligible or not."""
    target, rollout_id = target_of(rollout), int(rollout.id or 0)
    return [n for n in candidates(session, target) if matches(target, n, rollout_id)]


def busy_nodes(session: Session, *, except_rollout: int | None) -> set[str]:
    """Nodes already in an unfinished rollout: a node follows one rollout at a time."""
    q = (
        select(RolloutMember.node_id)
        .join(Rollout, col(Rollout.id) == col(RolloutMember.rollout_id))
        .where(col(Rollout.status).in_(UNFINISHED))
    )
    if except_rollout is not None:
        q = q.where(RolloutMember.rollout_id != except_rollout)
    return set(session.exec(q))


def join_late(
    session: Session,
    rollout: Rollout,
    members: list[RolloutMember],
    selected: list[NodeFacts],
    hardware: str,
) -> None:
    """Add the nodes of ``selected`` (target_nodes) that are eligible, not members yet and
    not busy in another rollout."""
    rollout_id = int(rollout.id or 0)
    have = {m.node_id for m in members}
    busy = busy_nodes(session, except_rollout=rollout_id)
    new_ids = [
        n.node_id
        for n in selected
        if n.node_id not in have and n.node_id not in busy and not_eligible(n, hardware) is None
    ]
    current = [0] * len(rollout.groups)
    for m in members:
        if 0 <= m.group < len(current):
            current[m.group] += 1
    placed = groups_of_newcomers(
        rollout_id, groups_of(rollout), rollout.start_sizes, current, new_ids
    )
    joining = [
        RolloutMember(rollout_id=rollout_id, node_id=n, group=g, late=True)
        for n, g in placed.items()
    ]
    if not joining:
        return
    try:
        with session.begin_nested():
            session.add_all(joining)
    except IntegrityError:
        # another worker added them first (same rows: the group is a function of the ids)
        joining = list(
            session.exec(
                select(RolloutMember).where(
                    RolloutMember.rollout_id == rollout_id,
                    col(RolloutMember.node_id).in_([m.node_id for m in joining]),
                )
            )
        )
    members.extend(joining)
