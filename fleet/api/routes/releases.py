"""Release keys (admins register public keys) and releases (operators publish signed bundles)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from fleet.api.deps import (
    AdminDep,
    LimitDep,
    OffsetDep,
    OperatorDep,
    SessionDep,
    SettingsDep,
    ViewerDep,
)
from fleet.api.params import IntIdPath
from fleet.crud import releases as crud
from fleet.models import Release
from fleet.models.ota_api import ReleaseKeyCreate, ReleaseKeyPublic, ReleasePublic

__all__ = ["router"]

router = APIRouter(tags=["releases"])

KidPath = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
BUNDLE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            # a .tar, sent as bytes (the content type is not checked; the bytes are)
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
        },
    }
}


@router.get("/release-keys", response_model=list[ReleaseKeyPublic])
def list_keys(_: ViewerDep, session: SessionDep) -> list[ReleaseKeyPublic]:
    return [
        ReleaseKeyPublic.model_validate(k, from_attributes=True) for k in crud.list_keys(session)
    ]


@router.post("/release-keys", response_model=ReleaseKeyPublic, status_code=201)
def add_key(
    body: ReleaseKeyCreate, who: AdminDep, session: SessionDep, settings: SettingsDep
) -> ReleaseKeyPublic:
    """Register a release public key (RSA-3072, PEM): releases signed by it can be published
    and the gateways hand it to their nodes."""
    row = crud.add_key(
        session, name=body.name, pem=body.pem, actor=who.actor, max_keys=settings.release_keys_max
    )
    session.commit()
    return ReleaseKeyPublic.model_validate(row, from_attributes=True)


@router.post("/release-keys/{kid}/revoke", response_model=ReleaseKeyPublic)
def revoke_key(kid: KidPath, who: AdminDep, session: SessionDep) -> ReleaseKeyPublic:
    row = crud.revoke_key(session, kid=kid, actor=who.actor)
    session.commit()
    return ReleaseKeyPublic.model_validate(row, from_attributes=True)


def _public(r: Release) -> ReleasePublic:
    return ReleasePublic.model_validate(r, from_attributes=True)


@router.get("/releases", response_model=list[ReleasePublic])
def list_releases(
    _: ViewerDep, session: SessionDep, limit: LimitDep, offset: OffsetDep = 0
) -> list[ReleasePublic]:
    return [_public(r) for r in crud.list_releases(session, limit=limit, offset=offset)]


@router.get("/releases/{release_id}", response_model=ReleasePublic)
def get_release(release_id: IntIdPath, _: ViewerDep, session: SessionDep) -> ReleasePublic:
    row = session.get(Release, release_id)
    if row is None:
        raise HTTPException(404, f"no release {release_id}")
    return _public(row)


@router.post(
    "/releases",
    response_model=ReleasePublic,
    status_code=201,
    openapi_extra=BUNDLE_BODY,
    responses={
        413: {"description": "bundle too large"},
        409: {"description": "this version and hardware are already published"},
        422: {"description": "unsigned, badly signed, unknown key, malformed, hash mismatch"},
    },
)
async def publish(request: Request, who: OperatorDep, session: SessionDep) -> ReleasePublic:
    """Publish a signed release bundle (the ``.tar`` of ``territoire release sign``).

    It is verified as a node would verify it; a refused bundle leaves nothing stored. The
    body limit is ``max_release_bundle_bytes``, enforced while it streams in.
    """
    data = await request.body()
    return await _store(session, data=data, actor=who.actor)


async def _store(session: Session, *, data: bytes, actor: str) -> ReleasePublic:
    def work() -> ReleasePublic:
        try:
            row = crud.add_release(session, data=data, now=int(time.time()), actor=actor)
        except crud.BundleRefused as exc:
            session.rollback()
            status = 413 if exc.reason == "too_large" else 422
            raise HTTPException(status, exc.message) from None
        session.commit()
        return _public(row)

    return await run_in_threadpool(work)
