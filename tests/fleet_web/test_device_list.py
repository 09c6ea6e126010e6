"""The device list page: filters, search and keyset pages (no count of the whole fleet)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI

from tests.fleet_web.conftest import Browser
from tests.fleet_web.seed import Territory

ROW = re.compile(r'<th scope="row"><a href="/dashboard/devices/([a-z0-9-]+)">')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def _ids(html: str) -> list[str]:
    return ROW.findall(html)


def test_filters_match_the_api_filters(
    territory: Territory, browse: Callable[[str], Browser]
) -> None:
    b = browse("viewer")
    get = b.client.get
    assert _ids(get("/dashboard/devices?status=offline").text) == territory.offline
    assert _ids(get("/dashboard/devices?status=never_seen").text) == territory.never_seen
    in_zone = _ids(get("/dashboard/devices?zone=belle-beille").text)
    assert in_zone == ["ang-0007", "ang-0008", "ang-0009"]
    assert _ids(get("/dashboard/devices?gateway=gw-b&status=online").text) == [*in_zone, "ang-0010"]
    fw = _ids(get("/dashboard/devices?firmware=0.1.0").text)
    assert fw == ["ang-0001", "ang-0005", "ang-0009"]
    assert _ids(get("/dashboard/devices?q=0012").text) == ["ang-0012"]
    page = get("/dashboard/devices?zone=centre").text
    assert '<option value="centre" selected>' in page  # the form shows the filter in use
    # firmware choices: the versions nodes report, newest first (a loose index scan)
    assert page.index('<option value="0.2.0">') < page.index('<option value="0.1.0">')


def test_invalid_filters_are_named_and_not_applied(
    territory: Territory, browse: Callable[[str], Browser]
) -> None:
    b = browse("viewer")
    r = b.client.get("/dashboard/devices?status=lost&zone=../etc")
    assert r.status_code == 400
    assert "Quartier : valeur invalide" in r.text
    assert "État : valeur invalide" in r.text
    assert len(_ids(r.text)) == len(territory.nodes)


def test_next_page_links_walk_every_device_once(
    territory: Territory, app: FastAPI, browse: Callable[[str], Browser]
) -> None:
    app.state.settings.page_default = 5
    b = browse("operator")
    seen: list[str] = []
    url: str | None = "/dashboard/devices?gateway=gw-a"
    pages = 0
    while url:
        html = b.client.get(url.replace("&amp;", "&")).text
        seen += _ids(html)
        found = NEXT.search(html)
        url = found.group(1) if found else None
        pages += 1
        if pages > 1:
            assert "Première page" in html
    assert pages == 2
    assert seen == sorted(n for n, c in territory.nodes.items() if c["gateway_id"] == "gw-a")
