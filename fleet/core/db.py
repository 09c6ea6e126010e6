"""Database engines: SQLite in WAL mode by default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

__all__ = ["autocommit", "dialect_of", "make_engine", "normalise_url"]


def normalise_url(url: str) -> str:
    """Accept the usual spellings and pick the psycopg 3 driver for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def dialect_of(url: str) -> str:
    return make_url(normalise_url(url)).get_backend_name()


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # WAL: readers never block the writer; NORMAL is durable at each checkpoint in WAL mode
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    return on_connect


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, sqlite_busy_timeout_ms: int = 10_000
) -> Engine:
    url = normalise_url(url)
    if dialect_of(url) == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_busy_timeout_ms))
        return engine
    # no pre-ping: it costs a round trip per request; a connection dropped by a server restart
    # fails one request, after which SQLAlchemy invalidates the whole pool
    return create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800)


def autocommit(engine: Engine) -> Engine:
    """The same pool without transactions: one round trip for a single read, no BEGIN/ROLLBACK."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")
