"""Administration entry points for the CLI: the first admin account (there is no default one)."""

from __future__ import annotations

from sqlmodel import Session

from fleet.core.db import make_engine
from fleet.crud.operators import create_operator
from fleet.models import OperatorCreate, OperatorPublic

__all__ = ["create_admin"]


def create_admin(
    *, database_url: str, email: str, password: str, full_name: str = ""
) -> OperatorPublic:
    """Create an admin operator (migrate the database first). Raises on a duplicate email
    (fleet.crud.errors.Conflict) or a weak password (pydantic.ValidationError)."""
    data = OperatorCreate.model_validate(
        {"email": email, "password": password, "full_name": full_name, "role": "admin"}
    )
    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            op = create_operator(session, data=data, actor="cli")
            session.commit()
            return OperatorPublic.model_validate(op, from_attributes=True)
    finally:
        engine.dispose()
