"""A tiny HTTP listener (read-only, GET only, bounded requests); the gateway runs two: the
operator's (/health, /metrics) and the public one (/health, /opendata/*).

A full web framework is not needed for a few read-only pages on a Raspberry Pi; this keeps the
gateway's dependency set small. Requests with more headers than ``http.max_header_bytes``
(gateway/config.py) are refused; what each page says is gateway/endpoints.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from gateway.config import HttpSettings

__all__ = ["Handler", "serve_forever", "serve_http"]

Handler = Callable[[], Awaitable[tuple[int, str, str]]]  # -> (status, content type, body)

_REASONS = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    400: "Bad Request",
    503: "Service Unavailable",
    431: "Request Header Fields Too Large",
}


async def _respond(writer: asyncio.StreamWriter, status: int, ctype: str, body: str) -> None:
    data = body.encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + data)
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def serve_http(
    settings: HttpSettings, routes: dict[str, Handler], host: str = "", port: int = 0
) -> asyncio.Server:
    """Listen on ``host:port`` (default ``settings.host:port``) and answer ``routes`` only (an
    OSError when the port is taken: before anything else starts)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"),
                                              settings.read_timeout_s)
            except asyncio.LimitOverrunError:
                await _respond(writer, 431, "text/plain", "headers too large\n")
                return
            except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                return
            parts = head.split(b"\r\n", 1)[0].split(b" ")
            if len(parts) != 3:
                await _respond(writer, 400, "text/plain", "bad request line\n")
                return
            method, target = parts[0], parts[1].decode("latin-1").split("?", 1)[0]
            if method not in (b"GET", b"HEAD"):
                await _respond(writer, 405, "text/plain", "GET only\n")
                return
            route = routes.get(target)
            if route is None:
                await _respond(writer, 404, "text/plain",
                               "not found: try " + " or ".join(sorted(routes)) + "\n")
                return
            status, ctype, body = await route()
            await _respond(writer, status, ctype, body)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host or settings.host, port or settings.port,
                                      limit=settings.max_header_bytes)


async def serve_forever(server: asyncio.Server) -> None:
    """The HTTP task: serves until cancelled, then closes the listener."""
    try:
        await server.serve_forever()
    finally:
        server.close()
