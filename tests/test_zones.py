"""The zones file (protocol/zones.py): the demo's own file, an operator's file by configuration,
and every bad file refused with a line naming what is wrong, before anything uses it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.config_file import check_files, load_settings
from protocol.zones import MAX_ZONES, ZonesError, centroid, load_zones_file, parse_zones
from tools.demo.territory import DEMO_ZONES_FILE, plan_nodes, zones

REPO = Path(__file__).resolve().parents[1]
SQUARE = [[[0.0, 47.0], [0.01, 47.0], [0.01, 47.01], [0.0, 47.01], [0.0, 47.0]]]


def _doc(*features: dict[str, object]) -> dict[str, object]:
    return {"type": "FeatureCollection", "features": list(features)}


def _feature(zid: str = "nord", name: str = "Nord", geometry: object = None,
             **props: object) -> dict[str, object]:
    return {"type": "Feature", "properties": {"id": zid, "name": name, **props},
            "geometry": geometry or {"type": "Polygon", "coordinates": SQUARE}}


def test_the_demo_zones_are_angers_ten_quartiers_each_with_a_polygon_holding_its_centroid() -> None:
    found = load_zones_file(DEMO_ZONES_FILE)
    assert len(found) == 10
    assert "centre" in {z.id for z in found}
    for z in found:
        assert z.boundary["type"] == "Polygon"
        ring = z.boundary["coordinates"][0]
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        # approximate boundaries, but each contains the zone's own centroid
        assert min(xs) <= z.lon <= max(xs)
        assert min(ys) <= z.lat <= max(ys)
        assert 47.4 < z.lat < 47.6
        assert -0.7 < z.lon < -0.4


def test_the_repository_holds_what_the_tests_and_demo_read() -> None:
    assert DEMO_ZONES_FILE.is_relative_to(REPO)
    schemas = REPO / "data" / "smart-data-models"
    assert (schemas / "WeatherObserved.schema.json").is_file()
    assert "Creative Commons Attribution 4.0" in (schemas / "README.md").read_text()


def test_no_code_or_test_reads_the_shared_folder_beside_the_repository() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    # spelled apart, so that this file does not find itself
    needles = ("../" + "sha" + "red", '"sha' + 'red"', "/wo" + "rk/")
    offenders = []
    for name in tracked:
        if name.endswith((".py", ".toml", ".cfg", ".sh")) or name in ("Makefile", ".ci/run"):
            text = (REPO / name).read_text(errors="replace")
            if any(n in text for n in needles):
                offenders.append(name)
    assert offenders == []


def test_a_centroid_is_taken_from_the_file_or_computed_from_the_largest_ring() -> None:
    (given,) = parse_zones(_doc(_feature(centroid=[0.002, 47.003])))
    assert (given.lon, given.lat) == (0.002, 47.003)
    (computed,) = parse_zones(_doc(_feature()))
    assert (computed.lon, computed.lat) == pytest.approx((0.005, 47.005))
    assert centroid(computed.boundary) == (computed.lat, computed.lon)
    (pair,) = parse_zones(_doc(_feature(centroid_lat=47.004, centroid_lon=0.001)))
    assert (pair.lat, pair.lon) == (47.004, 0.001)


def test_a_multipolygon_zone_is_accepted() -> None:
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE, [[[1.0, 47.0], [1.1, 47.0],
                                                               [1.1, 47.1], [1.0, 47.0]]]]}
    (z,) = parse_zones(_doc(_feature(geometry=multi)))
    assert z.boundary["type"] == "MultiPolygon"
    # area-weighted over both polygons: the larger one pulls it east
    assert 0.5 < z.lon < 1.07


@pytest.mark.parametrize(("doc", "said"), [
    ({"type": "Feature"}, "not a GeoJSON FeatureCollection"),
    (_doc(), "has no features"),
    (_doc(_feature("A b")), "feature 1: properties.id must be a slug"),
    (_doc(_feature(), _feature()), "zone ids repeat: nord"),
    (_doc(_feature(name="")), "properties.name must be 1 to 200"),
    (_doc(_feature(geometry={"type": "Point", "coordinates": [0, 47]})),
     "feature 1 (nord): geometry: the geometry must be a Polygon or a MultiPolygon, not 'Point'"),
    (_doc(_feature(geometry={"type": "Polygon", "coordinates": [[[0, 47], [1, 47], [0, 47]]]})),
     "a ring has at least 4 positions"),
    (_doc(_feature(geometry={"type": "Polygon",
                             "coordinates": [[[0, 47], [1, 47], [1, 48], [0, 48.5]]]})),
     "a ring must be closed"),
    (_doc(_feature(geometry={"type": "Polygon",
                             "coordinates": [[[0, 97], [1, 47], [1, 48], [0, 97]]]})),
     "is outside WGS84"),
    (_doc(_feature(centroid=["x", 47])), "feature 1 (nord): centroid: coordinates must be"),
    (_doc(_feature(centroid_lat=47.0)), "give both centroid_lat and centroid_lon"),
    (_doc(*[_feature(f"z{i:03d}") for i in range(MAX_ZONES + 1)]), f"more than {MAX_ZONES}"),
])
def test_a_bad_zones_document_is_refused_naming_what_is_wrong(doc: object, said: str) -> None:
    with pytest.raises(ZonesError) as caught:
        parse_zones(doc)
    assert said in str(caught.value)


def test_a_bad_or_missing_zones_file_is_one_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ZonesError, match=r"zones file .*nowhere.geojson: cannot read it \(No such"):
        load_zones_file(tmp_path / "nowhere.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(ZonesError, match=r"zones file .*bad.geojson: not JSON \(Expecting"):
        load_zones_file(bad)


def test_an_operators_zones_file_replaces_the_demos_by_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "own.geojson"
    own.write_text(json.dumps(_doc(_feature("nord"), _feature("sud", "Sud"))))
    monkeypatch.setenv("TERRITOIRE_ZONES_FILE", str(own))
    assert [z.id for z in zones()] == ["nord", "sud"]
    assert [p.zone for p in plan_nodes(4, kinds=("weather", "air"))] == ["nord", "nord", "sud",
                                                                          "sud"]


def test_a_gateway_with_a_bad_zones_file_stops_at_start_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "zones.geojson"
    bad.write_text(json.dumps(_doc(_feature(geometry={"type": "Point", "coordinates": [0, 1]}))))
    config = tmp_path / "gateway.toml"
    config.write_text(f'name = "gw"\ndata_dir = "{tmp_path}"\n[publish]\nzones_file = "{bad}"\n')
    with pytest.raises(ConfigError, match=r"publish.zones_file: zones file .*Polygon"):
        check_files(load_settings(config))
    result = subprocess.run([sys.executable, "-m", "gateway", "run", "--config", str(config)],
                            cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert "publish.zones_file" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_demo_refuses_a_bad_zones_file_before_starting_anything(tmp_path: Path) -> None:
    bad = tmp_path / "zones.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": []}')
    work = tmp_path / "work"
    result = subprocess.run(
        [sys.executable, "-m", "tools.cli", "demo", "--zones", str(bad), "--workdir", str(work),
         "--duration", "5"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        f"error: zones file {bad}: the FeatureCollection has no features"]
    assert not work.exists()
