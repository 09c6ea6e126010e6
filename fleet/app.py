"""The fleet service application: ``create_app(settings)`` builds one, ready to serve."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlmodel import Session

from fleet.api.deps import throttle_limits
from fleet.api.errors import install_error_handlers
from fleet.api.limits import BodyLimitMiddleware, PublicGZipMiddleware
from fleet.api.main import include_api
from fleet.core.config import Settings
from fleet.core.crypto import SecretBox
from fleet.core.db import autocommit, make_engine
from fleet.core.signatures import ReplayCache
from fleet.crud import login_throttle
from fleet.crud.identity_cache import IdentityCache
from fleet.crud.maintenance import sweep
from fleet.migrations import upgrade
from fleet.models import IngestRequest, utcnow
from fleet.web import include_web
from fleet.web.routes_registry import ZONES_UPLOAD_LIMIT

__all__ = ["create_app"]

log = logging.getLogger("fleet")


def _run_sweep(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    with Session(app.state.engine) as session:
        app.state.identity_cache.attach(session)
        swept = sweep(session, batch_retention=timedelta(seconds=settings.ingest_batch_retention_s))
        # failed-login counters whose window is over (bounded anyway: login_throttle_rows_max)
        login_throttle.sweep(session, limits=throttle_limits(settings), now=utcnow())
        session.commit()
    if swept.expired_keys:
        log.info("maintenance: %d expired node keys purged", swept.expired_keys)


async def _maintenance(app: FastAPI) -> None:
    interval = app.state.settings.maintenance_interval_s
    while True:
        try:
            await anyio.to_thread.run_sync(_run_sweep, app)
        except Exception:  # a failed sweep is retried at the next interval, never fatal
            log.exception("maintenance sweep failed")
        await asyncio.sleep(interval)


def _refresh_identities(app: FastAPI) -> None:
    with app.state.read_engine.connect() as conn:
        app.state.identity_cache.refresh(conn)


async def _identity_refresher(app: FastAPI) -> None:
    interval = app.state.settings.gateway_cache_refresh_s
    while True:
        await asyncio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(_refresh_identities, app)
        except Exception:  # cannot tell what changed: forget all, so calls go to the database
            app.state.identity_cache.clear()
            log.exception("gateway identity refresh failed")


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    tasks = [
        asyncio.create_task(_maintenance(app), name="fleet.maintenance"),
        asyncio.create_task(_identity_refresher(app), name="fleet.identity_refresh"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        app.state.engine.dispose()


def _openapi_with_ingest(app: FastAPI) -> dict[str, Any]:
    """The ingest body is parsed after the signature check, so document its schema by hand."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    ingest = IngestRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(ingest.pop("$defs", {}))
    components["IngestRequest"] = ingest
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; refuses (ConfigError) to start outside development without a key."""
    settings = settings or Settings()
    box = SecretBox(settings.master_key_bytes())
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    prefix = settings.api_prefix
    app = FastAPI(
        title=settings.project_name,
        version="1",
        description="Registry, keys, gateways, telemetry and open data of the Territoire fleet.",
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.box = box
    app.state.engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    app.state.read_engine = autocommit(app.state.engine)
    app.state.identity_cache = IdentityCache()
    app.state.replay = ReplayCache(settings.replay_cache_max)
    install_error_handlers(app)
    app.add_middleware(PublicGZipMiddleware, minimum_size=500)  # the home page's weight
    app.add_middleware(
        BodyLimitMiddleware,
        default=settings.max_body_bytes,
        per_path={
            f"{prefix}/gateway/ingest": settings.max_ingest_body_bytes,
            f"{prefix}/releases": settings.max_release_bundle_bytes,
            f"{prefix}/gateway/ota/status": settings.max_ota_status_body_bytes,
            "/dashboard/zones/import": ZONES_UPLOAD_LIMIT,
        },
    )
    include_api(app, prefix)
    include_web(app)  # HTML pages after the API, whose gateway routes are matched first
    app.openapi = lambda: _openapi_with_ingest(app)  # type: ignore[method-assign]
    if (
        settings.environment == "development"
        and settings.master_key is None
        and (settings.master_key_file is None)
    ):
        log.warning("development master key in use: secrets at rest are NOT protected")
    return app
