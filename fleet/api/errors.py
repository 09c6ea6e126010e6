"""Every error leaves as JSON ``{"detail": ...}``: clear message, no stack trace, no input echo."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fleet.crud.errors import Conflict, CrudError, Invalid, NotFound, Refused

__all__ = ["install_error_handlers"]

log = logging.getLogger("fleet.api")

_CRUD_STATUS: dict[type[CrudError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Refused: 403,
}


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # the submitted values are not echoed back: they may hold a password or a code
    errors = [
        {
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)


async def _crud_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CrudError)
    status = next((s for t, s in _CRUD_STATUS.items() if isinstance(exc, t)), 400)
    body = {"detail": exc.message}
    if exc.reason is not None:
        body["reason"] = exc.reason
    return JSONResponse(body, status_code=status)


async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
    # the database refused a value the schema let through (e.g. a NUL character in text)
    return JSONResponse({"detail": "a value in the request cannot be stored"}, status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled %s on %s %s",
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(CrudError, _crud_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
