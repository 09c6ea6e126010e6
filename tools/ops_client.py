"""The operator's client of the fleet API (``territoire claim-codes|zones|profiles|gateways|
tokens|login``): a bearer token, JSON in and out, every failure a :class:`FleetApiError`
(``tools/fleet_api.py``) with the fleet's own words; never a traceback."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

from tools.fleet_api import API, FleetApiError, _check

__all__ = ["OpsClient", "check_fleet_url", "login"]

_PAGE = 200  # the fleet's page_max by default; a smaller page_max just means more pages
_MAX_ITEMS = 100_000  # a list this long is not one operator's screen: stop there


def check_fleet_url(url: str) -> str:
    """The fleet's base URL without a trailing slash, or ValueError (checked before any call)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--fleet {url!r}: write the fleet's address, e.g. "
                         "https://fleet.angers.example")
    return url.strip().rstrip("/")


def _request(client: httpx.Client, method: str, path: str, what: str, **kw: Any) -> httpx.Response:
    try:
        r = client.request(method, API + path, **kw)
    except httpx.HTTPError as exc:
        raise FleetApiError(f"{what}: fleet unreachable at {client.base_url} ({exc})") from None
    if r.status_code >= 400:
        _check(r, what)  # raises FleetApiError with the fleet's detail
    return r


def _json(r: httpx.Response, what: str, base_url: str) -> Any:
    try:
        return r.json() if r.content else None
    except ValueError:
        raise FleetApiError(f"{what}: {base_url} did not answer like a Territoire fleet "
                            "(check --fleet)", r.status_code) from None


class OpsClient:
    """One fleet, one token: ``call`` for a JSON answer, ``text`` for a text one, ``all`` for
    every page of a list (offset or cursor pages)."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, timeout=timeout,
                                   headers={"Authorization": f"Bearer {token}"})

    def __enter__(self) -> OpsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def call(self, method: str, path: str, what: str, **kw: Any) -> Any:
        return _json(_request(self.client, method, path, what, **kw), what, self.base_url)

    def text(self, path: str, what: str, **kw: Any) -> str:
        return _request(self.client, "GET", path, what, **kw).text

    def all(self, path: str, what: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every item of a list: ``Page`` answers follow ``next_cursor``, plain lists offsets."""
        items: list[Any] = []
        query: dict[str, Any] = {**(params or {}), "limit": _PAGE}
        while len(items) < _MAX_ITEMS:
            page = self.call("GET", path, what, params=query)
            if isinstance(page, dict) and isinstance(page.get("data"), list):
                items += page["data"]
                if not page.get("next_cursor"):
                    return items
                query["after"] = page["next_cursor"]
            elif isinstance(page, list):
                items += page
                if not page:
                    return items
                query["offset"] = len(items)
            else:
                raise FleetApiError(f"{what}: {self.base_url} did not answer like a Territoire "
                                    "fleet (check --fleet)")
        return items


def login(base_url: str, email: str, password: str, *, name: str | None = None,
          ttl_days: int | None = None) -> dict[str, Any]:
    """Log in with a password and create an API token (the answer holds it, shown once).

    The login session is only the way to the token: it is logged out at once.
    """
    body: dict[str, Any] = {"name": name or f"territoire-cli@{socket.gethostname()}"[:100]}
    if ttl_days is not None:
        body["ttl_days"] = ttl_days
    with httpx.Client(base_url=base_url, timeout=30) as client:
        session = _json(_request(client, "POST", "/auth/login", "login",
                                 json={"email": email, "password": password}), "login", base_url)
        if not isinstance(session, dict) or "csrf_token" not in session:
            raise FleetApiError(f"login: {base_url} did not answer like a Territoire fleet "
                                "(check --fleet)")
        csrf = {"X-CSRF-Token": str(session["csrf_token"])}
        created = _json(_request(client, "POST", "/tokens", "create token", json=body,
                                 headers=csrf), "create token", base_url)
        _request(client, "POST", "/auth/logout", "logout", headers=csrf)
    if not isinstance(created, dict) or "token" not in created:
        raise FleetApiError(f"create token: {base_url} did not answer like a Territoire fleet")
    return created
