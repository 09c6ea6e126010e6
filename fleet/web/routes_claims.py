"""Dashboard pages of claim codes (operators): the unused codes, a form to create more, a
cancel button each (forms with the CSRF token, audited), and a printable sheet of labels with
each code as QR and as text (as ``territoire claim-codes labels``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlmodel import Session

from fleet.api.deps import BoxDep, SessionDep, SettingsDep
from fleet.core.config import Settings
from fleet.crud import claims as crud
from fleet.crud.errors import Conflict, Invalid, NotFound
from fleet.crud.gateways import list_gateways
from fleet.crud.operators import Principal
from fleet.crud.registry import list_profiles, list_zones
from fleet.models import ClaimCode, ClaimCodeCreate
from fleet.web.auth import UserDep, check_csrf, csrf_of, need_role
from fleet.web.common import translator
from fleet.web.render import PageError, page

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
_IDS = re.compile(r"^[0-9]{1,9}(,[0-9]{1,9}){0,199}$")
_CHOICES = 500  # zones, profiles, gateways offered in the form


def _codes_page(
    request: Request,
    user: Principal,
    session: Session,
    settings: Settings,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    t = translator(request)
    done = request.query_params.get("done")
    gateways = [g for g in list_gateways(session, limit=_CHOICES, offset=0)
                if g.status != "revoked"]
    return page(
        request,
        "claim_codes.html",
        {
            "codes": crud.list_claim_codes(session, limit=settings.page_max, after_id=None,
                                           unused_only=True),
            "zones": list_zones(session, limit=_CHOICES, offset=0),
            "profiles": list_profiles(session, limit=_CHOICES, offset=0),
            "gateways": gateways,
            "max_count": settings.claim_code_batch_max,
            "error": error,
            "form": form or {"zone_id": "", "profile_id": "", "gateway_id": "", "count": "1",
                             "ttl_days": ""},
            "flash": t("code_cancelled_flash") if done == "cancelled" else None,
        },
        title_key="claim_codes_title",
        user=user,
        csrf=csrf_of(user),
        status=422 if error else 200,
    )


@router.get("/claim-codes")
def claim_codes(
    request: Request, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    need_role(user, "operator")
    return _codes_page(request, user, session, settings)


@router.post("/claim-codes")
def create_codes(
    request: Request,
    *,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    box: BoxDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    zone_id: Annotated[str, Form(max_length=64)] = "",
    profile_id: Annotated[str, Form(max_length=64)] = "",
    gateway_id: Annotated[str, Form(max_length=64)] = "",
    count: Annotated[str, Form(max_length=10)] = "1",
    ttl_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Create codes (as POST /api/v1/claim-codes), then show their labels to print."""
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    t = translator(request)
    form = {"zone_id": zone_id, "profile_id": profile_id, "gateway_id": gateway_id,
            "count": count, "ttl_days": ttl_days}
    try:
        data = ClaimCodeCreate.model_validate({
            "zone_id": zone_id, "profile_id": profile_id, "gateway_id": gateway_id or None,
            "count": count.strip() or "1", "ttl_days": ttl_days.strip() or None,
        })
        made = crud.create_claim_codes(
            session,
            data=data,
            default_ttl=timedelta(seconds=settings.claim_code_ttl_s),
            max_count=settings.claim_code_batch_max,
            box=box,
            operator_id=user.operator.id,
            actor=user.actor,
        )
    except ValidationError as exc:
        field = str(exc.errors()[0].get("loc", ("",))[-1])
        error = t("codes_refused", detail=t("field_" + field) if field in form else field)
        return _codes_page(request, user, session, settings, error=error, form=form)
    except (Invalid, NotFound) as exc:
        session.rollback()
        return _codes_page(request, user, session, settings,
                           error=t("codes_refused", detail=exc.message), form=form)
    session.commit()
    ids = ",".join(str(row.id) for row, _code in made)
    return RedirectResponse(f"/dashboard/claim-codes/labels?ids={ids}", status_code=303)


@router.post("/claim-codes/{code_id}/cancel")
def cancel_code(
    code_id: str,
    user: UserDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    if not code_id.isdigit() or len(code_id) > 9:
        raise PageError(404, "error_not_found", "claim_code_not_found")
    try:
        crud.cancel_claim_code(session, code_id=int(code_id), actor=user.actor)
    except NotFound:
        raise PageError(404, "error_not_found", "claim_code_not_found") from None
    except Conflict:
        return RedirectResponse("/dashboard/claim-codes", status_code=303)
    session.commit()
    return RedirectResponse("/dashboard/claim-codes?done=cancelled", status_code=303)


def _qr_svg(code: str) -> Markup:
    # segno's inline SVG: attributes only, no style (the pages' CSP allows no inline style)
    return Markup(segno.make(code, error="m").svg_inline(scale=4, border=4,  # noqa: S704
                                                         omitsize=True))


@router.get("/claim-codes/labels")
def labels(
    request: Request, user: UserDep, session: SessionDep, box: BoxDep, ids: str = ""
) -> Response:
    """The labels of unused codes (all of them, or ``ids=1,2,3``), ready to print."""
    need_role(user, "operator")
    if ids and not _IDS.match(ids):
        raise PageError(404, "error_not_found", "claim_code_not_found")
    if ids:
        rows = [session.get(ClaimCode, int(i)) for i in ids.split(",")]
        chosen = [r for r in rows if r is not None]
    else:
        chosen = crud.list_claim_codes(session, limit=200, after_id=None, unused_only=True)
    sheet = []
    for row in chosen:
        try:
            code = crud.claim_code_text(session, code_id=row.id or 0, box=box)
        except (NotFound, Conflict):
            continue  # used or cancelled meanwhile: no label
        sheet.append({"row": row, "code": code, "qr": _qr_svg(code)})
    return page(
        request,
        "claim_labels.html",
        {"labels": sheet},
        title_key="labels_title",
        user=user,
        csrf=csrf_of(user),
    )
