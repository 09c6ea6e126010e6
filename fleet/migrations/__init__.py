"""Alembic migrations of the fleet database, runnable from code (no alembic.ini needed).

``upgrade(url)`` brings a database to the latest schema, ``downgrade(url, "base")`` empties it.
On PostgreSQL an advisory lock makes concurrent starts (several workers, several hosts) safe.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from fleet.core.db import make_engine, normalise_url

__all__ = [
    "DATABASE_ONLY_INDEXES",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "include_object",
    "upgrade",
]

# made by migrations for PostgreSQL only, not declared on the models (expression, extension)
DATABASE_ONLY_INDEXES = frozenset({"ix_node_search"})


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate and schema comparison skip the database-only indexes."""
    return not (type_ == "index" and name in DATABASE_ONLY_INDEXES)


HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    # "%" is ConfigParser's interpolation character: escape it in passwords
    cfg.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
