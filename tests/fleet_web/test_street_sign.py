"""The street sign from the dashboard (a button on the device page, operators only) and the
API, on SQLite and PostgreSQL; and the register filtered to a sign's group, where its QR code
leads (docs/privacy.md, "The street sign")."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.fleet_web.conftest import Browser
from tests.fleet_web.seed import Territory

API = "/api/v1"
Browse = Callable[[str], Browser]


def shown_text(pdf: bytes) -> str:
    streams = re.findall(rb"stream\n(.*?)\nendstream", pdf, re.S)
    content = "".join(zlib.decompress(s).decode("latin-1") for s in streams)
    return " ".join(re.findall(r"\((.*?)\) Tj", content))


def node_of(territory: Territory, profile: str) -> tuple[str, str]:
    node = next(n for n in territory.online if territory.nodes[n]["profile_id"] == profile)
    return node, territory.nodes[node]["zone_id"]


def test_an_operator_gets_the_sign_from_the_device_page_and_a_viewer_is_refused(
    territory: Territory, browse: Browse
) -> None:
    node, zone = node_of(territory, "people")
    op = browse("operator")
    page = op.client.get(f"/dashboard/devices/{node}").text
    assert f'href="/dashboard/devices/{node}/sign.pdf"' in page
    r = op.client.get(f"/dashboard/devices/{node}/sign.pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert f'filename="panneau-{node}.pdf"' in r.headers["content-disposition"]
    assert r.content.startswith(b"%PDF-")
    assert b"/MediaBox [0 0 419.53 595.28]" in r.content
    text = shown_text(r.content)
    assert "sel oubli\xe9 \xe0 chaque fen\xeatre" in text  # a people counter's promise
    assert f"https://testserver/register?zone={zone}&profile=people" in text
    assert node not in text
    viewer = browse("viewer")
    assert "sign.pdf" not in viewer.client.get(f"/dashboard/devices/{node}").text
    refused = viewer.client.get(f"/dashboard/devices/{node}/sign.pdf")
    assert refused.status_code == 403
    assert not refused.content.startswith(b"%PDF")
    assert op.client.get("/dashboard/devices/no-such-node/sign.pdf").status_code == 404


def test_the_api_gives_the_sign_to_operators_and_404_for_an_unknown_node(
    territory: Territory, client: TestClient
) -> None:
    node, _zone = node_of(territory, "air-quality")
    r = client.get(f"{API}/nodes/{node}/sign", headers=territory.admin)
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF-")
    assert client.get(f"{API}/nodes/{node}/sign").status_code == 401
    missing = client.get(f"{API}/nodes/no-such-node/sign", headers=territory.admin)
    assert missing.status_code == 404


def test_the_register_filtered_to_a_signs_group_shows_only_that_type_in_that_zone(
    territory: Territory, client: TestClient
) -> None:
    _node, zone = node_of(territory, "noise")
    group = [n for n, c in territory.nodes.items()
             if c["zone_id"] == zone and c["profile_id"] == "noise"]
    api = client.get(f"{API}/public/register", params={"zone": zone, "profile": "noise"})
    entries = api.json()["data"]
    assert len(entries) == len(group) >= 1
    assert {e["zone_id"] for e in entries} == {zone}
    assert len({e["type"] for e in entries}) == 1
    page = client.get("/register", params={"zone": zone, "profile": "noise"})
    assert page.status_code == 200
    assert "Vous venez d&#39;un panneau dans la rue" in page.text
    assert all(e["id"] in page.text for e in entries)  # each entry, with its question form
    assert client.get("/register", params={"profile": "../x"}).status_code == 400
