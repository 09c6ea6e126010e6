"""Public records of trust as pages (no login): the privacy report per zone and day, in plain
words, and the firmware release log (the same data as ``/api/v1/public/privacy-report`` and
``/api/v1/public/releases``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleet.api.deps import SessionDep, SettingsDep
from fleet.crud.privacy_report import privacy_days
from fleet.crud.release_log import release_log
from fleet.web.common import translator, zone_names
from fleet.web.render import PageError, formats_of, page

router = APIRouter(include_in_schema=False)

_INT = re.compile(r"^[0-9]{1,10}$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{2,31}$")
_PAGE = 20


def _offset(request: Request) -> int:
    raw = request.query_params.get("offset", "0")
    return min(int(raw), 10_000_000) if _INT.match(raw) else 0


def _param(request: Request, name: str, pattern: re.Pattern[str]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and not pattern.match(value):
        raise PageError(400, "error_bad_request", "invalid_value", field=name)
    return value


def _pager(path: str, keep: list[tuple[str, str]], offset: int, more: bool) -> dict[str, object]:
    return {
        "next_url": f"{path}?{urlencode([*keep, ('offset', offset + _PAGE)])}" if more else None,
        "first_url": path + (f"?{urlencode(keep)}" if keep else "") if offset else None,
    }


@router.get("/privacy-report")
def privacy_report_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    zone = _param(request, "zone", _SLUG)
    day = _param(request, "day", _DAY)
    offset = _offset(request)
    days = privacy_days(
        session,
        budget_of=settings.privacy_zone_epsilon,
        default_budget=settings.privacy_zone_epsilon_per_day,
        limit=_PAGE,
        offset=offset,
        zone_id=zone,
        since=day,
        until=day,
    )
    zones, zone_name = zone_names(session, settings)
    fmt = formats_of(request)
    rows = [
        {
            "d": d,
            "zone_name": zone_name(d.zone_id),
            "spent": fmt.num(d.epsilon_spent, 2),
            "budget": fmt.num(d.epsilon_budget, 2),
            "percent": fmt.num(100 * d.epsilon_spent / d.epsilon_budget if d.epsilon_budget else 0),
            "suppressed": sum(d.cells_suppressed.values()),
            "refused": sum(d.cells_refused.values()),
        }
        for d in days
    ]
    keep = [(k, v) for k, v in (("zone", zone), ("day", day)) if v]
    api = [(k, v) for k, v in (("zone", zone), ("since", day), ("until", day)) if v]
    return page(
        request,
        "privacy_report.html",
        {
            "rows": rows,
            "zones": zones,
            "zone": zone,
            "day": day or "",
            "tz": settings.privacy_timezone,
            "json_url": "/api/v1/public/privacy-report" + (f"?{urlencode(api)}" if api else ""),
            **_pager("/privacy-report", keep, offset, len(days) == _PAGE),
        },
        title_key="trust_privacy_title",
    )


@router.get("/releases")
def releases_page(request: Request, session: SessionDep) -> Response:
    offset = _offset(request)
    entries = release_log(session, limit=_PAGE, offset=offset)
    t = translator(request)
    fmt = formats_of(request)
    return page(
        request,
        "releases.html",
        {
            "releases": entries,
            "built": lambda ts: fmt.dt(datetime.fromtimestamp(ts, UTC)),
            "status_text": lambda s: t(f"trust_rollout_{s}_st"),
            "json_url": "/api/v1/public/releases",
            **_pager("/releases", [], offset, len(entries) == _PAGE),
        },
        title_key="trust_releases_title",
    )
