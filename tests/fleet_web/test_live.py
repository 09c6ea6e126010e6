"""Live updates: the server-sent event stream of the dashboard."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import FastAPI

from fleet.web.live import format_event
from tests.fleet_web.conftest import Browser
from tests.fleet_web.seed import Territory


def _events(body: str) -> list[dict[str, str]]:
    out = []
    for block in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") == "update":
            out.append(json.loads(lines["data"]))
    return out


def test_event_stream_sends_the_overview_figures(
    territory: Territory, app: FastAPI, browse: Callable[[str], Browser]
) -> None:
    app.state.settings.dashboard_live_max_s = 1  # the stream ends by itself; browsers reconnect
    app.state.settings.dashboard_live_interval_s = 0.3
    b = browse("viewer")
    r = b.client.get(f"/dashboard/events?node={territory.low_battery[0]}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.startswith("retry: ")
    events = _events(r.text)
    assert 2 <= len(events) <= 5
    last = events[-1]
    assert last["total:offline"] == "2"
    assert last["total:never_seen"] == "2"
    assert last["zone:centre:offline"] == "2"
    assert last["alerts-total"] == "4"
    assert last["alerts:rejected_spike"] == "1"
    assert last["node:state"] == "online"
    assert last["node:battery"] == "3,20\u00a0V"


def test_event_data_is_one_line_of_json() -> None:
    text = format_event("update", {"a": "line one\nline two", "b": "é"})
    assert text.count("\n") == 3
    assert text.endswith("\n\n")
    assert json.loads(text.split("data: ", 1)[1]) == {"a": "line one\nline two", "b": "é"}
