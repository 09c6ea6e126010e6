"""The one client of the fleet API for the CLI and the demo (operators' side: a bearer token;
the claim: a claim code).

JSON in and out; every failure is a :class:`FleetApiError` with the fleet's own words and its
status code (none when the fleet cannot be reached), never a traceback.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from protocol.node_config import validate_keys

__all__ = ["API", "ClaimedNode", "FleetApiError", "FleetClient", "check_fleet_url", "claim",
           "login", "login_token"]

API = "/api/v1"
_PAGE = 200  # the fleet's page_max by default; a smaller page_max just means more pages
_MAX_ITEMS = 100_000  # a list this long is not one operator's screen: stop there


class FleetApiError(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def check_fleet_url(url: str) -> str:
    """The fleet's base URL without a trailing slash, or ValueError (checked before any call)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--fleet {url!r}: write the fleet's address, e.g. "
                         "https://fleet.angers.example")
    return url.strip().rstrip("/")


def _not_the_fleet(what: str, base_url: str, status_code: int | None = None) -> FleetApiError:
    return FleetApiError(f"{what}: {base_url} did not answer like a Territoire fleet "
                         "(check --fleet)", status_code)


def _detail(r: httpx.Response) -> Any:
    try:
        body = r.json()
    except ValueError:
        return r.text
    return body.get("detail", r.text) if isinstance(body, dict) else r.text


class FleetClient:
    """One fleet, one token (or none, for the claim): ``call`` for a JSON answer, ``text`` for a
    text one, ``all`` for every page of a list (offset or cursor pages)."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def __enter__(self) -> FleetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, what: str, **kw: Any) -> httpx.Response:
        """The fleet's answer, or FleetApiError: unreachable, or refused (4xx/5xx) with its
        detail."""
        try:
            r = self.client.request(method, API + path, **kw)
        except httpx.HTTPError as exc:
            raise FleetApiError(f"{what}: fleet unreachable at {self.base_url} ({exc})") from None
        if r.status_code >= 400:
            raise FleetApiError(f"{what}: the fleet answered {r.status_code}: {_detail(r)}",
                                r.status_code)
        return r

    def call(self, method: str, path: str, what: str, **kw: Any) -> Any:
        r = self.request(method, path, what, **kw)
        try:
            return r.json() if r.content else None
        except ValueError:
            raise _not_the_fleet(what, self.base_url, r.status_code) from None

    def text(self, path: str, what: str, **kw: Any) -> str:
        return self.request("GET", path, what, **kw).text

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
                raise _not_the_fleet(what, self.base_url)
        return items

    # -- what the demo and the tests set up (an existing zone or profile is kept) -------------

    def _create(self, path: str, what: str, body: dict[str, Any]) -> None:
        try:
            self.call("POST", path, what, json=body)
        except FleetApiError as exc:
            if exc.status_code != 409:
                raise

    def ensure_zone(self, zone_id: str, name: str, lat: float | None = None,
                    lon: float | None = None, boundary: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"id": zone_id, "name": name}
        if lat is not None and lon is not None:
            body.update(lat=lat, lon=lon)  # the centroid published in NGSI-LD
        if boundary is not None:
            body["boundary"] = boundary
        self._create("/zones", "create zone", body)

    def ensure_profile(self, profile: dict[str, Any]) -> None:
        self._create("/profiles", "create profile", profile)

    def create_gateway(self, gateway_id: str, name: str) -> str:
        """Create a gateway; returns its one-time enrollment token."""
        created = self.call("POST", "/gateways", "create gateway",
                            json={"id": gateway_id, "name": name})
        return str(created["enroll_token"])

    def claim_codes(self, *, zone_id: str, gateway_id: str | None, profile_id: str,
                    count: int = 1, node_id: str | None = None) -> list[str]:
        body: dict[str, Any] = {"zone_id": zone_id, "gateway_id": gateway_id,
                                "profile_id": profile_id, "count": count}
        if node_id is not None:
            body["node_id"] = node_id
        rows = self.call("POST", "/claim-codes", "create claim codes", json=body)
        return [str(r["code"]) for r in rows]

    def revoke_node(self, node_id: str) -> None:
        self.call("POST", f"/nodes/{node_id}/revoke", "revoke node")

    def node(self, node_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/nodes/{node_id}", "node")
        return result


def login(base_url: str, email: str, password: str, *, name: str | None = None,
          ttl_days: int | None = None) -> dict[str, Any]:
    """Log in with a password and create an API token (the answer holds it, shown once).

    The login session is only the way to the token: it is logged out at once.
    """
    body: dict[str, Any] = {"name": name or f"territoire-cli@{socket.gethostname()}"[:100]}
    if ttl_days is not None:
        body["ttl_days"] = ttl_days
    with FleetClient(base_url) as fleet:
        session = fleet.call("POST", "/auth/login", "login",
                             json={"email": email, "password": password})
        if not isinstance(session, dict) or "csrf_token" not in session:
            raise _not_the_fleet("login", fleet.base_url)
        csrf = {"X-CSRF-Token": str(session["csrf_token"])}
        created = fleet.call("POST", "/tokens", "create token", json=body, headers=csrf)
        fleet.request("POST", "/auth/logout", "logout", headers=csrf)
    if not isinstance(created, dict) or "token" not in created:
        raise FleetApiError(f"create token: {base_url} did not answer like a Territoire fleet")
    return created


def login_token(base_url: str, email: str, password: str, name: str = "territoire-cli") -> str:
    """Log in and make an API token (the demo's and the tests' local fleet)."""
    return str(login(base_url, email, password, name=name)["token"])


@dataclass(frozen=True)
class ClaimedNode:
    node_id: str
    key_id: int
    secret: bytes
    zone_id: str
    gateway_id: str | None
    profile_id: str | None = None
    # the release public keys the fleet trusts, as node.json holds them ({"n": hex, "e": int})
    release_keys: tuple[dict[str, Any], ...] = ()


def claim(base_url: str, code: str, interval_s: int | None = None) -> ClaimedNode:
    """Claim a node with a claim code (no login: the code is the credential). ``interval_s``:
    the seconds between its readings as its node.json will have them, which the fleet keeps
    and syncs to the node's gateway (its rate cap there)."""
    body: dict[str, Any] = {"code": code.strip()}
    if interval_s is not None:
        body["interval_s"] = interval_s
    with FleetClient(base_url, timeout=20) as fleet:
        try:
            r = fleet.call("POST", "/claim", "claim", json=body)
        except FleetApiError as exc:
            if exc.status_code == 403:
                raise FleetApiError("the fleet refused the claim code: unknown, already used or "
                                    "expired (ask an operator for a new label)", 403) from None
            if exc.status_code == 422:
                raise FleetApiError("the fleet did not accept the claim code (20 letters and "
                                    "digits)", 422) from None
            raise
        try:
            node = ClaimedNode(str(r["node_id"]), int(r["key_id"]), bytes.fromhex(r["secret"]),
                               str(r["zone_id"]), r.get("gateway_id"), r.get("profile_id"),
                               # checked as the node will check them (ValueError if not)
                               tuple(validate_keys(r.get("release_keys", []))))
        except (ValueError, KeyError, TypeError, AttributeError):
            # not the fleet's answer (another server at that address?): never half a node
            raise _not_the_fleet("claim", base_url) from None
    if len(node.secret) != 32:
        raise FleetApiError("claim: the fleet's answer holds no 32-byte node secret")
    return node
