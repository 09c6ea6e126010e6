"""NGSI-LD entities (FIWARE Smart Data Models) from the fleet's published aggregate rows.

The same shapes as the gateway's open data (docs/privacy.md), built here from the fleet's own
rows with the mapping both share (``protocol/smart_data_models.py``; the fleet never imports
the gateway). Suppressed cells carry no value and are
left out, as are metrics without a model (bin fill, soil moisture: CSV only) and zones
without a centroid (the models need a location, and a node's own is never published).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol

from protocol.smart_data_models import FIELDS, MODELS, CellValues, entity, measured

__all__ = ["FIELDS", "MODELS", "AggregateRow", "ZoneCentroid", "cell_entities", "ngsi_entities"]


class AggregateRow(CellValues, Protocol):
    """What is read of a published cell (``fleet.models.Aggregate`` has these)."""

    @property
    def zone_id(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def period_s(self) -> int: ...
    @property
    def suppressed(self) -> bool: ...
    @property
    def gateway_id(self) -> str: ...
    # the noise of a published count (None: no noise drawn, or a row from before the contract)
    @property
    def dp_mechanism(self) -> str | None: ...
    @property
    def dp_epsilon(self) -> float | None: ...
    @property
    def dp_scale(self) -> float | None: ...
    @property
    def dp_ci90_low(self) -> int | None: ...
    @property
    def dp_ci90_high(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class ZoneCentroid:
    id: str
    name: str
    lat: float
    lon: float


def _publishable(row: AggregateRow) -> bool:
    f = FIELDS.get(row.metric)
    if f is None or row.suppressed:
        return False
    if f.model == "CrowdFlowObserved":
        return row.people is not None
    return row.mean is not None  # never a window's max: one node's raw reading


def _measured(row: AggregateRow, end: int) -> dict[str, Any]:
    """The cell's property, with its noise as sub-properties when it carries a noisy count
    (rows from before the cell contract carry none; min and max are never published)."""
    dp = None
    if row.people is not None and row.dp_mechanism and row.dp_scale is not None:
        ci = None if row.dp_ci90_low is None else [row.dp_ci90_low, row.dp_ci90_high]
        dp = {"mechanism": row.dp_mechanism, "epsilon": row.dp_epsilon, "scale": row.dp_scale,
              "ci90": ci}
    return measured(row, FIELDS[row.metric], end, dp)


def cell_entities(
    rows: Iterable[AggregateRow],
    zone: ZoneCentroid,
    *,
    city: str,
    data_provider: str,
    source: str,
) -> list[dict[str, Any]]:
    """The entities of one zone and window (``rows`` share zone, start and period)."""
    by_model: dict[str, list[AggregateRow]] = {}
    for row in rows:
        if _publishable(row):
            by_model.setdefault(FIELDS[row.metric].model, []).append(row)
    out = []
    for model in sorted(by_model):
        group = sorted(by_model[model], key=lambda r: r.metric)
        start, end = group[0].start, group[0].start + group[0].period_s
        props = {FIELDS[r.metric].attr: _measured(r, end) for r in group}
        out.append(
            entity(
                model,
                (zone.id, zone.name, zone.lat, zone.lon),
                start,
                end,
                props,
                city=city,
                data_provider=data_provider,
                source=source,
            )
        )
    return out


def ngsi_entities(
    rows: Iterable[AggregateRow],
    zones: Mapping[str, ZoneCentroid],
    *,
    city: str,
    data_provider: str,
    source: str,
    label: Callable[[str], str],
) -> Iterator[dict[str, Any]]:
    """Entities for rows ordered by (start, zone, period, gateway): each release's rows must be
    adjacent. Two gateways serving a zone make two entities, their ids ending with the opaque
    source label of the public API. Rows of a zone without a centroid are skipped."""
    for (start, zone_id, period, gateway_id), cell in groupby(
        rows, key=lambda r: (r.start, r.zone_id, r.period_s, r.gateway_id)
    ):
        del start, period
        zone = zones.get(zone_id)
        if zone is None:
            continue
        for e in cell_entities(cell, zone, city=city, data_provider=data_provider, source=source):
            e["id"] = f"{e['id']}:{label(gateway_id)}"
            yield e
