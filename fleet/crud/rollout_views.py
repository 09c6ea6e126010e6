"""A rollout as the API and the dashboard show it: progress per group and per node, with the
version each node reports running (its health), never the version the rollout wishes."""

from __future__ import annotations

from fleet.crud.rollouts import Evaluation
from fleet.models.ota_api import (
    GroupProgressPublic,
    MemberPublic,
    NotEligiblePublic,
    RolloutDetail,
    RolloutPublic,
    WindowIn,
)

__all__ = ["rollout_detail", "rollout_public"]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def rollout_public(ev: Evaluation) -> RolloutPublic:
    r, d = ev.rollout, ev.decision
    window = None
    if r.window_start_min is not None and r.window_end_min is not None:
        window = WindowIn(start=_hhmm(r.window_start_min), end=_hhmm(r.window_end_min))
    groups = [
        GroupProgressPublic(
            index=g.index,
            total=g.total,
            pending=g.pending,
            in_progress=g.in_progress,
            trial=g.trial,
            confirmed=g.confirmed,
            failed=g.failed,
            open=g.open,
            success=float(r.groups[g.index]["success"]),
            error=float(r.groups[g.index]["error"]),
        )
        for g in d.groups
    ]
    return RolloutPublic(
        id=int(r.id or 0),
        name=r.name,
        release_id=r.release_id,
        version=ev.release.version,
        hardware=ev.release.hardware,
        status=r.status,
        paused_reason=r.paused_reason,
        target=r.target,
        groups=groups,
        window=window,
        in_window=d.in_window,
        open_groups=r.open_groups,
        members=len(ev.members),
        targets_now=len(d.targets),
        not_eligible=len(ev.not_eligible),
        created_at=r.created_at,
        created_by=r.created_by,
        updated_at=r.updated_at,
    )


def rollout_detail(ev: Evaluation, *, max_nodes: int) -> RolloutDetail:
    nodes = []
    for m in sorted(ev.members, key=lambda m: (m.group, m.node_id))[:max_nodes]:
        h = ev.health.get(m.node_id)
        nodes.append(
            MemberPublic(
                node_id=m.node_id,
                group=m.group,
                outcome=ev.decision.outcomes.get(m.node_id, "pending"),
                running=h.fw if h else None,
                slot=h.slot if h else None,
                status=m.status,
                why=m.why,
                status_at=m.status_at,
                late=m.late,
            )
        )
    shut_out = [
        NotEligiblePublic(node_id=n.node_id, reason="hardware", hw=n.hw)
        for n in ev.not_eligible[:max_nodes]
    ]
    return RolloutDetail(**rollout_public(ev).model_dump(), nodes=nodes,
                         not_eligible_nodes=shut_out)
