"""Soft-state cache of gateway identities (keys, status, sync position) for signed calls.

An idle sync must cost about as much as a bare request, so it should not touch the database.
This worker's own changes evict their gateways at commit (exact). Changes made by other
workers or processes are picked up by ``refresh``, one small query run every
``gateway_cache_refresh_s``: that interval bounds how stale another worker can be.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Session as OrmSession

from fleet.crud.sync import GATEWAY_TABLE, TOUCHED_KEY, GatewayIdentity, load_identity

__all__ = ["IdentityCache"]

_CACHE = "territoire.identity_cache"


class IdentityCache:
    def __init__(self) -> None:
        self._map: dict[str, GatewayIdentity] = {}
        # bumped at each eviction: a load that raced with a commit is not remembered
        self._generation: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, conn_factory: Any, gateway_id: str) -> GatewayIdentity | None:
        """The identity from memory, else from the database (then remembered)."""
        found = self._map.get(gateway_id)
        if found is not None:
            return found
        generation = self._generation.get(gateway_id, 0)
        with conn_factory() as conn:
            found = load_identity(conn, gateway_id=gateway_id)
        if found is not None:
            with self._lock:
                if self._generation.get(gateway_id, 0) == generation:
                    self._map[gateway_id] = found
        return found

    def forget(self, gateway_ids: Iterable[str]) -> None:
        with self._lock:
            for gw in gateway_ids:
                self._map.pop(gw, None)
                self._generation[gw] = self._generation.get(gw, 0) + 1

    def clear(self) -> None:
        with self._lock:
            for gw in self._map:
                self._generation[gw] = self._generation.get(gw, 0) + 1
            self._map.clear()

    def refresh(self, conn: Connection) -> None:
        """Evict every cached gateway whose status or sync position changed elsewhere."""
        t = GATEWAY_TABLE
        query = t.select().with_only_columns(
            t.c.id, t.c.status, t.c.sync_seq, t.c.ed25519_public_key
        )
        current = {row[0]: (row[1], row[2], row[3]) for row in conn.execute(query)}
        with self._lock:
            for gw_id, ident in list(self._map.items()):
                if current.get(gw_id) != (ident.status, ident.sync_seq, ident.ed25519_public_key):
                    del self._map[gw_id]
                    self._generation[gw_id] = self._generation.get(gw_id, 0) + 1

    def attach(self, session: OrmSession) -> None:
        """Let this session's commits evict the gateways it changed."""
        session.info[_CACHE] = self


@event.listens_for(OrmSession, "after_commit")
def _evict_after_commit(session: OrmSession) -> None:
    touched = session.info.pop(TOUCHED_KEY, None)
    cache = session.info.get(_CACHE)
    if touched and isinstance(cache, IdentityCache):
        cache.forget(touched)


@event.listens_for(OrmSession, "after_soft_rollback")
def _drop_after_rollback(session: OrmSession, _previous: Any) -> None:
    session.info.pop(TOUCHED_KEY, None)
