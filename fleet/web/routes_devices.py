"""Dashboard pages about devices: the overview, the device list, one device, revocation."""

from __future__ import annotations

import re
import time
from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from fleet.api.deps import SessionDep, SettingsDep
from fleet.crud import nodes as crud
from fleet.crud.audit import list_events
from fleet.crud.errors import NotFound
from fleet.crud.gateways import list_gateways
from fleet.crud.health_history import node_samples
from fleet.crud.register import local_day
from fleet.models import Node, NodeHealth
from fleet.models.common import SLUG_PATTERN
from fleet.street_sign import node_sign, sign_headers
from fleet.web.alerts import AlertRules, NodeState, node_alerts
from fleet.web.auth import UserDep, check_csrf, csrf_of, need_role
from fleet.web.common import (
    alert_detail,
    alerts_of,
    clear_caches,
    duration_text,
    stats_of,
    translator,
    zone_names,
)
from fleet.web.device_view import DeviceRow, actor_names, health_charts
from fleet.web.render import PageError, page
from fleet.web.stats import firmware_versions

router = APIRouter(prefix="/dashboard", include_in_schema=False)

_SLUG = re.compile(SLUG_PATTERN)
_STATUSES: tuple[str, ...] = get_args(crud.StatusFilter)
_STATUS_OF: dict[str, crud.StatusFilter] = {s: s for s in get_args(crud.StatusFilter)}
_RECENT_ALERTS = 8
_DEVICE_AUDIT = 10


@router.get("")
def overview(
    request: Request, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    t = translator(request)
    stats = stats_of(request, session)
    report = alerts_of(request, session)
    _zones, zone_name = zone_names(session, settings)
    return page(
        request,
        "overview.html",
        {
            "stats": stats,
            "recent_alerts": report.recent(_RECENT_ALERTS),
            "zone_name": zone_name,
            "fw_label": lambda fw: fw or t("fw_none"),
            "alert_detail": alert_detail(request),
            "alert_badge": report.total,
            "live_url": "/dashboard/events",
        },
        title_key="overview_title",
        user=user,
        csrf=csrf_of(user),
    )


def _filters(params: dict[str, str]) -> tuple[dict[str, str | None], list[str]]:
    """The device list's filters from the query string; invalid ones are named, not applied."""
    out: dict[str, str | None] = {}
    bad: list[str] = []
    for name in ("zone", "gateway", "status", "firmware", "q", "after"):
        value = (params.get(name) or "").strip() or None
        if value is None:
            out[name] = None
            continue
        if name in ("zone", "gateway", "after"):
            ok = bool(_SLUG.match(value))
        elif name == "status":
            ok = value in _STATUSES
        else:
            ok = len(value) <= (32 if name == "firmware" else 100) and "\x00" not in value
        out[name] = value if ok else None
        if not ok:
            bad.append(name)
    return out, bad


@router.get("/devices")
def devices(
    request: Request, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    t = translator(request)
    filters, bad = _filters(dict(request.query_params))
    now = int(time.time())
    limit = settings.page_default
    rows = crud.list_nodes(
        session,
        limit=limit,
        after=filters["after"],
        zone_id=filters["zone"],
        gateway_id=filters["gateway"],
        status=_STATUS_OF.get(filters["status"] or ""),
        firmware=filters["firmware"],
        search=filters["q"],
        now=now,
        offline_after_s=settings.node_offline_after_s,
    )
    kept = [(k, v) for k, v in filters.items() if v and k != "after"]
    next_url = None
    if len(rows) == limit:
        next_url = "/dashboard/devices?" + urlencode([*kept, ("after", rows[-1][0].id)])
    first_url = "/dashboard/devices?" + urlencode(kept) if filters["after"] else None
    zones, zone_name = zone_names(session, settings)
    return page(
        request,
        "devices.html",
        {
            "devices": [DeviceRow.of(n, h, now, settings.node_offline_after_s) for n, h in rows],
            "filters": filters,
            "errors": [t("invalid_value", field=t(_FIELD_LABELS[b])) for b in bad],
            "after": filters["after"],
            "zones": zones,
            "zone_name": zone_name,
            "gateways": list_gateways(session, limit=settings.page_max, offset=0),
            "firmwares": firmware_versions(session),
            "statuses": _STATUSES,
            "next_url": next_url,
            "first_url": first_url,
        },
        title_key="devices_title",
        user=user,
        csrf=csrf_of(user),
        status=400 if bad else 200,
    )


_FIELD_LABELS = {
    "zone": "zone",
    "gateway": "gateway",
    "status": "status",
    "firmware": "firmware",
    "q": "search",
    "after": "page_next",
}


def _node_or_404(session: SessionDep, node_id: str) -> tuple[Node, NodeHealth | None]:
    if not _SLUG.match(node_id):
        raise PageError(404, "error_not_found", "error_no_node")
    try:
        return crud.get_node(session, node_id=node_id)
    except NotFound as exc:
        raise PageError(404, "error_not_found", "error_no_node") from exc


@router.get("/devices/{node_id}")
def device(
    request: Request, node_id: str, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    node, health = _node_or_404(session, node_id)
    t = translator(request)
    now = int(time.time())
    rules = AlertRules.from_settings(settings)
    samples = node_samples(session, node_id=node.id, since=now - settings.health_history_span_s)
    series = [(s.at, s.rejected_total) for s in samples]
    alerts = node_alerts(NodeState.of(node, health), samples=series, rules=rules, now=now)
    events = None
    actor_name = None
    if user.at_least("operator"):
        events = list_events(session, limit=_DEVICE_AUDIT, entity_type="node", entity_id=node.id)
        actor_name = actor_names(session, events)
    _zones, zone_name = zone_names(session, settings)
    row = DeviceRow.of(node, health, now, settings.node_offline_after_s)
    return page(
        request,
        "device.html",
        {
            "node": node,
            "health": health,
            "state": row.state,
            "keys": crud.node_keys(session, node_id=node.id),
            "samples": samples,
            "charts": health_charts(request, samples, now=now, settings=settings),
            "history_span": duration_text(t, settings.health_history_span_s),
            "history_bucket": duration_text(t, settings.health_history_bucket_s),
            "node_alerts": alerts,
            "alert_detail": alert_detail(request),
            "zone_name": zone_name,
            "can_revoke": user.at_least("operator") and node.status == "active",
            "can_sign": user.at_least("operator"),
            "audit_events": events,
            "actor_name": actor_name,
            "live_url": f"/dashboard/events?node={node.id}",
            "flash": t("revoked_flash", id=node.id)
            if request.query_params.get("revoked") and node.status == "revoked"
            else None,
        },
        title_key="device_title",
        title_values={"id": node.id},
        user=user,
        csrf=csrf_of(user),
    )


@router.get("/devices/{node_id}/sign.pdf")
def sign(
    request: Request, node_id: str, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """The street sign (fleet/street_sign.py), for operators: it is what they put up."""
    need_role(user, "operator")
    node, _health = _node_or_404(session, node_id)
    today = local_day(time.time(), settings.register_timezone)
    pdf = node_sign(session, node, str(request.base_url), today)
    return Response(pdf, media_type="application/pdf", headers=sign_headers(node.id))


@router.get("/devices/{node_id}/revoke")
def revoke_form(request: Request, node_id: str, user: UserDep, session: SessionDep) -> Response:
    need_role(user, "operator")
    node, _health = _node_or_404(session, node_id)
    if node.status == "revoked":
        return RedirectResponse(f"/dashboard/devices/{node.id}", status_code=303)
    return page(
        request,
        "revoke.html",
        {"node": node, "confirm_error": False},
        title_key="revoke_title",
        title_values={"id": node.id},
        user=user,
        csrf=csrf_of(user),
    )


@router.post("/devices/{node_id}/revoke")
def revoke(
    request: Request,
    node_id: str,
    user: UserDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    confirm: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    node, _health = _node_or_404(session, node_id)
    if confirm.strip() != node.id:
        return page(
            request,
            "revoke.html",
            {"node": node, "confirm_error": True},
            title_key="revoke_title",
            title_values={"id": node.id},
            user=user,
            csrf=csrf_of(user),
            status=422,
        )
    crud.revoke_node(session, node_id=node.id, actor=user.actor)
    session.commit()
    clear_caches(request)
    return RedirectResponse(f"/dashboard/devices/{node.id}?revoked=1", status_code=303)
