"""Fleet-wide counts for the overview: nodes by state, per zone, firmware and gateway.

One grouped query over nodes and their latest health, folded three ways in Python; the
result is shared by every page of a worker for ``dashboard_stats_cache_s`` seconds, so many
open dashboards cost one query per period, whatever the size of the fleet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from sqlalchemy import func, select, text
from sqlmodel import Session, col

from fleet.models import Node, NodeHealth

__all__ = ["STATES", "Counts", "FleetStats", "TtlCache", "firmware_versions", "fleet_stats"]

T = TypeVar("T")

State = Literal["online", "offline", "never_seen", "revoked"]
STATES: tuple[State, ...] = ("online", "offline", "never_seen", "revoked")


@dataclass(slots=True)
class Counts:
    key: str
    online: int = 0
    offline: int = 0
    never_seen: int = 0
    revoked: int = 0

    def add(self, state: str, n: int) -> None:
        setattr(self, state, getattr(self, state) + n)

    def __getitem__(self, state: str) -> int:
        value: int = getattr(self, state)
        return value

    @property
    def total(self) -> int:
        return self.online + self.offline + self.never_seen + self.revoked


@dataclass(slots=True)
class FleetStats:
    computed_at: int
    totals: Counts
    by_zone: list[Counts]
    by_firmware: list[Counts]
    by_gateway: dict[str, Counts]
    # newest health received from the nodes of each gateway (unix seconds)
    gateway_last_report: dict[str, int] = field(default_factory=dict)
    # active nodes whose last reported battery is below the alert threshold
    low_battery: int = 0

    def live_values(self) -> dict[str, str]:
        """What the overview shows, by the ``data-live`` names of its elements."""
        out = {f"total:{s}": str(self.totals[s]) for s in STATES}
        for prefix, rows in (("zone", self.by_zone), ("fw", self.by_firmware)):
            for c in rows:
                out.update({f"{prefix}:{c.key}:{s}": str(c[s]) for s in STATES})
        for key, c in self.by_gateway.items():
            out.update({f"gw:{key}:{s}": str(c[s]) for s in STATES})
        return out


def fleet_stats(
    session: Session, *, now: int, offline_after_s: int, low_battery_v: float
) -> FleetStats:
    """Counts per (zone, gateway, firmware) with one filtered count per state: the planner
    sees few groups and aggregates by hash, without sorting the fleet."""
    threshold = now - offline_after_s
    kept = col(Node.status) != "revoked"
    seen = col(NodeHealth.last_seen)
    q = (
        select(
            col(Node.zone_id),
            col(Node.gateway_id),
            col(NodeHealth.fw),
            func.count().filter(kept, seen >= threshold),
            func.count().filter(kept, seen < threshold),
            func.count().filter(kept, col(NodeHealth.node_id).is_(None)),
            func.count().filter(col(Node.status) == "revoked"),
            func.count().filter(kept, col(NodeHealth.battery_v) < low_battery_v),
            func.max(col(NodeHealth.received_at)),
        )
        .join(NodeHealth, col(NodeHealth.node_id) == col(Node.id), isouter=True)
        .group_by(col(Node.zone_id), col(Node.gateway_id), col(NodeHealth.fw))
    )
    totals = Counts("all")
    zones: dict[str, Counts] = {}
    firmwares: dict[str, Counts] = {}
    gateways: dict[str, Counts] = {}
    last_report: dict[str, int] = {}
    low_battery = 0
    for zone_id, gateway_id, fw, *counts, low, received in session.execute(q):
        gw = gateway_id or ""
        for target in (
            totals,
            zones.setdefault(zone_id, Counts(zone_id)),
            firmwares.setdefault(fw or "", Counts(fw or "")),
            gateways.setdefault(gw, Counts(gw)),
        ):
            for state, n in zip(STATES, counts, strict=True):
                target.add(state, n)
        low_battery += low
        if received is not None and gw:
            last_report[gw] = max(last_report.get(gw, 0), int(received))
    return FleetStats(
        computed_at=now,
        totals=totals,
        by_zone=[zones[k] for k in sorted(zones)],
        # newest versions first (as strings: "0.10.0" sorts after "0.9.0" only by luck)
        by_firmware=sorted(firmwares.values(), key=lambda c: (c.key == "", _version_key(c.key))),
        by_gateway=gateways,
        gateway_last_report=last_report,
        low_battery=low_battery,
    )


# a loose index scan over ix_node_health_fw_node: one index seek per distinct version, so the
# device list's firmware choices cost the same with a hundred nodes or a hundred thousand
_FIRMWARES = text(
    """
    WITH RECURSIVE v(fw, n) AS (
        SELECT (SELECT min(fw) FROM node_health), 1
        UNION ALL
        SELECT (SELECT min(fw) FROM node_health WHERE fw > v.fw), v.n + 1
        FROM v WHERE v.fw IS NOT NULL AND v.n < :limit
    )
    SELECT fw FROM v WHERE fw IS NOT NULL
    """
)


def firmware_versions(session: Session, *, limit: int = 200) -> list[str]:
    """The firmware versions nodes report, newest first (at most ``limit``)."""
    found = [str(fw) for (fw,) in session.execute(_FIRMWARES, {"limit": limit}) if fw]
    return sorted(found, key=_version_key)


def _version_key(v: str) -> tuple[tuple[int, str], ...]:
    parts = v.replace("-", ".").split(".")
    return tuple((-int(p), "") if p.isdigit() else (0, p) for p in parts)


class TtlCache(Generic[T]):
    """A value of this worker, recomputed when older than ``max_age_s``."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._value: T | None = None
        self._at = 0.0

    def get(self, compute: Callable[[], T]) -> T:
        with self._lock:  # one computation at a time; the others wait and share it
            now = time.monotonic()
            if self._value is None or now - self._at >= self.max_age_s:
                self._value = compute()
                self._at = now
            return self._value

    def clear(self) -> None:
        with self._lock:
            self._value = None
