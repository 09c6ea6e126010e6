"""Claim codes (operators create and print them) and the claim (the technician's CLI uses one)."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy.exc import IntegrityError

from fleet.api.deps import BoxDep, LimitDep, OperatorDep, SessionDep, SettingsDep
from fleet.api.params import IntIdPath
from fleet.crud import claims as crud
from fleet.crud.releases import node_release_keys
from fleet.models import (
    ClaimCode,
    ClaimCodeCreate,
    ClaimCodeCreated,
    ClaimCodePublic,
    ClaimRequest,
    ClaimResponse,
    Page,
    ReleaseKeyEntry,
)

router = APIRouter(tags=["provisioning"])
log = logging.getLogger("fleet.claims")

_IMAGE = {"svg": "image/svg+xml", "png": "image/png"}


def _public(row: ClaimCode) -> ClaimCodePublic:
    return ClaimCodePublic.model_validate(row, from_attributes=True)


@router.get("/claim-codes", response_model=Page[ClaimCodePublic])
def list_claim_codes(
    _: OperatorDep,
    session: SessionDep,
    limit: LimitDep,
    after: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    unused: bool = False,
) -> Page[ClaimCodePublic]:
    rows = crud.list_claim_codes(session, limit=limit, after_id=after, unused_only=unused)
    cursor = str(rows[-1].id) if len(rows) == limit else None
    return Page(data=[_public(r) for r in rows], next_cursor=cursor)


@router.post("/claim-codes", response_model=list[ClaimCodeCreated], status_code=201)
def create_claim_codes(
    body: ClaimCodeCreate,
    principal: OperatorDep,
    session: SessionDep,
    settings: SettingsDep,
    box: BoxDep,
) -> list[ClaimCodeCreated]:
    """One or more one-time codes placing the future nodes in a zone, on a gateway."""
    made = crud.create_claim_codes(
        session,
        data=body,
        default_ttl=timedelta(seconds=settings.claim_code_ttl_s),
        max_count=settings.claim_code_batch_max,
        box=box,
        operator_id=principal.operator.id,
        actor=principal.actor,
    )
    session.commit()
    return [ClaimCodeCreated(**_public(row).model_dump(), code=code) for row, code in made]


@router.get("/claim-codes/{code_id}", response_model=ClaimCodePublic)
def get_claim_code(code_id: IntIdPath, _: OperatorDep, session: SessionDep) -> ClaimCodePublic:
    row = session.get(ClaimCode, code_id)
    if row is None:
        raise HTTPException(404, "no such claim code")
    return _public(row)


@router.get(
    "/claim-codes/{code_id}/qr",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}, "image/png": {}, "text/plain": {}}}},
)
def claim_code_qr(
    code_id: IntIdPath,
    _: OperatorDep,
    session: SessionDep,
    box: BoxDep,
    format: Literal["svg", "png", "txt"] = "svg",
    scale: Annotated[int, Query(ge=1, le=40)] = 8,
) -> Response:
    """The unused code as a QR code to print on the node's label, or as text (``txt``: the
    same code the QR holds, for a label printed with the code written beside its QR)."""
    code = crud.claim_code_text(session, code_id=code_id, box=box)
    if format == "txt":
        return Response(code, media_type="text/plain", headers={"Cache-Control": "no-store"})
    buf = io.BytesIO()
    segno.make(code, error="m").save(buf, kind=format, scale=scale, border=4)
    return Response(
        buf.getvalue(), media_type=_IMAGE[format], headers={"Cache-Control": "no-store"}
    )


@router.post("/claim-codes/{code_id}/cancel", response_model=ClaimCodePublic)
def cancel_claim_code(
    code_id: IntIdPath, principal: OperatorDep, session: SessionDep
) -> ClaimCodePublic:
    row = crud.cancel_claim_code(session, code_id=code_id, actor=principal.actor)
    session.commit()
    return _public(row)


@router.post(
    "/claim",
    response_model=ClaimResponse,
    status_code=201,
    responses={403: {"description": "unknown, used or expired code"}},
)
def claim(
    body: ClaimRequest, response: Response, session: SessionDep, settings: SettingsDep, box: BoxDep
) -> ClaimResponse:
    """Turn a claim code into a node identity. The code is the credential (no login).

    The node's secret is in this response and never again: write it to the node.
    """
    for attempt in range(3):
        try:
            node, key_id, secret = crud.claim_node(
                session,
                code=body.code,
                box=box,
                node_id_prefix=settings.node_id_prefix,
                interval_s=body.interval_s,
            )
            keys = node_release_keys(session)
            session.commit()
            break
        except IntegrityError:
            # two claims picked the same next node id at once: the loser tries again
            session.rollback()
            if attempt == 2:
                raise
    log.info("node %s claimed (key %d)", node.id, key_id)
    response.headers["Cache-Control"] = "no-store"
    return ClaimResponse(
        node_id=node.id,
        key_id=key_id,
        secret=secret.hex(),
        zone_id=node.zone_id,
        gateway_id=node.gateway_id,
        profile_id=node.profile_id,
        release_keys=[ReleaseKeyEntry(n=format(n, "x"), e=e) for n, e in keys],
        interval_s=node.interval_s,
    )
