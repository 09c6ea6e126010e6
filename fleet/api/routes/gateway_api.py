"""The gateway's own calls, each signed with its Ed25519 key: enroll, sync, ingest."""

from __future__ import annotations

import time
import zlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlmodel import Session

from fleet.api.deps import (
    SessionDep,
    SettingsDep,
    SignedDep,
    authenticate_gateway,
    signed_request,
)
from fleet.core.config import Settings
from fleet.core.signatures import ReplayCache, SignatureRefused, check_signature
from fleet.crud.cells import BudgetRules
from fleet.crud.gateways import enroll_gateway
from fleet.crud.health_history import HistoryBounds
from fleet.crud.ingest import apply_batch
from fleet.crud.sync import GatewayIdentity, sync_page
from fleet.models import GatewayEnroll, GatewayEnrolled, IngestRequest, IngestResult, SyncResponse
from fleet.models.ingest import OLD_SHAPE_HINT

router = APIRouter(prefix="/gateway", tags=["gateway"])

_SIGNED: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, malformed, stale, replayed or bad signature"},
    403: {"description": "gateway revoked"},
}
INGEST_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestRequest"}}},
    }
}


async def get_replay(request: Request) -> ReplayCache:
    replay: ReplayCache = request.app.state.replay
    return replay


ReplayDep = Annotated[ReplayCache, Depends(get_replay)]


@router.post("/enroll", response_model=GatewayEnrolled, responses=_SIGNED)
def enroll(
    body: GatewayEnroll,
    signed: SignedDep,
    session: SessionDep,
    settings: SettingsDep,
    replay: ReplayDep,
) -> GatewayEnrolled:
    """Bind the gateway's keys with its one-time token; signed with the key being enrolled."""
    ed_pub = bytes.fromhex(body.ed25519_public_key)
    try:
        check_signature(
            signed,
            public_key=ed_pub,
            now=time.time(),
            skew_s=settings.signature_skew_s,
            replay=replay,
        )
    except SignatureRefused as exc:
        raise HTTPException(401, str(exc)) from exc
    gw = enroll_gateway(
        session,
        gateway_id=signed.gateway_id,
        token=body.token,
        ed25519_public_key=ed_pub,
        x25519_public_key=bytes.fromhex(body.x25519_public_key),
    )
    session.commit()
    return GatewayEnrolled(gateway_id=gw.id, status=gw.status, sync_cursor=0)


@router.get(
    "/sync",
    response_model=SyncResponse,
    responses={**_SIGNED, 304: {"description": "nothing changed (If-None-Match matched)"}},
)
async def sync(
    request: Request, cursor: Annotated[int, Query(ge=0, le=2**53)] = 0
) -> SyncResponse | Response:
    """Nodes of this gateway changed since ``cursor``: send the last ETag as If-None-Match.

    The idle case (304) runs on the event loop from memory: a cached identity (see
    fleet.crud.identity_cache) and a signature check. A page with changes is built in the
    thread pool.
    """
    # called directly rather than as a dependency: this path is measured against a bare route
    signed = await signed_request(request)
    state = request.app.state
    gw = authenticate_gateway(state, signed)
    # the budget settings are in the tag: a changed budget reaches idle gateways too
    etag = f'W/"{gw.id}.{cursor}.{gw.sync_seq}.{_budget_tag(state.settings)}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    page = await run_in_threadpool(_sync_page, state, gw, cursor)
    return JSONResponse(
        page.model_dump(mode="json"), headers={"ETag": etag, "Cache-Control": "no-store"}
    )


def _budget_tag(settings: Settings) -> str:
    zones = sorted(settings.privacy_zone_epsilon.items())
    return f"{zlib.crc32(repr((settings.privacy_zone_epsilon_per_day, zones)).encode()):08x}"


def _sync_page(state: Any, gw: GatewayIdentity, cursor: int) -> SyncResponse:
    settings: Settings = state.settings
    with Session(state.engine) as session:
        return sync_page(
            session,
            gateway=gw,
            cursor=cursor,
            limit=settings.sync_page_max,
            box=state.box,
            budget=settings.zone_budget,
        )


def _old_shape(error: Any) -> bool:
    """An item in the shape of gateways before the cell contract (docs/fleet.md, "Ingest")."""
    last = error.get("loc", ("",))[-1]
    missing = error.get("type") == "missing" and last in {"suppressed_reason", "scale", "ci90"}
    return missing or last in {"min", "max"}


@router.post(
    "/ingest",
    response_model=IngestResult,
    responses={**_SIGNED, 413: {"description": "body or batch too large"}},
    openapi_extra=INGEST_BODY_SCHEMA,
)
def ingest(
    request: Request,
    signed: SignedDep,
    session: SessionDep,
    settings: SettingsDep,
) -> IngestResult:
    """Node health and aggregates; a repeated ``batch_id`` is acknowledged, not applied again.

    The signature is checked before the body is parsed, so an unauthenticated sender costs
    no JSON parsing.
    """
    gw = authenticate_gateway(request.app.state, signed)
    try:
        batch = IngestRequest.model_validate_json(signed.body)
    except ValidationError as exc:
        if any(_old_shape(e) for e in exc.errors()):
            raise HTTPException(422, OLD_SHAPE_HINT) from None
        raise RequestValidationError(exc.errors()) from None
    if len(batch.health) > settings.max_ingest_health_items:
        raise HTTPException(413, f"at most {settings.max_ingest_health_items} health items")
    if len(batch.aggregates) > settings.max_ingest_aggregate_items:
        raise HTTPException(413, f"at most {settings.max_ingest_aggregate_items} aggregates")
    history = HistoryBounds.covering(
        bucket_s=settings.health_history_bucket_s, span_s=settings.health_history_span_s
    )
    rules = BudgetRules.from_settings(settings)
    result = apply_batch(
        session, gateway_id=gw.id, batch=batch, now=int(time.time()), rules=rules, history=history
    )
    session.commit()
    return result
