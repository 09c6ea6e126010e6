"""Open-data shapes for anonymised cells: NGSI-LD entities (FIWARE Smart Data Models) and CSV.

Input is only :class:`gateway.anonymize.PublishedCell` (zone-level, noisy counts, suppression
applied): this module adds no personal data and cannot bypass the anonymisation. A location is
the zone's centroid (privacy rule 4: never a node's position).

The Smart Data Models mapping is ``protocol/smart_data_models.py``, shared with the fleet
(LAeq here is the energy mean of LAeq, LAmax the maximum of LAmax); the keyValues form drops
the statistics' sub-properties. Every noisy count carries its own epsilon, mechanism, noise
scale and 90 % interval (CSV columns and NGSI-LD sub-properties); min and max are never given.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gateway.anonymize import PublishedCell
from protocol.metrics import METRICS
from protocol.published_cells import MECHANISM
from protocol.smart_data_models import FIELDS, entity, iso, measured
from protocol.zones import Zone, load_zones_file

__all__ = ["CSV_COLUMNS", "Zone", "csv_text", "key_values", "load_zones", "ngsi_entities"]


def load_zones(path: Path) -> dict[str, Zone]:
    """The zones of a zones file (GeoJSON, ``protocol/zones.py``) by id: the gateway locates a
    zone's figures at its centroid. A bad file is a ValueError naming it."""
    return {z.id: z for z in load_zones_file(path)}


def ngsi_entities(
    cells: Iterable[PublishedCell],
    zones: Mapping[str, Zone],
    *,
    city: str = "Angers",
    data_provider: str = "Territoire",
    source: str = "https://territoire.example/open-data",
) -> list[dict[str, Any]]:
    """NGSI-LD entities (normalized form) for the cells whose metric has a model; cells of an
    unknown zone are a ValueError (their centroid is unknown, and guessing one is not an option)."""
    groups: dict[tuple[str, str, int, int], list[PublishedCell]] = defaultdict(list)
    for c in cells:
        f = FIELDS.get(c.metric)
        if f is not None and not c.suppressed:
            groups[(f.model, c.zone, c.start, c.end)].append(c)
    out = []
    for (model, zone_id, start, end), group in sorted(groups.items()):
        zone = zones.get(zone_id)
        if zone is None:
            raise ValueError(f"unknown zone {zone_id!r}")
        props = {
            FIELDS[c.metric].attr: measured(c, FIELDS[c.metric], c.end, _dp(c))
            for c in sorted(group, key=lambda c: c.metric)
        }
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


def _dp(c: PublishedCell) -> dict[str, Any] | None:
    if c.dp is None:
        return None
    return {"mechanism": MECHANISM, "epsilon": c.dp.epsilon, "scale": c.dp.scale,
            "ci90": c.dp.ci90}


def key_values(entity: Mapping[str, Any]) -> dict[str, Any]:
    """The keyValues (simplified) form of a normalized entity: each Property or GeoProperty
    becomes its value, each Relationship its object; sub-properties are dropped."""
    out: dict[str, Any] = {}
    for name, attr in entity.items():
        if isinstance(attr, dict) and attr.get("type") in ("Property", "GeoProperty"):
            out[name] = attr["value"]
        elif isinstance(attr, dict) and attr.get("type") == "Relationship":
            out[name] = attr["object"]
        else:
            out[name] = attr
    return out


CSV_COLUMNS = (
    "zone",
    "zone_name",
    "metric",
    "unit",
    "period_start",
    "period_end",
    "n",
    "mean",
    "p95",
    "people",
    "dp_mechanism",
    "dp_epsilon",
    "dp_scale",
    "people_ci90_low",
    "people_ci90_high",
)


def csv_text(cells: Iterable[PublishedCell], zones: Mapping[str, Zone]) -> str:
    """RFC 4180 CSV, one row per published (not suppressed) cell, UTC ISO 8601 times, empty
    where not given; the ``dp_*`` columns are THIS cell's noise (its own epsilon, not the
    zone's daily budget). A cell of an unknown zone is a ValueError."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for c in sorted(cells, key=lambda c: (c.start, c.zone, c.metric)):
        if c.suppressed:
            continue
        zone = zones.get(c.zone)
        if zone is None:
            raise ValueError(f"unknown zone {c.zone!r}")
        row: list[object] = [c.zone, zone.name, c.metric, METRICS[c.metric].unit]
        row += [iso(c.start), iso(c.end), c.n]
        row += ["" if v is None else v for v in (c.mean, c.p95, c.people)]
        dp, ci = c.dp, (c.dp.ci90 if c.dp else None) or ("", "")
        row += ["", "", ""] if dp is None else [MECHANISM, dp.epsilon, dp.scale]
        row += list(ci)
        w.writerow(row)
    return buf.getvalue()
