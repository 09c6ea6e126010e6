"""The gateway's store and the one thread that touches it.

SQLite's fsync must never stall the event loop (the MQTT keepalive, the intake), so every store
call of the running gateway goes through this thread; with one thread, calls land in the order
they were submitted (a batch's commit before the next one's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from gateway.store import Store

__all__ = ["StoreThread"]

T = TypeVar("T")


class StoreThread:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gateway-db")

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Start ``fn(*args)`` in the store thread; await the future for its result."""
        return asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def run(self, fn: Callable[[], T]) -> T:
        return await self.submit(fn)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.store.close()
