"""What several dashboard pages share: cached stats and alerts, zone names, small formats."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import Request
from sqlmodel import Session

from fleet.core.config import Settings
from fleet.crud.registry import list_zones
from fleet.models import Zone
from fleet.web.alerts import Alert, AlertReport, AlertRules, compute_alerts
from fleet.web.i18n import Translator
from fleet.web.render import formats_of, language_of
from fleet.web.stats import FleetStats, TtlCache, fleet_stats

__all__ = [
    "alert_detail",
    "alerts_of",
    "clear_caches",
    "duration_text",
    "install_caches",
    "stats_of",
    "translator",
    "zone_names",
]


def install_caches(state: Any, settings: Settings) -> None:
    state.web_stats = TtlCache[FleetStats](settings.dashboard_stats_cache_s)
    state.web_alerts = TtlCache[AlertReport](settings.dashboard_stats_cache_s)


def clear_caches(request: Request) -> None:
    """After a change made from the dashboard, so the next page shows it at once."""
    request.app.state.web_stats.clear()
    request.app.state.web_alerts.clear()


def stats_of(request: Request, session: Session) -> FleetStats:
    settings: Settings = request.app.state.settings
    cache: TtlCache[FleetStats] = request.app.state.web_stats
    return cache.get(
        lambda: fleet_stats(
            session,
            now=int(time.time()),
            offline_after_s=settings.node_offline_after_s,
            low_battery_v=settings.alert_low_battery_v,
        )
    )


def alerts_of(request: Request, session: Session) -> AlertReport:
    settings: Settings = request.app.state.settings
    cache: TtlCache[AlertReport] = request.app.state.web_alerts
    rules = AlertRules.from_settings(settings)

    def compute() -> AlertReport:
        stats = stats_of(request, session)
        return compute_alerts(
            session,
            rules=rules,
            now=int(time.time()),
            offline=stats.totals.offline,
            low_battery=stats.low_battery,
        )

    return cache.get(compute)


def zone_names(session: Session, settings: Settings) -> tuple[list[Zone], Callable[[str], str]]:
    zones = list_zones(session, limit=settings.page_max, offset=0)
    names = {z.id: z.name for z in zones}
    return zones, lambda zone_id: names.get(zone_id, zone_id)


def translator(request: Request) -> Translator:
    return Translator(language_of(request)[0])


def duration_text(t: Translator, seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return t("duration_seconds", n=s)
    if s < 3600:
        return t("duration_minutes", n=max(1, s // 60))
    if s < 2 * 86400:
        return t("duration_hours", n=s // 3600)
    return t("duration_days", n=s // 86400)


def alert_detail(request: Request) -> Callable[[Alert], str]:
    t, fmt = translator(request), formats_of(request)

    def detail(a: Alert) -> str:
        if a.kind == "offline":
            return t("detail_offline", duration=duration_text(t, a.value))
        if a.kind == "low_battery":
            return t("detail_low_battery", volts=fmt.num(a.value, 2, "V"))
        if a.kind == "suspect":
            return t("detail_suspect", n=int(a.value))
        return t("detail_rejected_spike", n=int(a.value))

    return detail
