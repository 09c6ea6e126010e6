"""Public responses are gzip-compressed for clients that accept it (the home page's weight,
docs/performance.md); the dashboard and the operators' API never are (BREACH: their pages
carry a CSRF token beside text a visitor can put in them)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.fleet_web.conftest import Browser
from tests.fleet_web.seed import Territory

GZIP = {"Accept-Encoding": "gzip"}


def test_public_pages_and_the_public_api_are_gzipped_and_decode_to_the_same_page(
    territory: Territory, client: TestClient
) -> None:
    for path in ("/", "/register", "/static/dashboard.css", "/api/v1/public/register"):
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        packed = client.get(path, headers=GZIP)
        assert packed.status_code == plain.status_code == 200, path
        assert packed.headers.get("content-encoding") == "gzip", path
        assert "content-encoding" not in plain.headers, path
        assert "Accept-Encoding" in packed.headers.get("vary", ""), path
        if not path.startswith("/api"):  # the register's order is the same within a day
            assert packed.content == plain.content, path
        assert int(packed.headers["content-length"]) < len(plain.content) / 2, path


def test_the_dashboard_and_the_operators_api_are_never_compressed(
    territory: Territory, client: TestClient, browse: Callable[[str], Browser]
) -> None:
    op = browse("operator")
    for path in ("/dashboard", "/dashboard/devices?q=ang"):
        r = op.client.get(path, headers=GZIP)
        assert r.status_code == 200, path
        assert "content-encoding" not in r.headers, path
    r = client.get("/api/v1/nodes", headers={**GZIP, **territory.admin})
    assert r.status_code == 200
    assert "content-encoding" not in r.headers
