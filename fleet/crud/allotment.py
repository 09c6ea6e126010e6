"""Each gateway's share of a zone's daily privacy budget, sent in its sync page.

The zone's budget (``Settings.zone_budget``) divided by the number of active gateways that
serve at least one active node in the zone: the shares add up to the budget, so gateways that
keep to theirs never see a refusal. A share is cooperative; the fleet's ledger
(fleet.crud.cells) enforces the zone's sum whatever a gateway does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from sqlmodel import Session, col, select

from fleet.models import Gateway, Node

__all__ = ["serving_gateways", "zone_shares"]


def serving_gateways(session: Session, zone_ids: Collection[str]) -> dict[str, set[str]]:
    """Per zone, the active gateways serving at least one of its active nodes."""
    if not zone_ids:
        return {}
    q = (
        select(Node.zone_id, Node.gateway_id)
        .join(Gateway, col(Gateway.id) == col(Node.gateway_id))
        .where(col(Node.zone_id).in_(sorted(zone_ids)))
        .where(col(Node.status) == "active", col(Gateway.status) == "active")
        .distinct()
    )
    out: dict[str, set[str]] = {}
    for zone_id, gateway_id in session.exec(q):
        if gateway_id is not None:
            out.setdefault(zone_id, set()).add(gateway_id)
    return out


def zone_shares(
    session: Session, gateway_id: str, budget: Callable[[str], float]
) -> dict[str, float]:
    """The epsilon per day this gateway may spend in each zone it serves."""
    zones = set(
        session.exec(
            select(Node.zone_id)
            .where(Node.gateway_id == gateway_id, col(Node.status) == "active")
            .distinct()
        )
    )
    serving = serving_gateways(session, zones)
    return {z: budget(z) / max(1, len(serving.get(z, set()) | {gateway_id})) for z in sorted(zones)}
