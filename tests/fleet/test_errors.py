"""Errors are JSON with a clear message: 404, 409, 413, 422 without input echo, and 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fleet.gwsim import API


def test_not_found_is_json(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get(f"{API}/zones/nowhere", headers=admin)
    assert r.status_code == 404
    assert r.json() == {"detail": "no such zone"}
    assert client.get("/no/such/path").json() == {"detail": "Not Found"}


def test_validation_error_does_not_echo_input(client: TestClient) -> None:
    r = client.post(f"{API}/auth/login", json={"email": "a@b.c", "password": 12345678901234})
    assert r.status_code == 422
    assert r.json()["detail"] == "invalid request"
    assert "12345678901234" not in r.text
    assert r.json()["errors"][0]["loc"] == ["body", "password"]


def test_unexpected_error_is_json_500_without_trace(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise RuntimeError("database exploded at /srv/secret/path")

    app.router.add_api_route("/test-only/boom", boom)
    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="fleet.api"):
        r = client.get("/test-only/boom")
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error"}
    assert "Traceback" not in r.text
    assert "exploded" not in r.text
    assert "RuntimeError" in caplog.text  # the operator's log has it


def test_body_over_limit_is_413(client: TestClient, admin: dict[str, str]) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    big = {"id": "big-zone", "name": "x", "description": "y" * (limit + 1)}
    r = client.post(f"{API}/zones", json=big, headers=admin)
    assert r.status_code == 413
    assert r.json() == {"detail": "request body too large"}


def test_chunked_body_over_limit_is_413(client: TestClient, admin: dict[str, str]) -> None:
    limit = client.app.state.settings.max_body_bytes  # type: ignore[attr-defined]

    def chunks() -> Iterator[bytes]:
        for _ in range(limit // 1000 + 2):
            yield b" " * 1000

    r = client.post(
        f"{API}/zones",
        content=chunks(),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert r.status_code == 413


def test_page_size_is_capped(client: TestClient, admin: dict[str, str]) -> None:
    page_max = client.app.state.settings.page_max  # type: ignore[attr-defined]
    for i in range(3):
        client.post(f"{API}/zones", json={"id": f"zone-{i}", "name": "Z"}, headers=admin)
    client.app.state.settings.page_max = 2  # type: ignore[attr-defined]
    assert len(client.get(f"{API}/zones?limit=1000", headers=admin).json()) == 2
    client.app.state.settings.page_max = page_max  # type: ignore[attr-defined]
    assert client.get(f"{API}/zones?limit=0", headers=admin).status_code == 422


def test_conflict_is_409(client: TestClient, admin: dict[str, str]) -> None:
    client.post(f"{API}/zones", json={"id": "dup-zone", "name": "Z"}, headers=admin)
    r = client.post(f"{API}/zones", json={"id": "dup-zone", "name": "Z"}, headers=admin)
    assert r.status_code == 409
    assert "exists" in r.json()["detail"]


def test_openapi_documents_every_route(client: TestClient) -> None:
    doc = client.get(f"{API}/openapi.json").json()
    assert doc["components"]["schemas"]["IngestRequest"]["properties"]["batch_id"]
    assert f"{API}/gateway/sync" in doc["paths"]
    assert f"{API}/public/register" in doc["paths"]
