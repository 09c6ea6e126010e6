"""Live updates of the dashboard by server-sent events (the one part that needs JavaScript).

``GET /dashboard/events`` sends, every ``dashboard_live_interval_s``, one ``update`` event: a
JSON object from ``data-live`` names to their new text (``static/live.js`` writes them into
the page). A stream ends after ``dashboard_live_max_s``; the browser reconnects by itself and
is authenticated again, so a logged-out or demoted operator stops receiving. The database is
used only inside each snapshot: an open stream holds no connection.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from fleet.core.config import Settings
from fleet.crud.errors import NotFound
from fleet.crud.nodes import get_node
from fleet.models.common import SLUG_PATTERN
from fleet.web.auth import LoginRequired, browser_principal
from fleet.web.common import alerts_of, stats_of, translator
from fleet.web.device_view import DeviceRow
from fleet.web.render import formats_of
from fleet.web.routes_rollouts import live_values as rollout_live_values

__all__ = ["format_event", "router", "snapshot"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
_SLUG = re.compile(SLUG_PATTERN)
_ROLLOUT_ID = re.compile(r"^[0-9]{1,9}$")
_RETRY_MS = 5000


def format_event(event: str, data: dict[str, str]) -> str:
    """One server-sent event (the data is one line of JSON: no newline can split it)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, sort_keys=True)}\n\n"


def snapshot(
    request: Request, node_id: str | None, rollout_id: str | None = None
) -> dict[str, str]:
    """The values the pages show live, by their ``data-live`` names."""
    settings: Settings = request.app.state.settings
    t, fmt = translator(request), formats_of(request)
    with Session(request.app.state.engine) as session:
        stats = stats_of(request, session)
        report = alerts_of(request, session)
        values = stats.live_values()
        values["updated"] = fmt.dt(stats.computed_at)
        values["alerts-total"] = str(report.total)
        values.update({f"alerts:{kind}": str(s.count) for kind, s in report.sections()})
        if rollout_id is not None:
            values.update(rollout_live_values(request, session, rollout_id))
        if node_id is not None:
            try:
                node, health = get_node(session, node_id=node_id)
            except NotFound:
                return values
            row = DeviceRow.of(node, health, int(time.time()), settings.node_offline_after_s)
            values["node:state"] = row.state
            values["node:state-text"] = t("state_" + row.state)
            if health is not None:
                values["node:last_seen"] = fmt.dt(health.last_seen)
                values["node:battery"] = fmt.num(health.battery_v, 2, "V")
                values["node:rssi"] = fmt.num(health.rssi, 0, "dBm")
                values["node:buffered"] = str(health.buffered)
    return values


def _authenticated(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    with Session(request.app.state.engine) as session:
        return browser_principal(request, session, settings) is not None


@router.get("/events")
async def events(request: Request) -> Response:
    if not await anyio.to_thread.run_sync(_authenticated, request):
        raise LoginRequired("/dashboard")
    raw = request.query_params.get("node")
    node_id = raw if raw and _SLUG.match(raw) else None
    raw = request.query_params.get("rollout")
    rollout_id = raw if raw and _ROLLOUT_ID.match(raw) else None
    settings: Settings = request.app.state.settings

    async def stream() -> AsyncIterator[str]:
        yield f"retry: {_RETRY_MS}\n\n"
        deadline = time.monotonic() + settings.dashboard_live_max_s
        while time.monotonic() < deadline and not await request.is_disconnected():
            values = await anyio.to_thread.run_sync(snapshot, request, node_id, rollout_id)
            yield format_event("update", values)
            await asyncio.sleep(settings.dashboard_live_interval_s)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
