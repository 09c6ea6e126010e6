"""The daily epsilon the fleet allots this gateway per zone, from its registry sync document.

The fleet owns each zone's territory-wide budget and allots every gateway serving the zone a
share: ``"privacy": {"zone_epsilon": {"<zone>": ε per day}, "decided_until": {"<zone>": unix
end}}`` in the sync page (``decided_until`` optional: the end of the zone's last cell the fleet
holds, so a gateway restored from an old backup does not decide those windows again). The
ledger then caps a zone at min(``privacy.epsilon_per_zone_day``, its allotment); a zone absent
from a known allotment publishes nothing (fail closed).

Compatibility: until the fleet has sent a ``privacy`` section at all (an older fleet, or no
fleet configured), :func:`load` gives None and the configured budget applies alone. Once an
allotment was received, a page without one keeps the last (never a silent widening). A
malformed section is refused whole and stored as an empty allotment: nothing published.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.store import Store

__all__ = ["KV_KEY", "Allotment", "load", "parse", "store_from_page"]

KV_KEY = "privacy_allotment"
MAX_ZONES = 10_000
_ZONE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")

log = logging.getLogger("territoire.gateway")


@dataclass(frozen=True)
class Allotment:
    zone_epsilon: dict[str, float] = field(default_factory=dict)
    decided_until: dict[str, int] = field(default_factory=dict)

    def cap_micro(self, zone: str, configured_micro: int) -> int:
        """The zone's daily budget here in micro-epsilon: 0 when the fleet allotted nothing."""
        eps = self.zone_epsilon.get(zone)
        return 0 if eps is None else min(configured_micro, math.floor(eps * 1_000_000))

    def to_json(self) -> bytes:
        return orjson.dumps({"zone_epsilon": self.zone_epsilon,
                             "decided_until": self.decided_until})


def parse(section: object) -> Allotment:
    """The allotment of a sync page's ``privacy`` section; ValueError naming what is wrong."""
    eps = section.get("zone_epsilon") if isinstance(section, dict) else None
    until = section.get("decided_until", {}) if isinstance(section, dict) else None
    if not isinstance(eps, dict) or not isinstance(until, dict):
        raise ValueError("privacy.zone_epsilon and privacy.decided_until must be objects")  # noqa: TRY004 (one error type for any bad document)
    if len(eps) > MAX_ZONES or len(until) > MAX_ZONES:
        raise ValueError(f"more than {MAX_ZONES} zones")
    out_eps: dict[str, float] = {}
    for zone, value in eps.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not _ZONE.match(zone) or not ok or not 0 <= value <= 100:
            raise ValueError(f"bad allotment {zone!r}: {value!r}")
        out_eps[zone] = float(value)
    out_until: dict[str, int] = {}
    for zone, end in until.items():
        if not _ZONE.match(zone) or isinstance(end, bool) or not isinstance(end, int) or end < 0:
            raise ValueError(f"bad decided_until {zone!r}: {end!r}")
        out_until[zone] = end
    return Allotment(out_eps, out_until)


def store_from_page(store: Store, page: dict[str, Any]) -> None:
    """Keep the page's allotment (inside the sync page's transaction); see the module doc."""
    if "privacy" not in page:
        return
    try:
        allotment = parse(page["privacy"])
    except ValueError as exc:
        log.warning("fleet sync: privacy allotment refused (%s): publishing nothing", exc)
        allotment = Allotment()
    store.kv_set(KV_KEY, allotment.to_json())


def load(store: Store) -> Allotment | None:
    """The last allotment received, or None if the fleet never sent one."""
    raw = store.kv_get(KV_KEY)
    if raw is None:
        return None
    try:
        return parse(orjson.loads(raw))
    except (ValueError, orjson.JSONDecodeError):
        return Allotment()  # unreadable: fail closed
