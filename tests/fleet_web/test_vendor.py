"""The fleet serves Leaflet from its own copy (fleet/static/vendor/leaflet, made by
`make vendor`): the copy is the locked npm package's files, licence included."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "fleet" / "static" / "vendor" / "leaflet"
PACKAGE = ROOT / "node_modules" / "leaflet"
# vendored file -> its place in the npm package
FILES = {
    "leaflet.js": "dist/leaflet.js",
    "leaflet.css": "dist/leaflet.css",
    "LICENSE": "LICENSE",
    **{f"images/{p.name}": f"dist/images/{p.name}" for p in (PACKAGE / "dist/images").glob("*")},
}


def test_the_vendored_leaflet_is_the_locked_packages_files() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text("utf-8"))
    locked = lock["packages"]["node_modules/leaflet"]
    installed = json.loads((PACKAGE / "package.json").read_text("utf-8"))
    assert installed["version"] == locked["version"]
    assert locked["license"] == "BSD-2-Clause"
    assert f't.version="{locked["version"]}"' in (VENDOR / "leaflet.js").read_text("utf-8")
    copied = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert copied == set(FILES)
    for vendored, original in FILES.items():
        assert (VENDOR / vendored).read_bytes() == (PACKAGE / original).read_bytes(), vendored
    assert "BSD 2-Clause License" in (VENDOR / "LICENSE").read_text("utf-8")


def test_the_fleet_serves_leaflet_itself(client: TestClient) -> None:
    for path, kind in (("leaflet.js", "javascript"), ("leaflet.css", "css"), ("LICENSE", "")):
        r = client.get(f"/static/vendor/leaflet/{path}")
        assert r.status_code == 200, path
        assert kind in r.headers["content-type"]
        assert r.content == (VENDOR / path).read_bytes()
