"""The technician's and the demo's client of the fleet API (operators' side, bearer token).

Errors are :class:`FleetApiError` with the fleet's own message, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from protocol.node_config import validate_keys

__all__ = ["ClaimedNode", "FleetAdmin", "FleetApiError", "login_token"]

API = "/api/v1"


class FleetApiError(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def _check(r: httpx.Response, what: str) -> Any:
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text
        raise FleetApiError(f"{what}: the fleet answered {r.status_code}: {detail}", r.status_code)
    return r.json() if r.content else None


def _call(client: httpx.Client, method: str, path: str, what: str, **kw: Any) -> Any:
    try:
        r = client.request(method, API + path, **kw)
    except httpx.HTTPError as exc:
        raise FleetApiError(f"{what}: fleet unreachable at {client.base_url} ({exc})") from exc
    return _check(r, what)


def login_token(base_url: str, email: str, password: str, name: str = "territoire-cli") -> str:
    """Log in with a password and create an API token for the CLI (shown once)."""
    with httpx.Client(base_url=base_url, timeout=20) as client:
        session = _call(client, "POST", "/auth/login", "login",
                        json={"email": email, "password": password})
        created = _call(client, "POST", "/tokens", "token", json={"name": name},
                        headers={"X-CSRF-Token": session["csrf_token"]})
    return str(created["token"])


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


class FleetAdmin:
    def __init__(self, base_url: str, token: str, timeout: float = 20.0) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=timeout,
                                   headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.client.close()

    def ensure_zone(self, zone_id: str, name: str, lat: float | None = None,
                    lon: float | None = None, boundary: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"id": zone_id, "name": name}
        if lat is not None and lon is not None:
            body.update(lat=lat, lon=lon)  # the centroid published in NGSI-LD
        if boundary is not None:
            body["boundary"] = boundary
        try:
            _call(self.client, "POST", "/zones", "create zone", json=body)
        except FleetApiError as exc:
            if exc.status_code != 409:
                raise

    def ensure_profile(self, profile: dict[str, Any]) -> None:
        try:
            _call(self.client, "POST", "/profiles", "create profile", json=profile)
        except FleetApiError as exc:
            if exc.status_code != 409:
                raise

    def create_gateway(self, gateway_id: str, name: str) -> str:
        """Create a gateway; returns its one-time enrollment token."""
        created = _call(self.client, "POST", "/gateways", "create gateway",
                        json={"id": gateway_id, "name": name})
        return str(created["enroll_token"])

    def claim_codes(self, *, zone_id: str, gateway_id: str | None, profile_id: str,
                    count: int = 1, node_id: str | None = None) -> list[str]:
        body: dict[str, Any] = {"zone_id": zone_id, "gateway_id": gateway_id,
                                "profile_id": profile_id, "count": count}
        if node_id is not None:
            body["node_id"] = node_id
        rows = _call(self.client, "POST", "/claim-codes", "create claim codes", json=body)
        return [str(r["code"]) for r in rows]

    def revoke_node(self, node_id: str) -> None:
        _call(self.client, "POST", f"/nodes/{node_id}/revoke", "revoke node")

    def node(self, node_id: str) -> dict[str, Any]:
        result: dict[str, Any] = _call(self.client, "GET", f"/nodes/{node_id}", "node")
        return result


def _release_keys(raw: object) -> tuple[dict[str, Any], ...]:
    """The claim's release keys, checked as the node will check them (ValueError if not)."""
    return tuple(validate_keys(raw))


def claim(base_url: str, code: str) -> ClaimedNode:
    """Claim a node with a claim code (no login: the code is the credential)."""
    with httpx.Client(base_url=base_url, timeout=20) as client:
        try:
            r = _call(client, "POST", "/claim", "claim", json={"code": code.strip()})
            node = ClaimedNode(str(r["node_id"]), int(r["key_id"]), bytes.fromhex(r["secret"]),
                               str(r["zone_id"]), r.get("gateway_id"), r.get("profile_id"),
                               _release_keys(r.get("release_keys", [])))
        except (ValueError, KeyError, TypeError, AttributeError):
            # not the fleet's answer (another server at that address?): never half a node
            raise FleetApiError(f"claim: {base_url} did not answer like a Territoire fleet "
                                "(check --fleet)") from None
    if len(node.secret) != 32:
        raise FleetApiError("claim: the fleet's answer holds no 32-byte node secret")
    return node
