"""Zone boundaries: the fleet stores a checked, bounded GeoJSON (Multi)Polygon, refuses
anything else whole, and shows it in the operators' and the public zone lists."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from protocol.zones import BOUNDARY_MAX_VERTICES, BoundaryError, centroid, check_boundary

API = "/api/v1"
SQUARE = [[[-0.56, 47.46], [-0.54, 47.46], [-0.54, 47.48], [-0.56, 47.48], [-0.56, 47.46]]]


def polygon(ring: list[list[Any]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring]}


def test_centroid_of_a_square_is_its_centre() -> None:
    lat, lon = centroid(check_boundary({"type": "Polygon", "coordinates": SQUARE}))
    assert (lat, lon) == pytest.approx((47.47, -0.55), abs=1e-6)


def test_centroid_subtracts_holes_and_weighs_polygons_by_area() -> None:
    outer = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]  # the lower-left quarter is out
    lat, lon = centroid(check_boundary({"type": "Polygon", "coordinates": [outer, hole]}))
    # three quarters of a square: centroid pulled up and right, (7/3, 7/3)
    assert (lat, lon) == pytest.approx((7 / 3, 7 / 3), abs=1e-6)
    big = [[0, 0], [3, 0], [3, 3], [0, 3], [0, 0]]  # area 9, centre (1.5, 1.5)
    small = [[10, 0], [11, 0], [11, 1], [10, 1], [10, 0]]  # area 1, centre (10.5, 0.5)
    lat, lon = centroid(check_boundary({"type": "MultiPolygon", "coordinates": [[big], [small]]}))
    assert (lat, lon) == pytest.approx(((9 * 1.5 + 0.5) / 10, (9 * 1.5 + 10.5) / 10), abs=1e-6)


@pytest.mark.parametrize(
    ("geometry", "words"),
    [
        ({"type": "Point", "coordinates": [0, 0]}, "Polygon or a MultiPolygon"),
        (polygon([[0, 0], [1, 0], [1, 1], [0, 1]]), "closed"),
        (polygon([[0, 0], [1, 0], [0, 0]]), "at least 4"),
        (polygon([[0, 0], [1, 1], [2, 2], [0, 0]]), "no area"),
        (polygon([[0, 0], [200, 0], [1, 1], [0, 0]]), "WGS84"),
        (polygon([[0, 0], ["1", 0], [1, 1], [0, 0]]), "finite numbers"),
        (polygon([[0, 0], [float("nan"), 0], [1, 1], [0, 0]]), "finite numbers"),
        (polygon([[0, 0], [10**400, 0], [1, 1], [0, 0]]), "WGS84"),
    ],
)
def test_bad_boundaries_are_refused_saying_why(geometry: dict[str, Any], words: str) -> None:
    with pytest.raises(BoundaryError, match=words):
        check_boundary(geometry)


def test_boundary_is_normalised_to_six_decimals_without_altitude() -> None:
    ring = [[-0.5512345678, 47.1, 30], [-0.54, 47.1], [-0.54, 47.2], [-0.5512345678, 47.1, 30]]
    assert check_boundary(polygon(ring))["coordinates"][0][0] == [-0.551235, 47.1]


def test_the_fleet_stores_and_shows_a_zone_boundary(
    client: TestClient, operator: dict[str, str]
) -> None:
    body = {"id": "centre-ville", "name": "Centre-ville", "lat": 47.47, "lon": -0.55,
            "boundary": {"type": "Polygon", "coordinates": SQUARE, "extra": "dropped"}}
    r = client.post(f"{API}/zones", json=body, headers=operator)
    assert r.status_code == 201, r.text
    assert r.json()["boundary"] == {"type": "Polygon", "coordinates": SQUARE}
    assert client.get(f"{API}/zones/centre-ville", headers=operator).json()["boundary"] == {
        "type": "Polygon", "coordinates": SQUARE}
    public = {z["id"]: z for z in client.get(f"{API}/public/zones").json()}
    assert public["centre-ville"]["boundary"]["type"] == "Polygon"
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE]}
    r = client.patch(f"{API}/zones/centre-ville", json={"boundary": multi}, headers=operator)
    assert r.status_code == 200, r.text
    assert client.get(f"{API}/zones/centre-ville", headers=operator).json()["boundary"] == multi


def test_the_fleet_refuses_a_bad_or_oversized_boundary_and_keeps_nothing(
    client: TestClient, operator: dict[str, str]
) -> None:
    open_ring = polygon([[0, 0], [1, 0], [1, 1], [0, 1]])
    r = client.post(f"{API}/zones", json={"id": "la-doutre", "name": "La Doutre",
                                          "boundary": open_ring}, headers=operator)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"][-1] == "boundary"
    n = BOUNDARY_MAX_VERTICES // 4 + 1  # four rings of n positions: over the bound
    rings = [[[i / n, k] for i in range(n - 1)] + [[0.5, k + 0.5], [0, k]] for k in range(4)]
    big = {"type": "Polygon", "coordinates": rings}
    r = client.post(f"{API}/zones", json={"id": "la-doutre", "name": "La Doutre",
                                          "boundary": big}, headers=operator)
    assert r.status_code in (413, 422)
    assert client.get(f"{API}/zones/la-doutre", headers=operator).status_code == 404
