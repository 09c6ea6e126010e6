"""A register entry's own page, where a resident asks a question about the sensor or reports a
problem (no account), and the operators' questions page (answer, publish, dismiss; audited).

The public form is protected like the login form: a hidden token equal to a cookie this site
set (double submit, SameSite=Strict), since there is no session; a hidden honeypot field that
people leave empty; and a per-address rate limit (fleet.crud.questions). Bad input re-shows the
form with the text kept and the reason; nothing is stored until every check passed.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from fleet.api.client_address import client_address
from fleet.api.deps import BoxDep, SessionDep, SettingsDep
from fleet.core.config import Settings
from fleet.core.crypto import SecretBox
from fleet.crud import questions
from fleet.crud.errors import CrudError
from fleet.crud.register import node_of_pseudonym, register_keys, register_view
from fleet.models import Node, RegisterEntry
from fleet.models.questions import ANSWER_MAX_CHARS, QUESTION_MAX_CHARS
from fleet.web.auth import UserDep, check_csrf, check_login_csrf, csrf_of, need_role, new_login_csrf
from fleet.web.common import translator
from fleet.web.render import PageError, page
from protocol.metrics import METRICS

router = APIRouter(include_in_schema=False)
log = logging.getLogger("fleet.questions")

FORM_COOKIE = "territoire_form_csrf"
_PSEUDONYM = re.compile(r"^p-[0-9a-f]{20}$")
_FORM_TTL_S = 86400
_STATUSES = {
    "open": ("new", "answered"),
    "published": ("published",),
    "dismissed": ("dismissed",),
}


def _refusals(request: Request) -> Counter[str]:
    """Refused submissions by reason, for the operators' page (this process only)."""
    state = request.app.state
    if not hasattr(state, "question_refusals"):
        state.question_refusals = Counter()
    counter: Counter[str] = state.question_refusals
    return counter


def _resolve(
    session: Session, settings: Settings, box: SecretBox, pseudonym: str
) -> tuple[Node, RegisterEntry]:
    if not _PSEUDONYM.match(pseudonym):
        raise PageError(404, "error_not_found", "qa_unknown_pseudonym")
    now = datetime.now(UTC).timestamp()
    keys = register_keys(session, settings, box, now=now)
    node_id = node_of_pseudonym(list(session.exec(select(Node.id))), keys, pseudonym)
    node = session.get(Node, node_id) if node_id is not None else None
    if node is None:
        raise PageError(404, "error_not_found", "qa_unknown_pseudonym")
    view = register_view(
        session,
        keys=keys,
        now=int(now),
        offline_after_s=settings.node_offline_after_s,
        limit=1,
        offset=0,
        zone_id=node.zone_id,
        lookup=pseudonym,
    )
    if not view.entries:
        raise PageError(404, "error_not_found", "qa_unknown_pseudonym")
    return node, view.entries[0]


def _entry_page(
    request: Request,
    session: Session,
    node: Node,
    entry: RegisterEntry,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    secure: bool,
) -> Response:
    t = translator(request)
    lang = t.lang
    token = request.cookies.get(FORM_COOKIE) or new_login_csrf()
    answers = questions.published(
        session, limit=50, offset=0, zone_id=node.zone_id, profile_id=node.profile_id
    )
    response = page(
        request,
        "register_entry.html",
        {
            "e": entry,
            "answers": answers,
            "form": form or {"kind": "question", "text": "", "name": "", "email": ""},
            "error": error,
            "form_csrf": token,
            "max_chars": QUESTION_MAX_CHARS,
            "flash": t("qa_thanks") if request.query_params.get("asked") else None,
            "metric_labels": lambda keys: ", ".join(
                (METRICS[k].label_fr if lang == "fr" else METRICS[k].label_en)
                if k in METRICS
                else k
                for k in keys
            ),
        },
        title_key="qa_entry_title",
        title_values={"id": entry.id},
        status=status,
        headers={"Cache-Control": "no-store"},
    )
    response.set_cookie(
        FORM_COOKIE,
        token,
        max_age=_FORM_TTL_S,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/register",
    )
    return response


@router.get("/register/{pseudonym}")
def register_entry(
    pseudonym: str, request: Request, session: SessionDep, settings: SettingsDep, box: BoxDep
) -> Response:
    node, entry = _resolve(session, settings, box, pseudonym)
    return _entry_page(request, session, node, entry, secure=settings.secure_cookies)


@router.post("/register/{pseudonym}/questions")
def ask_question(
    pseudonym: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    box: BoxDep,
    *,
    kind: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    website: Annotated[str, Form()] = "",  # the honeypot: hidden from people
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    node, entry = _resolve(session, settings, box, pseudonym)
    t = translator(request)
    # kept to show again (bounded: an oversized text is refused below, shown cut)
    form = {
        "kind": kind[:16],
        "text": text[: 2 * QUESTION_MAX_CHARS],
        "name": name[:200],
        "email": email[:300],
    }

    def again(reason: str, status: int, **values: Any) -> Response:
        _refusals(request)[reason] += 1
        log.info("question refused: %s", reason)
        return _entry_page(
            request,
            session,
            node,
            entry,
            form=form,
            status=status,
            error=t(f"qa_err_{reason}", **values),
            secure=settings.secure_cookies,
        )

    if not check_login_csrf(request, csrf_token, FORM_COOKIE):
        return again("expired", 403)
    thanks = RedirectResponse(f"/register/{pseudonym}?asked=1#qa-form", status_code=303)
    if website:
        _refusals(request)["honeypot"] += 1
        log.info("question refused: honeypot")
        return thanks  # a robot learns nothing
    result = questions.ask(
        session,
        node=node,
        pseudonym=pseudonym,
        kind=kind,
        text=text,
        name=name,
        email=email,
        address=client_address(request, settings.trusted_proxies),
        limits=questions.question_limits(
            settings.questions_window_s, settings.login_throttle_rows_max
        ),
        per_address=settings.questions_per_address_max,
        now=datetime.now(UTC),
    )
    if isinstance(result, questions.Refused):
        if result.reason == "rate_limited":
            response = again("rate_limited", 429, minutes=max(1, -(-result.retry_after // 60)))
            response.headers["Retry-After"] = str(result.retry_after)
            return response
        return again(result.reason, 400, max=QUESTION_MAX_CHARS)
    session.commit()
    return thanks


# operators' page


def _question_rows(session: Session, status: str) -> list[dict[str, Any]]:
    rows = questions.list_questions(session, statuses=_STATUSES[status], limit=200, offset=0)
    return [{"q": q} for q in rows]


@router.get("/dashboard/questions")
def questions_page(request: Request, user: UserDep, session: SessionDep) -> Response:
    need_role(user, "operator")  # residents' names and addresses: not for viewers
    t = translator(request)
    status = request.query_params.get("status", "open")
    if status not in _STATUSES:
        raise PageError(400, "error_bad_request", "invalid_value", field="status")
    done = request.query_params.get("done")
    refused = _refusals(request)
    return page(
        request,
        "questions.html",
        {
            "rows": _question_rows(session, status),
            "status": status,
            "statuses": list(_STATUSES),
            "answer_max": ANSWER_MAX_CHARS,
            "flash": t(f"qa_dash_{done}") if done in ("saved", "published", "dismissed") else None,
            "refused": ", ".join(f"{k} {v}" for k, v in sorted(refused.items())),
        },
        title_key="qa_dash_title",
        user=user,
        csrf=csrf_of(user),
    )


def _qid(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,12}", text):
        raise PageError(404, "error_not_found", "invalid_value", field="question")
    return int(text)


def _done(request: Request, what: str) -> Response:
    return RedirectResponse(f"/dashboard/questions?done={what}", status_code=303)


@router.post("/dashboard/questions/{question_id}/answer")
def answer_question(
    question_id: str,
    request: Request,
    user: UserDep,
    session: SessionDep,
    answer: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "save",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    try:
        questions.save_answer(
            session,
            question_id=_qid(question_id),
            answer=answer,
            publish=action == "publish",
            actor=user.actor,
        )
    except CrudError as exc:
        session.rollback()
        raise PageError(400, "error_bad_request", "qa_dash_error", detail=str(exc)) from None
    session.commit()
    return _done(request, "published" if action == "publish" else "saved")


@router.post("/dashboard/questions/{question_id}/dismiss")
def dismiss_question(
    question_id: str,
    request: Request,
    user: UserDep,
    session: SessionDep,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(user, csrf_token)
    need_role(user, "operator")
    try:
        questions.dismiss(session, question_id=_qid(question_id), actor=user.actor)
    except CrudError as exc:
        session.rollback()
        raise PageError(400, "error_bad_request", "qa_dash_error", detail=str(exc)) from None
    session.commit()
    return _done(request, "dismissed")
