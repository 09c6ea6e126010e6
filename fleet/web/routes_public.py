"""Public pages, no login: the sensor register and open data (with the NGSI-LD download).

The public home, ``/``, is the map (``fleet/web/routes_map.py``)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from fleet.api.deps import BoxDep, SessionDep, SettingsDep
from fleet.core.config import Settings
from fleet.crud.public import CellKey, published_cells, source_label
from fleet.crud.register import register_page
from fleet.models import Aggregate, Zone
from fleet.models.common import SLUG_PATTERN
from fleet.web.common import translator, zone_names
from fleet.web.opendata import FIELDS, ZoneCentroid, ngsi_entities
from fleet.web.render import PageError, page
from protocol.metrics import METRICS

router = APIRouter(include_in_schema=False)

_SLUG = re.compile(SLUG_PATTERN)
_INT = re.compile(r"^[0-9]{1,10}$")
_CHUNK = 1000
# the gateway's publication rules (docs/privacy.md), stated on the open-data page
PRIVACY = {"k_nodes": 3, "k_people": 11, "epsilon": 8, "raw_retention_h": 72}
API_CSV = "/api/v1/public/aggregates.csv"
NGSI_PATH = "/open-data/aggregates.jsonld"


def _zone_param(request: Request, name: str = "zone") -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and not _SLUG.match(value):
        raise PageError(400, "error_bad_request", "invalid_value", field=name)
    return value


@router.get("/register")
def register(request: Request, session: SessionDep, settings: SettingsDep, box: BoxDep) -> Response:
    zone = _zone_param(request)
    profile = _zone_param(request, "profile")  # a street sign's QR: its type in its zone
    raw = request.query_params.get("offset", "0")
    offset = min(int(raw), 10_000_000) if _INT.match(raw) else 0
    limit = settings.page_default
    view = register_page(session, settings, box, limit=limit, offset=offset, zone_id=zone,
                         profile_id=profile)
    entries = view.entries
    lang = translator(request).lang
    keep = [(k, v) for k, v in (("zone", zone), ("profile", profile)) if v]
    zones, _ = zone_names(session, settings)
    return page(
        request,
        "register.html",
        {
            "entries": entries,
            "zones": zones,
            "zone": zone,
            "profile": profile,
            "offset": offset,
            "metric_labels": lambda keys: ", ".join(
                (METRICS[k].label_fr if lang == "fr" else METRICS[k].label_en)
                if k in METRICS
                else k
                for k in keys
            ),
            "json_url": "/api/v1/public/register" + (f"?{urlencode(keep)}" if keep else ""),
            "next_url": "/register?" + urlencode([*keep, ("offset", offset + limit)])
            if offset + limit < view.total
            else None,
            "first_url": "/register" + (f"?{urlencode(keep)}" if keep else "") if offset else None,
        },
        title_key="register_title",
    )


@router.get("/open-data")
def open_data(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    lang = translator(request).lang
    zones, _ = zone_names(session, settings)
    latest = session.exec(select(func.max(Aggregate.start))).one()
    metrics = [
        {
            "key": m.key,
            "label": m.label_fr if lang == "fr" else m.label_en,
            "unit": m.unit,
            "model": FIELDS[m.key].model if m.key in FIELDS else None,
        }
        for m in METRICS.values()
    ]
    return page(
        request,
        "opendata.html",
        {
            "zones": zones,
            "metrics": metrics,
            "csv_url": API_CSV,
            "ngsi_url": NGSI_PATH,
            "latest_start": latest,
            "privacy": PRIVACY,
            "zones_without_centroid": [z.name for z in zones if z.lat is None or z.lon is None],
        },
        title_key="opendata_title",
    )


def _day(text: str | None, field: str) -> int | None:
    if not text:
        return None
    try:
        return int(datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC).timestamp())
    except ValueError as exc:
        raise PageError(400, "error_bad_request", "invalid_value", field=field) from exc


@router.get("/open-data/download")
def download(request: Request) -> Response:
    """The download form's target: the chosen extract, as CSV (the API) or NGSI-LD."""
    params = request.query_params
    query: list[tuple[str, Any]] = []
    zone = _zone_param(request)
    metric = params.get("metric") or None
    if metric is not None and metric not in METRICS:
        raise PageError(400, "error_bad_request", "invalid_value", field="metric")
    since = _day(params.get("from"), "from")
    until = _day(params.get("to"), "to")
    for key, value in (
        ("zone", zone),
        ("metric", metric),
        ("since", since),
        ("until", until + 86400 if until is not None else None),  # "to" is inclusive
    ):
        if value is not None:
            query.append((key, value))
    target = NGSI_PATH if params.get("format") == "ngsi-ld" else API_CSV
    return RedirectResponse(target + (f"?{urlencode(query)}" if query else ""), status_code=303)


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not _INT.match(raw):
        raise PageError(400, "error_bad_request", "invalid_value", field=name)
    return int(raw)


@router.get(NGSI_PATH)
def ngsi_ld(request: Request, settings: SettingsDep) -> StreamingResponse:
    """Every published cell as NGSI-LD entities (normalized), one JSON array, streamed."""
    zone, metric = _zone_param(request), request.query_params.get("metric") or None
    if metric is not None and metric not in METRICS:
        raise PageError(400, "error_bad_request", "invalid_value", field="metric")
    since, until = _int_param(request, "since"), _int_param(request, "until")
    engine: Engine = request.app.state.engine
    source_key: bytes = request.app.state.box.source_key
    source = str(request.base_url).rstrip("/") + "/open-data"
    rows = _ordered_rows(engine, settings, zone=zone, metric=metric, since=since, until=until)

    def body() -> Iterator[bytes]:
        with Session(engine) as session:
            centroids = {
                z.id: ZoneCentroid(z.id, z.name, z.lat, z.lon)
                for z in session.exec(select(Zone))
                if z.lat is not None and z.lon is not None
            }
        first = True
        yield b"["
        for entity in ngsi_entities(
            rows,
            centroids,
            city=settings.open_data_city,
            data_provider=settings.open_data_provider,
            source=source,
            label=functools.partial(source_label, source_key),
        ):
            yield (b"\n" if first else b",\n") + orjson.dumps(entity)
            first = False
        yield b"\n]\n"

    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return StreamingResponse(
        body(),
        media_type="application/ld+json",
        headers={
            "Content-Disposition": f'attachment; filename="territoire-aggregates-{stamp}.jsonld"'
        },
    )


def _ordered_rows(
    engine: Engine,
    settings: Settings,
    *,
    zone: str | None,
    metric: str | None,
    since: int | None,
    until: int | None,
) -> Iterator[Aggregate]:
    """Published cells by (start, zone, period, metric), read in keyset chunks."""
    last: CellKey | None = None
    sent = 0
    with Session(engine) as session:
        while sent < settings.csv_max_rows:
            chunk = published_cells(
                session,
                limit=min(_CHUNK, settings.csv_max_rows - sent),
                metrics=FIELDS,
                after=last,
                zone_id=zone,
                metric=metric,
                since=since,
                until=until,
            )
            if not chunk:
                return
            yield from chunk
            sent += len(chunk)
            c = chunk[-1]
            last = (c.start, c.zone_id, c.period_s, c.gateway_id, c.metric)
