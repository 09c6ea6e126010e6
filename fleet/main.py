"""``territoire fleet serve``: run the service under uvicorn with one or more workers."""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from fleet.app import create_app
from fleet.core.config import Settings
from fleet.core.db import DatabaseUnavailable, check_database_url, first_line, shown_url
from fleet.migrations import upgrade

__all__ = ["app_from_environment", "serve"]


def app_from_environment() -> FastAPI:
    """The uvicorn factory each worker calls: settings from TERRITOIRE_FLEET_* variables."""
    return create_app(Settings())


def serve(host: str, port: int, database_url: str, workers: int = 1) -> None:
    """Migrate once, then serve. Settings other than the URL come from the environment.

    Raises ConfigError (master key), DatabaseError (a URL that cannot be used or opened)
    before anything listens."""
    check_database_url(database_url)
    os.environ["TERRITOIRE_FLEET_DATABASE_URL"] = database_url
    settings = Settings()  # fails here, before any worker starts, on a missing master key
    settings.master_key_bytes()
    try:
        upgrade(database_url)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"cannot open the database {shown_url(database_url)}: "
                            f"{first_line(exc)}") from None
    # workers inherit the environment: the schema is up to date, they need not migrate
    os.environ["TERRITOIRE_FLEET_MIGRATE_ON_START"] = "false"
    uvicorn.run(
        "fleet.main:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
    )
