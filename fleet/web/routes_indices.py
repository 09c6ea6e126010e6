"""Public pages, no login: the plain-language indices (fleet.indices) with their sources, the
current index per zone from the published figures, and how sure each figure is."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from fleet import indices
from fleet.api.deps import SessionDep, SettingsDep
from fleet.core.config import Settings
from fleet.crud import public_indices as pi
from fleet.crud.registry import list_zones
from fleet.web.common import translator
from fleet.web.figure_quality import Quality, quality
from fleet.web.i18n import Translator
from fleet.web.render import Formats, PageError, formats_of, page
from fleet.web.zone_view import metric_label, period_text, value_text

router = APIRouter(include_in_schema=False)

# index key -> (title key, the metrics it reads); the order of the overview
INDICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "particles": ("ix_particles", ("pm25_ugm3", "pm10_ugm3")),
    "noise": ("ix_noise", ("laeq_db",)),
    "heat": ("ix_heat", ("temp_c",)),
    "bins": ("ix_bins", ("fill_pct",)),
    "soil": ("ix_soil", ("soil_pct",)),
}
# the index page a measure's figure is read on (the map and zone pages link to it)
INDEX_OF_METRIC = {m: key for key, (_, metrics) in INDICES.items() for m in metrics}
_LOOKBACK_S = pi.LOOKBACK_DAYS * pi.DAY


def _quality(session: Session, settings: Settings, t: Translator, metric: str, now: int) -> Quality:
    return quality(session, t, metric=metric, since=now - _LOOKBACK_S, until=now + 1, now=now,
                   offline_after_s=settings.node_offline_after_s)  # fmt: skip


def _who(t: Translator, fmt: Formats, value: float, guideline: float) -> str:
    ratio = indices.over_guideline(value, guideline)
    return t("ix_above", ratio=fmt.num(ratio, 1)) if ratio > 1 else t("ix_below")


def _who_db(t: Translator, fmt: Formats, level: float | None, limit: float) -> str | None:
    if level is None:
        return None
    return t("ix_above_db", db=fmt.num(level - limit, 1)) if level > limit else t("ix_below")


def _particles(
    session: Session, settings: Settings, t: Translator, fmt: Formats, now: int
) -> dict[str, Any]:
    tables = []
    for metric in INDICES["particles"][1]:
        found = pi.particles(session, settings, metric=metric, now=now)
        q = _quality(session, settings, t, metric, now)
        guideline = indices.WHO_AIR[metric].day
        rows = []
        for zone in list_zones(session, limit=settings.page_max, offset=0):
            p = found.get(zone.id)
            zq = q.zone(zone.id)
            row: dict[str, Any] = {"zone": zone, "q": zq, "figure": None}
            if p is not None:
                row["figure"] = {
                    "day": period_text(fmt, p.day_start, "day"),
                    "hours": t("ix_hours", n=p.hours),
                    "mean": value_text(fmt, metric, p.mean),
                    "band": indices.ATMO_LABELS[p.band],
                    "colour": indices.ATMO_COLOURS[p.band],
                    "who": _who(t, fmt, p.mean, guideline),
                    "humid": t("px_humid_hours", n=p.humid_hours, of=p.hours,
                               rh=fmt.num(q.humid_rh_pct)) if p.humid_hours else None,
                }  # fmt: skip
            rows.append(row)
        tables.append({"metric": metric, "name": metric_label(t, metric), "rows": rows,
                       "who_day": fmt.num(guideline), "q": q})  # fmt: skip
    bands = []
    for i, label in enumerate(indices.ATMO_LABELS):
        cells = []
        for metric in INDICES["particles"][1]:
            edges = indices.ATMO_BANDS[metric]
            if i < len(edges):
                cells.append(t("atmo_upto", v=fmt.num(edges[i])))
            else:
                cells.append(t("atmo_over", v=fmt.num(edges[-1])))
        bands.append({"label": label, "colour": indices.ATMO_COLOURS[i], "cells": cells})
    who = [(metric_label(t, m), fmt.num(g.day), fmt.num(g.year)) for m, g in
           indices.WHO_AIR.items()]  # fmt: skip
    return {"tables": tables, "bands": bands, "who": who,
            "sources": [indices.SOURCES["atmo"], indices.SOURCES["who_air"]]}  # fmt: skip


def _noise(
    session: Session, settings: Settings, t: Translator, fmt: Formats, now: int
) -> dict[str, Any]:
    found = pi.noise(session, settings, now=now)
    q = _quality(session, settings, t, "laeq_db", now)
    limits = indices.WHO_NOISE_ROAD
    rows = []
    for zone in list_zones(session, limit=settings.page_max, offset=0):
        n = found.get(zone.id)
        row: dict[str, Any] = {"zone": zone, "q": q.zone(zone.id), "figure": None}
        if n is not None:
            row["figure"] = {
                "full_day": period_text(fmt, n.full_day_start, "day") if n.full_day_start else None,
                "lden": fmt.num(n.lden, 1, "dB") if n.lden is not None else None,
                "lden_who": _who_db(t, fmt, n.lden, limits["lden"]),
                "lnight": fmt.num(n.lnight, 1, "dB") if n.lnight is not None else None,
                "lnight_who": _who_db(t, fmt, n.lnight, limits["lnight"]),
                "latest": f"{period_text(fmt, n.day_start, 'day')} — "
                f"{value_text(fmt, 'laeq_db', n.laeq)} ({t('ix_hours', n=n.hours)})",
            }  # fmt: skip
        rows.append(row)
    return {"rows": rows, "q": q, "lden_limit": fmt.num(limits["lden"]),
            "lnight_limit": fmt.num(limits["lnight"]),
            "sources": [indices.SOURCES["who_noise"], indices.SOURCES["lden"]]}  # fmt: skip


def _heat(
    session: Session, settings: Settings, t: Translator, fmt: Formats, now: int
) -> dict[str, Any]:
    found = pi.heat(session, settings, now=now)
    q = _quality(session, settings, t, "temp_c", now)
    rows = []
    for zone in list_zones(session, limit=settings.page_max, offset=0):
        h = found.get(zone.id)
        row: dict[str, Any] = {"zone": zone, "q": q.zone(zone.id), "figure": None}
        if h is not None and h.result is not None:
            row["figure"] = {
                "days": f"{period_text(fmt, h.days[0][0], 'day')}\u2013"
                f"{period_text(fmt, h.days[-1][0], 'day')}",
                "ibm_min": value_text(fmt, "temp_c", h.result.ibm_min),
                "ibm_max": value_text(fmt, "temp_c", h.result.ibm_max),
                "status": t("hx_reached" if h.result.reached else "hx_not_reached"),
                "reached": h.result.reached,
            }
        elif h is not None:
            row["figure"] = {"days": t("hx_not_enough"), "ibm_min": "—", "ibm_max": "—",
                             "status": "—", "reached": False}  # fmt: skip
        rows.append(row)
    low, high = indices.HEATWAVE_49
    return {"rows": rows, "q": q, "low": fmt.num(low), "high": fmt.num(high),
            "hours_min": pi.DAY_HOURS_MIN, "sources": [indices.SOURCES["heatwave"]]}  # fmt: skip


def _needs(
    session: Session, settings: Settings, t: Translator, fmt: Formats, now: int, key: str
) -> dict[str, Any]:
    metric = INDICES[key][1][0]
    found = pi.needs(session, settings, metric=metric, now=now)
    q = _quality(session, settings, t, metric, now)
    rows = []
    for zone in list_zones(session, limit=settings.page_max, offset=0):
        n = found.get(zone.id)
        row: dict[str, Any] = {"zone": zone, "q": q.zone(zone.id), "figure": None}
        if n is not None:
            status = t("need_no_threshold")
            if n.needed is not None:
                status = t(f"need_{key}_yes") if n.needed else t("need_no")
            row["figure"] = {
                "when": period_text(fmt, n.start, "hour"),
                "value": value_text(fmt, metric, n.value),
                "threshold": value_text(fmt, metric, n.threshold) if n.threshold is not None
                else "—",
                "status": status,
                "needed": bool(n.needed),
            }  # fmt: skip
        rows.append(row)
    return {"rows": rows, "q": q, "metric_name": metric_label(t, metric), "sources": []}


@router.get("/indices")
def indices_page(request: Request) -> Response:
    return page(
        request,
        "indices.html",
        {"indices": [(key, title) for key, (title, _) in INDICES.items()]},
        title_key="indices_title",
    )


@router.get("/indices/{key}")
def index_page(key: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    if key not in INDICES:
        raise PageError(404, "error_not_found", "index_not_found")
    t, fmt = translator(request), formats_of(request)
    now = int(time.time())
    if key == "particles":
        view = _particles(session, settings, t, fmt, now)
    elif key == "noise":
        view = _noise(session, settings, t, fmt, now)
    elif key == "heat":
        view = _heat(session, settings, t, fmt, now)
    else:
        view = _needs(session, settings, t, fmt, now, key)
    since = now - _LOOKBACK_S
    return page(
        request,
        f"index_{'needs' if key in ('bins', 'soil') else key}.html",
        {"key": key, "view": view, "since": fmt.dt(since), "until": fmt.dt(now)},
        title_key=INDICES[key][0],
    )
