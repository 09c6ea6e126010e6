"""Public pages, no login: the map of the territory and each zone's charts.

The map page says every figure in a table first; ``/static/map.js`` then draws the zones with
Leaflet (served from ``/static/vendor/leaflet``, never a CDN) on a plain background, or on
the deployment's own tile server when one is configured.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleet.api.deps import SessionDep, SettingsDep
from fleet.core.config import Settings
from fleet.crud.public_figures import map_figures, metrics_published, zone_charts
from fleet.crud.public_indices import humid_hours
from fleet.models import Zone
from fleet.models.common import SLUG_PATTERN
from fleet.models.public_map import SensorCount
from fleet.web.common import translator
from fleet.web.figure_quality import Quality, quality, zone_notes
from fleet.web.i18n import Translator
from fleet.web.render import SECURITY_HEADERS, Formats, PageError, formats_of, page
from fleet.web.routes_indices import INDEX_OF_METRIC, INDICES
from fleet.web.zone_view import chart_views, interval_text, metric_label, period_text, value_text
from fleet.zone_figures import Period
from protocol.metrics import METRICS

router = APIRouter(include_in_schema=False)

_SLUG = re.compile(SLUG_PATTERN)
_INT = re.compile(r"^[0-9]{1,12}$")
_MONTH_S = 30 * 86400
_WEEK_S = 7 * 86400  # readings left out are counted over the history the fleet keeps
DEFAULT_METRIC = "pm25_ugm3"
# the home's "also on this site": each public page, its title and a line saying what it holds
HOME_LINKS = (
    ("/indices", "indices_title", "home_indices"),
    ("/register", "register_title", "home_register"),
    ("/open-data", "home_open_data_link", "home_open_data"),
    ("/privacy-report", "trust_privacy_title", "home_privacy"),
    ("/releases", "trust_releases_title", "home_releases"),
)


def _metric(request: Request, published: list[str]) -> str:
    raw = request.query_params.get("metric") or None
    if raw is None:
        return published[0] if published else DEFAULT_METRIC
    if raw not in METRICS:
        raise PageError(400, "error_bad_request", "invalid_value", field="metric")
    return raw


def _period(request: Request) -> Period:
    raw = request.query_params.get("period") or "hour"
    if raw == "day":
        return "day"
    if raw == "hour":
        return "hour"
    raise PageError(400, "error_bad_request", "invalid_value", field="period")


def _at(request: Request) -> int | None:
    raw = request.query_params.get("at") or None
    if raw is None:
        return None
    if not _INT.match(raw) or int(raw) > 2**40:
        raise PageError(400, "error_bad_request", "invalid_value", field="at")
    return int(raw)


def _interval(low: float | None, high: float | None) -> tuple[float, float] | None:
    return (low, high) if low is not None and high is not None else None


def _by_kind(t: Translator, sensors: list[SensorCount]) -> list[tuple[str, str]]:
    """Each kind of sensor with its counts by status, in words."""
    kinds: dict[str, list[str]] = {}
    for c in sensors:
        kinds.setdefault(c.kind, []).append(f"{c.count}\u00a0{t('state_reg_' + c.status)}")
    return [(kind, ", ".join(counts)) for kind, counts in kinds.items()]


def _sure(q: Quality, fmt: Formats, metric: str, since: int, until: int) -> dict[str, Any]:
    """What the map and zone pages need to say how sure their figures are."""
    key = INDEX_OF_METRIC.get(metric)
    return {
        "quality": q,
        "q_since": fmt.dt(since),
        "q_until": fmt.dt(until),
        "index_url": f"/indices/{key}" if key else None,
        "index_title": INDICES[key][0] if key else None,
    }


def _csp(settings: Settings) -> dict[str, str]:
    """The page's policy, which lets images come from the configured tile server too."""
    if settings.public_map_tile_url is None:
        return {}
    parts = urlsplit(settings.public_map_tile_url.replace("{", "").replace("}", ""))
    origin = f"https://{parts.netloc}"
    policy = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "img-src 'self' data:", f"img-src 'self' data: {origin}"
    )
    return {"Content-Security-Policy": policy}


def _map_data(
    zones: list[Zone], rows: list[dict[str, Any]], settings: Settings, t: Translator
) -> dict[str, Any]:
    """What map.js draws: each zone with an outline, its colour and its words; the tiles."""
    outlined = []
    for zone, row in zip(zones, rows, strict=True):
        if zone.boundary is not None:
            outlined.append({**row, "boundary": zone.boundary})
    labels = {"zoom_in": t("map_zoom_in"), "zoom_out": t("map_zoom_out")}
    tiles = None
    if settings.public_map_tile_url is not None:
        # Leaflet shows the attribution as HTML: the configured text is shown as text
        tiles = {
            "url": settings.public_map_tile_url,
            "attribution": html.escape(settings.public_map_tile_attribution),
        }
    return {"zones": outlined, "tiles": tiles, "labels": labels}


# the public home is the map: what a resident first wants is their quartier's figure; the
# home adds a short welcome and a line on each other public page
@router.get("/")
@router.get("/map")
def public_map(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    t, fmt = translator(request), formats_of(request)
    now = int(time.time())
    published = metrics_published(session, since=now - _MONTH_S)
    metric, period, at = _metric(request, published), _period(request), _at(request)
    figures, zones = map_figures(session, settings, metric=metric, period=period, at=at, now=now)
    when = period_text(fmt, figures.start, period) if figures.start is not None else ""
    # how sure: over the period shown (the latest hour when there is none)
    since, until = (figures.start, figures.end) if figures.end else (now - 3600, now + 1)
    q = quality(session, t, metric=metric, since=since or 0, until=until, now=now,
                offline_after_s=settings.node_offline_after_s)  # fmt: skip
    humid = humid_hours(session, settings, since=since or 0, until=until) if q.humidity_flag else {}
    values = {z.zone_id: z.value for z in figures.zones if z.value is not None}
    notes = zone_notes(q, values=values, humid_hours=humid, day=period == "day")
    rows = [
        {
            "id": z.zone_id,
            "name": z.name,
            "colour": z.colour,
            "value": value_text(fmt, metric, z.value),
            "interval": interval_text(t, fmt, metric, _interval(z.ci90_low, z.ci90_high)),
            "url": "/map/zones/" + z.zone_id + "?" + urlencode({"metric": metric}),
            "sensors": _by_kind(t, z.sensors),
        }
        for z in figures.zones
    ]
    json_query = {"metric": metric, "period": period}
    if figures.start is not None:
        json_query["at"] = str(figures.start)
    return page(
        request,
        "map.html",
        {
            "metric": metric,
            "metric_name": metric_label(t, metric),
            "metrics": [(k, metric_label(t, k)) for k in METRICS],
            "period": period,
            "periods": [(s, period_text(fmt, s, period)) for s in figures.periods],
            "start": figures.start,
            "request_at": at is not None,
            "when": when,
            "is_count": METRICS[metric].is_count,
            "rows": rows,
            "bands": [
                (
                    b.colour,
                    t(
                        "map_range",
                        low=value_text(fmt, metric, b.low),
                        high=value_text(fmt, metric, b.high),
                    ),
                )
                for b in figures.bands
            ],
            "no_data_colour": figures.no_data_colour,
            "map_data": _map_data(zones, rows, settings, t),
            "without_boundary": [z.name for z in zones if z.boundary is None],
            "json_url": "/api/v1/public/map?" + urlencode(json_query),
            "notes": notes,
            "home": request.url.path == "/",
            "home_links": HOME_LINKS,
            **_sure(q, fmt, metric, since or 0, until),
        },
        title_key="map_title",
        headers=_csp(settings),
    )


@router.get("/map/zones/{zone_id}")
def zone_page(
    zone_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    if not _SLUG.match(zone_id) or len(zone_id) > 32:
        raise PageError(404, "error_not_found", "zone_not_found")
    zone = session.get(Zone, zone_id)
    if zone is None:
        raise PageError(404, "error_not_found", "zone_not_found")
    t, fmt = translator(request), formats_of(request)
    now = int(time.time())
    published = metrics_published(session, since=now - _MONTH_S - 86400, zone_id=zone_id)
    metric = _metric(request, published)
    charts = zone_charts(session, settings, zone_id=zone_id, metric=metric, now=now)
    q = quality(session, t, metric=metric, since=now - _WEEK_S, until=now + 1, now=now,
                offline_after_s=settings.node_offline_after_s)  # fmt: skip
    return page(
        request,
        "zone_charts.html",
        {
            "zone": zone,
            "metric": metric,
            "metric_name": metric_label(t, metric),
            "metrics": [(k, metric_label(t, k)) for k in published],
            "is_count": METRICS[metric].is_count,
            "charts": chart_views(charts, t=t, fmt=fmt, metric=metric, zone_name=zone.name),
            "map_url": "/map?" + urlencode({"metric": metric}),
            **_sure(q, fmt, metric, now - _WEEK_S, now),
            "zone_quality": q.zone(zone_id),
        },
        title_key="zone_title",
        title_values={"zone": zone.name},
    )
