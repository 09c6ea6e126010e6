"""Request body limits, enforced while the body streams in (Content-Length is not trusted);
and gzip for public responses."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware", "PublicGZipMiddleware"]

_TOO_LARGE = b'{"detail":"request body too large"}'


class BodyLimitMiddleware:
    """413 for a body over the limit: ``default`` everywhere, ``per_path`` where named."""

    def __init__(self, app: ASGIApp, *, default: int, per_path: dict[str, int]) -> None:
        self.app = app
        self.default = default
        self.per_path = per_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    await _refuse(send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # an HTTPException passes FastAPI's body reader and its handler answers
                    raise HTTPException(413, "request body too large")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as exc:
            if exc.status_code != 413 or started:
                raise
            if not started:
                await _refuse(send)


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_TOO_LARGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE})


class PublicGZipMiddleware:
    """gzip for what anyone may read (public pages, static files, the public API) when the
    client accepts it and the body is at least ``minimum_size`` bytes; never for the dashboard
    and the operators' API, whose pages carry a CSRF token beside text a visitor can put in the
    page (a search): compressing both lets an attacker guess the token from response sizes
    (BREACH)."""

    _PRIVATE = ("/dashboard", "/api/")
    _PUBLIC_API = "/api/v1/public"

    def __init__(self, app: ASGIApp, minimum_size: int = 500) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        private = path.startswith(self._PRIVATE) and not path.startswith(self._PUBLIC_API)
        if scope["type"] != "http" or private:
            await self.app(scope, receive, send)
        else:
            await self.gzip(scope, receive, send)
