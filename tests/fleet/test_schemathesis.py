"""schemathesis over the OpenAPI document, in-process against the ASGI app: no 5xx, ever.

Runs as an admin (so every route is exercised past its role check) on a database that holds
a zone, a profile, two gateways and claimed nodes, on SQLite and PostgreSQL. One test per
operation, listed from the OpenAPI document of an app built without a database.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from fleet.app import create_app
from fleet.core.config import Settings
from tests.fleet.gwsim import World

API = "/api/v1"
EXAMPLES = 25


def _operations() -> list[tuple[str, str]]:
    doc = create_app(
        Settings(environment="development", database_url="sqlite://", migrate_on_start=False)
    ).openapi()
    return [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops]


@pytest.mark.parametrize(("method", "path"), _operations(), ids=str)
def test_no_server_error(app: FastAPI, world: World, method: str, path: str) -> None:
    world.claim()
    world.claim(gateway="gw-b")
    schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", app)
    operation = schema.find_operation_by_path(method, path)
    assert operation is not None

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def no_5xx(case: Any) -> None:
        response = case.call(headers=world.admin)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
        )

    no_5xx()
