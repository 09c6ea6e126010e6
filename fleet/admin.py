"""Administration entry points for the CLI: the first admin account (there is no default one),
and lifting an account's login lock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlmodel import Session

from fleet.core.config import Settings
from fleet.core.db import DatabaseError, check_database_url, has_schema, make_engine
from fleet.core.passwords import PasswordPolicy
from fleet.crud.errors import NotFound
from fleet.crud.operators import check_new_password, create_operator, get_operator_by_email
from fleet.crud.operators import unlock_operator as unlock
from fleet.models import OperatorCreate, OperatorPublic

__all__ = ["create_admin", "unlock_operator"]

T = TypeVar("T")


def _policy() -> PasswordPolicy:
    """The service's policy: the same TERRITOIRE_FLEET_PASSWORD_* settings as `fleet serve`."""
    settings = Settings()
    return PasswordPolicy(
        min_length=settings.password_min_length, max_length=settings.password_max_length
    )


@contextmanager
def _fleet_session(database_url: str, action: str) -> Iterator[Session]:
    check_database_url(database_url, must_exist=True)
    engine = make_engine(database_url)
    try:
        if not has_schema(engine):
            raise DatabaseError("the database has no fleet tables: start `territoire fleet "
                                f"serve` on it once (it migrates), then {action}")
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def _in_session(database_url: str, action: str, work: Callable[[Session], T]) -> T:
    with _fleet_session(database_url, action) as session:
        result = work(session)
        session.commit()
        return result


def create_admin(
    *, database_url: str, email: str, password: str, full_name: str = ""
) -> OperatorPublic:
    """Create an admin operator in a migrated database. Raises on a duplicate email
    (fleet.crud.errors.Conflict), a password the policy refuses (fleet.crud.errors.WeakPassword,
    with its reason code), a malformed email (pydantic.ValidationError), or a database that is
    not the fleet's (DatabaseError): then nothing is created, not even a file."""
    data = OperatorCreate.model_validate(
        {"email": email, "password": password, "full_name": full_name, "role": "admin"}
    )
    policy = _policy()
    check_new_password(data.password, email=data.email, policy=policy)  # before any file
    return _in_session(
        database_url,
        "create the admin",
        lambda s: OperatorPublic.model_validate(
            create_operator(s, data=data, actor="cli", policy=policy), from_attributes=True
        ),
    )


def unlock_operator(*, database_url: str, email: str) -> OperatorPublic:
    """Lift an account's login lock and every address's failure count on it, audited as done
    by "cli". Raises NotFound for an unknown e-mail, DatabaseError as create_admin."""

    def work(session: Session) -> OperatorPublic:
        op = get_operator_by_email(session, email=email)
        if op is None or op.id is None:
            raise NotFound(f"no operator with the e-mail {email.strip().lower()}")
        return OperatorPublic.model_validate(
            unlock(session, operator_id=op.id, actor="cli"), from_attributes=True
        )

    return _in_session(database_url, "unlock", work)
