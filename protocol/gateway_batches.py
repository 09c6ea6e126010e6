"""How much one gateway → fleet request may carry (docs/protocol.md, "Gateway requests").

The fleet accepts at least these many items per list (413 beyond its own, never lower, limit)
and a gateway never sends more (its batch sizes are checked against them when its
configuration loads), so a full batch of any gateway is one every fleet takes.
"""

from __future__ import annotations

from typing import Final

__all__ = ["INGEST_AGGREGATE_ITEMS_MAX", "INGEST_HEALTH_ITEMS_MAX", "OTA_STATUS_ITEMS_MAX"]

INGEST_HEALTH_ITEMS_MAX: Final = 20_000  # POST /gateway/ingest, "health"
INGEST_AGGREGATE_ITEMS_MAX: Final = 20_000  # POST /gateway/ingest, "aggregates"
OTA_STATUS_ITEMS_MAX: Final = 5_000  # POST /gateway/ota/status, "items"
