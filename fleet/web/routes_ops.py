"""Dashboard pages about the network and its history: alerts, the audit log (the gateways'
page is in ``routes_admin``, with its forms)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleet.api.deps import SessionDep, SettingsDep
from fleet.crud.audit import list_events
from fleet.models import AuditEvent
from fleet.web.alerts import AlertRules
from fleet.web.auth import UserDep, csrf_of, need_role
from fleet.web.common import alert_detail, alerts_of, translator, zone_names
from fleet.web.device_view import actor_names
from fleet.web.render import page

router = APIRouter(prefix="/dashboard", include_in_schema=False)

ENTITY_TYPES = (
    "api_token",
    "claim_code",
    "gateway",
    "node",
    "operator",
    "profile",
    "release",
    "release_key",
    "rollout",
    "zone",
)
_INT = re.compile(r"^[0-9]{1,18}$")
_TEXT = re.compile(r"^[^\x00]{1,80}$")
_SHOWN_CHANGE_LEN = 80


@router.get("/alerts")
def alerts(request: Request, user: UserDep, session: SessionDep, settings: SettingsDep) -> Response:
    report = alerts_of(request, session)
    _zones, zone_name = zone_names(session, settings)
    return page(
        request,
        "alerts.html",
        {
            "sections": report.sections(),
            "refused_cells": report.refused_cells,
            "rules": AlertRules.from_settings(settings),
            "zone_name": zone_name,
            "alert_detail": alert_detail(request),
            "alert_badge": report.total,
            "live_url": "/dashboard/events",
        },
        title_key="alerts_title",
        user=user,
        csrf=csrf_of(user),
    )


def _short(value: Any) -> str:
    text = value if isinstance(value, str) and value else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_CHANGE_LEN else text[: _SHOWN_CHANGE_LEN - 1] + "…"


def changes(event: AuditEvent) -> list[tuple[str, str | None, str | None]]:
    """The fields that differ between before and after (secrets are already redacted);
    None where the field is absent (a creation has no before)."""
    before, after = event.before or {}, event.after or {}
    out = []
    for key in sorted(set(before) | set(after)):
        if key == "updated_at" or before.get(key) == after.get(key):
            continue
        out.append(
            (
                key,
                _short(before[key]) if key in before else None,
                _short(after[key]) if key in after else None,
            )
        )
    return out


_AUDIT_FILTERS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("entity_type", lambda v: v in ENTITY_TYPES),
    ("entity_id", lambda v: bool(_TEXT.match(v)) and len(v) <= 64),
    ("actor", lambda v: bool(_TEXT.match(v))),
    ("before", lambda v: bool(_INT.match(v)) and int(v) >= 1),
)


@router.get("/audit")
def audit(request: Request, user: UserDep, session: SessionDep, settings: SettingsDep) -> Response:
    need_role(user, "operator")  # as GET /api/v1/audit
    t = translator(request)
    params = request.query_params
    filters: dict[str, str | None] = {}
    errors = []
    for name, ok in _AUDIT_FILTERS:
        value = (params.get(name) or "").strip() or None
        if value is not None and not ok(value):
            errors.append(t("invalid_value", field=name))
            value = None
        filters[name] = value
    limit = settings.page_default
    events = list_events(
        session,
        limit=limit,
        before_id=int(filters["before"]) if filters["before"] else None,
        entity_type=filters["entity_type"],
        entity_id=filters["entity_id"],
        actor=filters["actor"],
    )
    kept = [(k, v) for k, v in filters.items() if v and k != "before"]
    next_url = None
    if len(events) == limit and events[-1].id is not None:
        next_url = "/dashboard/audit?" + urlencode([*kept, ("before", str(events[-1].id))])
    return page(
        request,
        "audit.html",
        {
            "events": events,
            "filters": filters,
            "errors": errors,
            "entity_types": ENTITY_TYPES,
            "actor_name": actor_names(session, events),
            "changes": changes,
            "next_url": next_url,
            "first_url": "/dashboard/audit?" + urlencode(kept) if filters["before"] else None,
        },
        title_key="audit_title",
        user=user,
        csrf=csrf_of(user),
        status=400 if errors else 200,
    )
