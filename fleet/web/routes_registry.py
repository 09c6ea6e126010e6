"""Dashboard pages of the registry: zones (list; import from a GeoJSON file, checked first, for
operators) and sensor profiles (list; create and edit the register's fields, for operators).

Zones and profiles are read by viewers and changed by operators, as ``/api/v1/zones`` and
``/api/v1/profiles``; every change goes through the same CRUD functions, so the audit log shows
the same entries whichever way it was made.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from fleet.api.deps import SessionDep, SettingsDep
from fleet.core.config import Settings
from fleet.crud import registry as crud
from fleet.crud.errors import Conflict, NotFound
from fleet.crud.operators import Principal
from fleet.models import Profile, ProfileCreate, ProfileUpdate, ZoneCreate
from fleet.web.auth import UserDep, check_csrf, csrf_of, need_role
from fleet.web.common import clear_caches, translator
from fleet.web.forms import field_errors
from fleet.web.i18n import Translator
from fleet.web.render import PageError, page
from protocol.metrics import METRICS
from protocol.zones import MAX_FILE_BYTES, ZonesError, parse_zones

__all__ = ["ZONES_UPLOAD_LIMIT", "router"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
# the request body of an upload: the zones file's own bound plus the multipart frame
ZONES_UPLOAD_LIMIT = MAX_FILE_BYTES + 64 * 1024
_TEXT_FIELDS = ("name", "purpose", "legal_basis", "operator_name", "contact",
                "personal_data_processing", "retention")


# -- zones ------------------------------------------------------------------------------------

def outline_polygons(boundary: dict[str, Any] | None) -> int:
    if not boundary:
        return 0
    return 1 if boundary.get("type") == "Polygon" else len(boundary.get("coordinates") or [])


def _zones_page(
    request: Request,
    user: Principal,
    session: Session,
    settings: Settings,
    *,
    error: str | None = None,
    outcome: list[tuple[ZoneCreate, crud.ZoneAction]] | None = None,
    applied: bool = False,
) -> Response:
    return page(
        request,
        "zones.html",
        {
            "zones": crud.list_zones(session, limit=settings.page_max, offset=0),
            "polygons": outline_polygons,
            "can_import": user.at_least("operator"),
            "error": error,
            "outcome": outcome,
            "applied": applied,
        },
        title_key="zones_title",
        user=user,
        csrf=csrf_of(user),
        status=422 if error else 200,
    )


@router.get("/zones")
def zones(request: Request, user: UserDep, session: SessionDep, settings: SettingsDep) -> Response:
    return _zones_page(request, user, session, settings)


def checked_zones(t: Translator, data: bytes) -> list[ZoneCreate]:
    """The zones of an uploaded file, checked by protocol/zones.py then by the fleet's own
    model; a ValueError with one line saying what is wrong (the file is never echoed)."""
    if not data:
        raise ValueError(t("zones_no_file"))
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(t("zones_too_large", mib=MAX_FILE_BYTES // 2**20))
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValueError(t("zones_not_utf8")) from None
    except json.JSONDecodeError as exc:
        raise ValueError(t("zones_not_json", detail=f"{exc.msg}, line {exc.lineno}")) from None
    try:
        parsed = parse_zones(doc)
    except ZonesError as exc:
        raise ValueError(str(exc)) from None
    out = []
    for z in parsed:
        try:
            out.append(ZoneCreate.model_validate({
                "id": z.id, "name": z.name, "description": z.description, "lat": z.lat,
                "lon": z.lon, "boundary": z.boundary,
            }))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "value"
            raise ValueError(f"{z.id}: {where}: {first.get('msg', 'invalid')}") from None
    return out


@router.post("/zones/import")
def import_zones(
    request: Request,
    *,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    mode: Annotated[str, Form(max_length=10)] = "check",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Check a GeoJSON file and say what importing it does (``mode=check``), or import it
    (``mode=import``): all of it or, on any refusal, nothing."""
    check_csrf(user, csrf_token)
    need_role(user, "operator")  # as POST and PATCH /api/v1/zones
    t = translator(request)
    # the upload is spooled by the multipart parser; read no more than the bound
    data = b"" if file is None else file.file.read(MAX_FILE_BYTES + 1)
    apply = mode == "import"
    try:
        zones = checked_zones(t, data)
    except ValueError as exc:
        return _zones_page(request, user, session, settings,
                           error=t("zones_refused", detail=str(exc)))
    try:
        plan = crud.import_zones(session, zones=zones, actor=user.actor, apply=apply)
    except (Conflict, NotFound) as exc:  # a zone created or removed meanwhile
        session.rollback()
        return _zones_page(request, user, session, settings,
                           error=t("zones_refused", detail=exc.message))
    if apply:
        session.commit()
        clear_caches(request)
    else:
        session.rollback()
    return _zones_page(request, user, session, settings, outcome=plan, applied=apply)


# -- sensor profiles --------------------------------------------------------------------------

@router.get("/profiles")
def profiles(
    request: Request, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    saved = request.query_params.get("saved", "")
    t = translator(request)
    rows = crud.list_profiles(session, limit=settings.page_max, offset=0)
    return page(
        request,
        "profiles.html",
        {
            "profiles": rows,
            "metric_label": lambda key: (
                METRICS[key].label_fr if t.lang == "fr" else METRICS[key].label_en
            ) if key in METRICS else key,
            "can_edit": user.at_least("operator"),
            "flash": t("profile_saved_flash", id=saved)
            if saved and any(p.id == saved for p in rows) else None,
        },
        title_key="profiles_title",
        user=user,
        csrf=csrf_of(user),
    )


def _metric_choices(t: Translator) -> list[tuple[str, str]]:
    return [(k, m.label_fr if t.lang == "fr" else m.label_en) for k, m in METRICS.items()]


def _profile_form(
    request: Request,
    user: Principal,
    *,
    profile_id: str | None,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    t = translator(request)
    return page(
        request,
        "profile_form.html",
        {
            "profile_id": profile_id,
            "form": form,
            "errors": errors or {},
            "metrics": _metric_choices(t),
        },
        title_key="edit_profile_title" if profile_id else "new_profile_title",
        title_values={"id": profile_id} if profile_id else None,
        user=user,
        csrf=csrf_of(user),
        status=422 if errors else 200,
    )


_EMPTY_PROFILE: dict[str, Any] = {
    "id": "", "measures": [], "personal_data": False, **dict.fromkeys(_TEXT_FIELDS, "")
}


def _profile_or_404(session: Session, profile_id: str) -> Profile:
    profile = session.get(Profile, profile_id) if len(profile_id) <= 32 else None
    if profile is None:
        raise PageError(404, "error_not_found", "profile_not_found")
    return profile


@router.get("/profiles/new")
def new_profile_form(request: Request, user: UserDep) -> Response:
    need_role(user, "operator")
    return _profile_form(request, user, profile_id=None, form=dict(_EMPTY_PROFILE))


@router.get("/profiles/{profile_id}/edit")
def edit_profile_form(
    request: Request, profile_id: str, user: UserDep, session: SessionDep
) -> Response:
    need_role(user, "operator")
    profile = _profile_or_404(session, profile_id)
    return _profile_form(request, user, profile_id=profile.id, form=profile.model_dump())


# the form's fields: bounded here (the models bound them again, with messages)
TextField = Annotated[str, Form(max_length=4000)]


def _submitted(
    *, name: str, purpose: str, legal_basis: str, operator_name: str, contact: str,
    personal_data_processing: str, retention: str, measures: list[str], personal_data: str,
) -> dict[str, Any]:
    fields = {
        "name": name, "purpose": purpose, "legal_basis": legal_basis,
        "operator_name": operator_name, "contact": contact,
        "personal_data_processing": personal_data_processing, "retention": retention,
    }
    return {
        **{k: v.strip() for k, v in fields.items()},
        "measures": measures[:32],
        "personal_data": personal_data == "on",
    }


@router.post("/profiles/new")
def create_profile(
    request: Request,
    *,
    user: UserDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    id: Annotated[str, Form(max_length=100)] = "",
    name: TextField = "",
    purpose: TextField = "",
    legal_basis: TextField = "",
    operator_name: TextField = "",
    contact: TextField = "",
    personal_data_processing: TextField = "",
    retention: TextField = "",
    measures: Annotated[list[str] | None, Form()] = None,
    personal_data: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Create a profile (as POST /api/v1/profiles); a refused field is shown, nothing saved."""
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    t = translator(request)
    form = {"id": id.strip(), **_submitted(
        name=name, purpose=purpose, legal_basis=legal_basis, operator_name=operator_name,
        contact=contact, personal_data_processing=personal_data_processing, retention=retention,
        measures=measures or [], personal_data=personal_data,
    )}
    try:
        data = ProfileCreate.model_validate(form)
        crud.create_profile(session, data=data, actor=user.actor)
    except ValidationError as exc:
        return _profile_form(request, user, profile_id=None, form=form,
                             errors=field_errors(t, exc))
    except Conflict:
        session.rollback()
        return _profile_form(request, user, profile_id=None, form=form,
                             errors={"id": t("err_exists")})
    session.commit()
    return RedirectResponse(f"/dashboard/profiles?saved={data.id}", status_code=303)


@router.post("/profiles/{profile_id}/edit")
def update_profile(
    request: Request,
    profile_id: str,
    *,
    user: UserDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    name: TextField = "",
    purpose: TextField = "",
    legal_basis: TextField = "",
    operator_name: TextField = "",
    contact: TextField = "",
    personal_data_processing: TextField = "",
    retention: TextField = "",
    measures: Annotated[list[str] | None, Form()] = None,
    personal_data: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Change a profile's fields (as PATCH /api/v1/profiles/{id}, every field given)."""
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    profile = _profile_or_404(session, profile_id)
    t = translator(request)
    form = _submitted(
        name=name, purpose=purpose, legal_basis=legal_basis, operator_name=operator_name,
        contact=contact, personal_data_processing=personal_data_processing, retention=retention,
        measures=measures or [], personal_data=personal_data,
    )
    try:
        data = ProfileUpdate.model_validate(form)
    except ValidationError as exc:
        return _profile_form(request, user, profile_id=profile.id, form=form,
                             errors=field_errors(t, exc))
    crud.update_profile(session, profile_id=profile.id, data=data, actor=user.actor)
    session.commit()
    clear_caches(request)
    return RedirectResponse(f"/dashboard/profiles?saved={profile.id}", status_code=303)
