"""Database engines: SQLite in WAL mode by default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import create_engine

__all__ = [
    "DatabaseError",
    "DatabaseUnavailable",
    "autocommit",
    "check_database_url",
    "dialect_of",
    "first_line",
    "has_schema",
    "make_engine",
    "normalise_url",
    "shown_url",
    "sqlite_path",
]

SUPPORTED = ("sqlite", "postgresql")


class DatabaseError(ValueError):
    """The database URL cannot be used: unsupported, a path that cannot be opened, no schema."""


class DatabaseUnavailable(DatabaseError):
    """The database was named right but could not be opened (permissions, server down)."""


def normalise_url(url: str) -> str:
    """Accept the usual spellings and pick the psycopg 3 driver for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def dialect_of(url: str) -> str:
    return make_url(normalise_url(url)).get_backend_name()


def shown_url(url: str) -> str:
    """The URL as it may be printed: never its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url[:60]


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for an in-memory database or another dialect."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_database_url(url: str, *, must_exist: bool = False) -> None:
    """DatabaseError unless ``url`` names a database this service can open: SQLite or
    PostgreSQL; for SQLite, a file in an existing directory (and the file itself with
    ``must_exist``: a command that only adds rows must not leave an empty database behind)."""
    try:
        dialect = dialect_of(url)
    except ArgumentError:
        raise DatabaseError(f"{shown_url(url)!r} is not a database URL: use "
                            "sqlite:///PATH or postgresql://USER@HOST/DB") from None
    if dialect not in SUPPORTED:
        raise DatabaseError(f"{dialect} is not supported: use sqlite:///PATH or "
                            "postgresql://USER@HOST/DB")
    path = sqlite_path(url)
    if path is None:
        return
    if must_exist and not path.is_file():
        raise DatabaseError(f"no fleet database at {path.absolute()}: run this where "
                            "`territoire fleet serve` runs, or give --database-url")
    if not path.absolute().parent.is_dir():
        raise DatabaseError(f"cannot open {path}: the directory {path.absolute().parent} "
                            "does not exist")
    if path.exists() and not path.is_file():
        raise DatabaseError(f"cannot open {path}: it is not a file")


def has_schema(engine: Engine) -> bool:
    """The fleet's tables are there (``territoire fleet serve`` migrated this database)."""
    try:
        return inspect(engine).has_table("operator")
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"cannot open the database: {first_line(exc)}") from None


def first_line(exc: SQLAlchemyError) -> str:
    """The driver's own message, without SQLAlchemy's SQL echo and background link."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


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
