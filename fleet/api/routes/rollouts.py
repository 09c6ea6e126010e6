"""Rollouts: start one, follow its progress per group and per node, pause, resume, abort."""

from __future__ import annotations

import time
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlmodel import Session, col, delete, select

from fleet.api.deps import LimitDep, OffsetDep, OperatorDep, SessionDep, SettingsDep, ViewerDep
from fleet.api.params import IntIdPath, NodeIdPath
from fleet.core.config import Settings
from fleet.crud import rollouts as crud
from fleet.crud.audit import record
from fleet.crud.errors import NotFound
from fleet.crud.rollout_views import rollout_detail, rollout_public
from fleet.models import Node, NodeTag
from fleet.models.ota_api import NodeTags, RolloutCreate, RolloutDetail, RolloutPublic

__all__ = ["evaluate", "router"]

router = APIRouter(tags=["rollouts"])


def evaluate(session: Session, settings: Settings, rollout_id: int) -> crud.Evaluation:
    return crud.evaluate(
        session,
        crud.get_rollout(session, rollout_id),
        now=int(time.time()),
        tz=ZoneInfo(settings.ota_window_timezone),
        trial_grace_s=settings.ota_trial_grace_s,
    )


@router.post("/rollouts", response_model=RolloutDetail, status_code=201)
def start(
    body: RolloutCreate, who: OperatorDep, session: SessionDep, settings: SettingsDep
) -> RolloutDetail:
    """Start a rollout of a published release to the nodes its target matches."""
    row = crud.create_rollout(session, data=body, actor=who.actor, now=int(time.time()))
    session.flush()
    ev = evaluate(session, settings, int(row.id or 0))
    session.commit()
    return rollout_detail(ev, max_nodes=settings.rollout_nodes_max)


@router.get("/rollouts", response_model=list[RolloutPublic])
def list_rollouts(
    _: ViewerDep,
    session: SessionDep,
    settings: SettingsDep,
    limit: LimitDep,
    offset: OffsetDep = 0,
) -> list[RolloutPublic]:
    out = []
    for r in crud.list_rollouts(session, limit=limit, offset=offset):
        out.append(rollout_public(evaluate(session, settings, int(r.id or 0))))
    session.commit()
    return out


@router.get("/rollouts/{rollout_id}", response_model=RolloutDetail)
def get_rollout(
    rollout_id: IntIdPath, _: ViewerDep, session: SessionDep, settings: SettingsDep
) -> RolloutDetail:
    """Progress per group and per node; ``running`` is what each node reports running."""
    ev = evaluate(session, settings, rollout_id)
    session.commit()
    return rollout_detail(ev, max_nodes=settings.rollout_nodes_max)


@router.post("/rollouts/{rollout_id}/{action}", response_model=RolloutDetail)
def act(
    rollout_id: IntIdPath,
    action: Literal["pause", "resume", "abort"],
    who: OperatorDep,
    session: SessionDep,
    settings: SettingsDep,
) -> RolloutDetail:
    """pause: no new offers; resume: go on, accepting the failures seen so far; abort: stop."""
    ev = evaluate(session, settings, rollout_id)
    crud.operator_action(session, evaluation=ev, action=action, actor=who.actor)
    ev = evaluate(session, settings, rollout_id)
    session.commit()
    return rollout_detail(ev, max_nodes=settings.rollout_nodes_max)


@router.get("/nodes/{node_id}/tags", response_model=NodeTags, tags=["nodes"])
def get_tags(node_id: NodeIdPath, _: ViewerDep, session: SessionDep) -> NodeTags:
    if session.get(Node, node_id) is None:
        raise NotFound(f"no node {node_id}")
    rows = session.exec(select(NodeTag.tag).where(NodeTag.node_id == node_id))
    return NodeTags(tags=sorted(rows))


@router.put("/nodes/{node_id}/tags", response_model=NodeTags, tags=["nodes"])
def set_tags(
    node_id: NodeIdPath, body: NodeTags, who: OperatorDep, session: SessionDep
) -> NodeTags:
    """Replace a node's tags (rollout targets can select by tag)."""
    if session.get(Node, node_id) is None:
        raise NotFound(f"no node {node_id}")
    before = sorted(session.exec(select(NodeTag.tag).where(NodeTag.node_id == node_id)))
    session.exec(delete(NodeTag).where(col(NodeTag.node_id) == node_id))
    tags = sorted(set(body.tags))
    for tag in tags:
        session.add(NodeTag(node_id=node_id, tag=tag))
    record(
        session,
        actor=who.actor,
        action="node.tags",
        entity_type="node",
        entity_id=node_id,
        before={"tags": before},
        after={"tags": tags},
    )
    session.commit()
    return NodeTags(tags=tags)
