"""All API routers under the API prefix. HTML page routers can be added beside them.

Routers are included straight into the app (not through one parent router): FastAPI matches
an included router by asking all its routes, once per nesting level, so a flat tree routes
faster. They are matched in order: the gateways' hot path first.
"""

from __future__ import annotations

from fastapi import FastAPI

from fleet.api.routes import (
    audit,
    auth,
    claims,
    gateway_api,
    gateway_ota,
    gateways,
    nodes,
    operators,
    public,
    public_map,
    public_trust,
    registry,
    releases,
    rollouts,
    utils,
)

__all__ = ["ROUTERS", "include_api"]

ROUTERS = tuple(
    m.router
    for m in (
        gateway_api,
        gateway_ota,
        utils,
        public,
        public_map,
        public_trust,
        nodes,
        auth,
        operators,
        registry,
        gateways,
        claims,
        audit,
        releases,
        rollouts,
    )
)


def include_api(app: FastAPI, prefix: str) -> None:
    for router in ROUTERS:
        app.include_router(router, prefix=prefix)
