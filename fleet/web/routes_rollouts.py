"""Dashboard pages of updates: releases, release keys (admins register and revoke them) and
rollouts, one rollout's progress per group and per node, and the operator's pause / resume /
abort buttons (forms with the CSRF token). Abort, being final, has a confirmation page of its
own: a server-rendered step that works without script, like revoking a device."""

from __future__ import annotations

import re
import time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from fleet.api.deps import SessionDep, SettingsDep
from fleet.core.config import Settings
from fleet.crud import rollouts as crud
from fleet.crud.audit import list_events
from fleet.crud.errors import Conflict, Invalid, NotFound
from fleet.crud.operators import Principal
from fleet.crud.releases import add_key, list_keys, list_releases, revoke_key
from fleet.crud.rollout_views import rollout_detail, rollout_public
from fleet.web.auth import UserDep, check_csrf, csrf_of, need_role
from fleet.web.common import translator
from fleet.web.device_view import actor_names
from fleet.web.render import PageError, page

__all__ = ["router"]

router = APIRouter(prefix="/dashboard", include_in_schema=False)
_ID = re.compile(r"^[0-9]{1,9}$")
_KID = re.compile(r"^[0-9a-f]{16}$")
ACTIONS = ("pause", "resume", "abort")


def _evaluate(session: Session, settings: Settings, rollout_id: str) -> crud.Evaluation:
    if not _ID.match(rollout_id):
        raise PageError(404, "error_not_found", "rollout_not_found", id=rollout_id[:12])
    try:
        return crud.evaluate(
            session,
            crud.get_rollout(session, int(rollout_id)),
            now=int(time.time()),
            tz=ZoneInfo(settings.ota_window_timezone),
            trial_grace_s=settings.ota_trial_grace_s,
        )
    except NotFound:
        raise PageError(404, "error_not_found", "rollout_not_found", id=rollout_id) from None


def live_values(request: Request, session: Session, rollout_id: str) -> dict[str, str]:
    """The rollout page's live values (``data-live`` names), for ``/dashboard/events``."""
    settings: Settings = request.app.state.settings
    t = translator(request)
    try:
        d = rollout_detail(
            _evaluate(session, settings, rollout_id), max_nodes=settings.rollout_nodes_max
        )
    except PageError:
        return {}
    session.commit()
    values = {
        "ro:state": "ro_" + d.status,
        "ro:status": t("state_ro_" + d.status),
        "ro:offered": str(d.targets_now),
    }
    for g in d.groups:
        key = f"ro:g{g.index + 1}"
        values[f"{key}:open"] = t("group_open") if g.open else t("group_waiting")
        for name in ("confirmed", "trial", "in_progress", "failed", "pending"):
            values[f"{key}:{name}"] = str(getattr(g, name))
    for n in d.nodes:
        key = f"ro:n:{n.node_id}"
        values[f"{key}:state"] = "out_" + n.outcome
        values[f"{key}:text"] = t("state_out_" + n.outcome)
        values[f"{key}:running"] = n.running or "—"
        values[f"{key}:status"] = t("st_" + n.status) if n.status else "—"
    return values


@router.get("/rollouts")
def rollouts(
    request: Request, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    done = request.query_params.get("key")
    return _rollouts_page(
        request,
        user,
        session,
        settings,
        flash_key={"added": "key_added_flash", "revoked": "key_revoked_flash"}.get(done or ""),
    )


def _rollouts_page(
    request: Request,
    user: Principal,
    session: Session,
    settings: Settings,
    *,
    flash_key: str | None = None,
    key_error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    t = translator(request)
    limit = settings.page_default
    rows = [
        rollout_public(_evaluate(session, settings, str(r.id)))
        for r in crud.list_rollouts(session, limit=limit)
    ]
    session.commit()
    return page(
        request,
        "rollouts.html",
        {
            "rollouts": rows,
            "releases": list_releases(session, limit=limit),
            "keys": list_keys(session),
            "can_manage_keys": user.at_least("admin"),
            "key_error": key_error,
            "form": form or {"name": "", "pem": ""},
            "flash": t(flash_key) if flash_key else None,
        },
        title_key="rollouts_title",
        user=user,
        csrf=csrf_of(user),
        status=422 if key_error else 200,
    )


@router.post("/release-keys")
def add_release_key(
    request: Request,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    pem: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """An admin registers a release public key (as POST /api/v1/release-keys)."""
    check_csrf(user, csrf_token)
    need_role(user, "admin")
    t = translator(request)
    error = None if name.strip() else t("key_name_needed")
    if error is None:
        try:
            add_key(
                session,
                name=name.strip(),
                pem=pem,
                actor=user.actor,
                max_keys=settings.release_keys_max,
            )
        except (Invalid, Conflict) as exc:  # the message says what is wrong with the key
            session.rollback()
            error = t("key_refused", detail=exc.message)
    if error is not None:
        return _rollouts_page(
            request, user, session, settings, key_error=error, form={"name": name, "pem": pem}
        )
    session.commit()
    return RedirectResponse("/dashboard/rollouts?key=added", status_code=303)


@router.post("/release-keys/{kid}/revoke")
def revoke_release_key(
    kid: str,
    user: UserDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(user, csrf_token)
    need_role(user, "admin")
    if not _KID.match(kid):
        raise PageError(404, "error_not_found", "release_key_not_found")
    try:
        revoke_key(session, kid=kid, actor=user.actor)
    except NotFound:
        raise PageError(404, "error_not_found", "release_key_not_found") from None
    except Conflict:
        return RedirectResponse("/dashboard/rollouts", status_code=303)
    session.commit()
    return RedirectResponse("/dashboard/rollouts?key=revoked", status_code=303)


def _aborted(session: Session, rollout_id: int) -> dict[str, object] | None:
    """When and by whom the rollout was aborted, from its audit trail."""
    events = list_events(session, limit=50, entity_type="rollout", entity_id=str(rollout_id))
    event = next((e for e in events if e.action == "rollout.abort"), None)
    if event is None:
        return None
    return {"at": event.at, "by": actor_names(session, [event])(event.actor)}


@router.get("/rollouts/{rollout_id}")
def rollout(
    request: Request, rollout_id: str, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    detail = rollout_detail(
        _evaluate(session, settings, rollout_id), max_nodes=settings.rollout_nodes_max
    )
    session.commit()
    t = translator(request)
    done = request.query_params.get("done")
    return page(
        request,
        "rollout.html",
        {
            "r": detail,
            "can_act": user.at_least("operator"),
            "actions": [a for a in ACTIONS if _allowed(a, detail.status)],
            "flash": t("rollout_done_" + done) if done in ACTIONS else None,
            "live_url": f"/dashboard/events?rollout={detail.id}",
            "aborted": _aborted(session, detail.id) if detail.status == "aborted" else None,
        },
        title_key="rollout_title",
        title_values={"id": detail.id},
        user=user,
        csrf=csrf_of(user),
    )


@router.get("/rollouts/{rollout_id}/abort")
def abort_form(
    request: Request, rollout_id: str, user: UserDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """Ask before aborting: what it does, where the rollout stands, then the final button."""
    need_role(user, "operator")
    r = rollout_public(_evaluate(session, settings, rollout_id))
    session.commit()
    if not _allowed("abort", r.status):  # already aborted or completed: nothing to confirm
        return RedirectResponse(f"/dashboard/rollouts/{r.id}", status_code=303)
    return page(
        request,
        "rollout_abort.html",
        {
            "r": r,
            "confirmed": sum(g.confirmed for g in r.groups),
            "busy": sum(g.in_progress + g.trial for g in r.groups),
            "failed": sum(g.failed for g in r.groups),
        },
        title_key="abort_title",
        title_values={"id": r.id},
        user=user,
        csrf=csrf_of(user),
    )


def _allowed(action: str, status: str) -> bool:
    return (
        status in {"pause": ("running",), "resume": ("paused",), "abort": crud.UNFINISHED}[action]
    )


@router.post("/rollouts/{rollout_id}/{action}")
def act(
    rollout_id: str,
    action: str,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    confirm: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    if action not in ACTIONS:
        raise PageError(404, "error_not_found", "rollout_not_found", id=rollout_id[:12])
    ev = _evaluate(session, settings, rollout_id)
    if action == "abort" and confirm != "abort":  # only the confirmation page's form aborts
        return RedirectResponse(f"/dashboard/rollouts/{ev.rollout.id}/abort", status_code=303)
    try:
        crud.operator_action(session, evaluation=ev, action=action, actor=user.actor)
    except Conflict:
        raise PageError(
            409, "rollout_conflict_title", "rollout_conflict", action_key="action_" + action
        ) from None
    session.commit()
    return RedirectResponse(f"/dashboard/rollouts/{rollout_id}?done={action}", status_code=303)
