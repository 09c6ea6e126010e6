"""Administration entry points for the CLI: the first admin account (there is no default one)."""

from __future__ import annotations

from sqlmodel import Session

from fleet.core.db import DatabaseError, check_database_url, has_schema, make_engine
from fleet.crud.operators import create_operator
from fleet.models import OperatorCreate, OperatorPublic

__all__ = ["create_admin"]


def create_admin(
    *, database_url: str, email: str, password: str, full_name: str = ""
) -> OperatorPublic:
    """Create an admin operator in a migrated database. Raises on a duplicate email
    (fleet.crud.errors.Conflict), a weak password (pydantic.ValidationError), or a database
    that is not the fleet's (DatabaseError): then nothing is created, not even a file."""
    data = OperatorCreate.model_validate(
        {"email": email, "password": password, "full_name": full_name, "role": "admin"}
    )
    check_database_url(database_url, must_exist=True)
    engine = make_engine(database_url)
    try:
        if not has_schema(engine):
            raise DatabaseError("the database has no fleet tables: start `territoire fleet "
                                "serve` on it once (it migrates), then create the admin")
        with Session(engine, expire_on_commit=False) as session:
            op = create_operator(session, data=data, actor="cli")
            session.commit()
            return OperatorPublic.model_validate(op, from_attributes=True)
    finally:
        engine.dispose()
