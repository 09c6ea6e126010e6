"""The gateway's OTA calls (docs/fleet.md, "OTA for gateways"), signed like ``/gateway/sync``:
what each of its nodes should run, the release objects, and its nodes' progress."""

from __future__ import annotations

import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlmodel import Session, col, select

from fleet.api.deps import SessionDep, SettingsDep, SignedDep, authenticate_gateway
from fleet.api.params import IntIdPath
from fleet.core.config import Settings
from fleet.crud.ota_gateway import apply_status, document_etag, gateway_document
from fleet.crud.releases import release_file
from fleet.crud.rollouts import evaluate_unfinished
from fleet.models import Node, Release, Rollout, RolloutMember
from fleet.models.ota_api import OtaDocument, OtaStatusRequest, OtaStatusResult

__all__ = ["router"]

router = APIRouter(prefix="/gateway", tags=["gateway"])

Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
_SIGNED: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, malformed, stale, replayed or bad signature"},
    403: {"description": "gateway revoked"},
}
_OCTETS = {"Content-Type": "application/octet-stream", "Cache-Control": "no-store"}


def _document(state: Any, gateway_id: str) -> OtaDocument:
    settings: Settings = state.settings
    with Session(state.engine, expire_on_commit=False) as session:
        evaluations = evaluate_unfinished(
            session,
            now=int(time.time()),
            tz=ZoneInfo(settings.ota_window_timezone),
            trial_grace_s=settings.ota_trial_grace_s,
        )
        doc = gateway_document(session, gateway_id=gateway_id, evaluations=evaluations)
        session.commit()
    return doc


@router.get(
    "/ota",
    response_model=OtaDocument,
    responses={**_SIGNED, 304: {"description": "nothing changed (If-None-Match matched)"}},
)
async def ota(request: Request, signed: SignedDep) -> OtaDocument | Response:
    """The release each of this gateway's nodes should run now, and the release keys.

    Send the last ETag as If-None-Match: 304 while nothing changed.
    """
    gw = authenticate_gateway(request.app.state, signed)
    doc = await run_in_threadpool(_document, request.app.state, gw.id)
    etag = document_etag(doc)
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(
        doc.model_dump_json(),
        media_type="application/json",
        headers={"ETag": etag, "Cache-Control": "no-store"},
    )


def _release_for(session: Session, gateway_id: str, release_id: int) -> Release:
    """A release one of this gateway's nodes is (or was) in a rollout of, else 404."""
    release = session.get(Release, release_id)
    if release is None:
        raise HTTPException(404, f"no release {release_id}")
    q = (
        select(RolloutMember.node_id)
        .join(Rollout, col(Rollout.id) == col(RolloutMember.rollout_id))
        .join(Node, col(Node.id) == col(RolloutMember.node_id))
        .where(Rollout.release_id == release_id, Node.gateway_id == gateway_id)
        .limit(1)
    )
    if session.exec(q).first() is None:
        raise HTTPException(404, f"release {release_id} is not rolled out to this gateway")
    return release


@router.get("/releases/{release_id}/manifest", responses=_SIGNED)
def manifest(
    release_id: IntIdPath, request: Request, signed: SignedDep, session: SessionDep
) -> Response:
    """The signed manifest, byte for byte as the release manager signed it."""
    gw = authenticate_gateway(request.app.state, signed)
    release = _release_for(session, gw.id, release_id)
    return Response(release.manifest, headers=_OCTETS)


@router.get("/releases/{release_id}/files/{sha256}", responses=_SIGNED)
def file(
    release_id: IntIdPath,
    sha256: Sha256Path,
    request: Request,
    signed: SignedDep,
    session: SessionDep,
) -> Response:
    """One file of the release by its SHA-256, byte for byte."""
    gw = authenticate_gateway(request.app.state, signed)
    _release_for(session, gw.id, release_id)
    data = release_file(session, release_id=release_id, sha256=sha256)
    if data is None:
        raise HTTPException(404, "no such file in this release")
    return Response(data, headers=_OCTETS)


@router.post(
    "/ota/status",
    response_model=OtaStatusResult,
    responses={**_SIGNED, 413: {"description": "too many items"}},
)
def status(
    request: Request, signed: SignedDep, session: SessionDep, settings: SettingsDep
) -> OtaStatusResult:
    """Nodes' OTA progress; a repeated ``batch_id`` is acknowledged, not applied again."""
    gw = authenticate_gateway(request.app.state, signed)
    try:
        batch = OtaStatusRequest.model_validate_json(signed.body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    if len(batch.items) > settings.ota_status_items_max:
        raise HTTPException(413, f"at most {settings.ota_status_items_max} items")
    result = apply_status(session, gateway_id=gw.id, batch=batch, now=int(time.time()))
    session.commit()
    return result
