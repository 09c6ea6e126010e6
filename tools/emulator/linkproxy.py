"""A TCP proxy that plays a node's Wi-Fi link: cut it and every connection drops at once.

One proxy per emulated node, in front of the real broker. The node's firmware connects to
``proxy.port``; ``set_up(False)`` resets every proxied connection on both sides (the node sees
ECONNRESET or end of stream, the broker an unclean disconnect, so it publishes the node's will)
and refuses new connections (accepted, then reset) until ``set_up(True)``. The proxy runs an
asyncio loop in a background thread; its methods are called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LinkProxy"]

_T = TypeVar("_T")
_CHUNK = 65536
_CALL_TIMEOUT_S = 10.0


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN: the connection is lost, not ended."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class LinkProxy:
    """Forward 127.0.0.1:``port`` to ``target_host``:``target_port`` while the link is up."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self._up = True
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"linkproxy[{target_port}]", daemon=True
        )
        self._thread.start()
        self._server = self._call(
            asyncio.start_server(self._serve, "127.0.0.1", 0, reuse_address=True)
        )
        self.port: int = self._server.sockets[0].getsockname()[1]
        self._closed = False

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CALL_TIMEOUT_S)

    @property
    def up(self) -> bool:
        return self._up

    @property
    def connections(self) -> int:
        """How many connections are proxied right now."""
        return len(self._conns)

    def set_up(self, up: bool) -> None:
        """Bring the link up or down; when this returns, a downed link has no connection left."""
        self._call(self._set_up(up))

    async def _set_up(self, up: bool) -> None:
        self._up = up
        if not up:
            for node_side, broker_side in list(self._conns):
                _reset(node_side)
                _reset(broker_side)
            self._conns.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _reset(writer)  # broker unreachable: as a refused connection would be
            return
        if not self._up:  # the link dropped while connecting upstream
            _reset(writer)
            _reset(up_writer)
            return
        conn = (writer, up_writer)
        self._conns.add(conn)
        try:
            await asyncio.gather(
                self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
            )
        finally:
            self._conns.discard(conn)
            for w in conn:
                w.close()

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(_CHUNK):
                dst.write(data)
                await dst.drain()
        finally:
            # one side ended: MQTT has no half-closed state, end the other side too
            dst.close()

    def close(self) -> None:
        """Drop every connection, stop listening and stop the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CALL_TIMEOUT_S)
        self._loop.close()

    async def _shutdown(self) -> None:
        await self._set_up(False)
        self._server.close()
        await self._server.wait_closed()
        # let the pumps see their sockets closed and finish
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    def __enter__(self) -> LinkProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
