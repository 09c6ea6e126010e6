"""The operator's commands through the real CLI (`.venv/bin/territoire`) and a real fleet
process: login, claim codes and their labels, zones from GeoJSON, profiles, gateways, tokens.
Every refusal is one line on stderr with the documented exit code, and what is checked
locally is checked before the fleet changes anything."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import segno
from typer.testing import CliRunner

from gateway.broker import free_port
from tools.cli import app
from tools.demo.local_fleet import LocalFleet
from tools.fleet_client import claim
from tools.node.labels import qr_runs

CLI = str(Path(sys.executable).with_name("territoire"))
SQUARE = [[[-0.56, 47.46], [-0.54, 47.46], [-0.54, 47.48], [-0.56, 47.48], [-0.56, 47.46]]]
PROFILE_TOML = """
id = "air-quality"
name = "Station qualité de l'air"
measures = ["temp_c", "rh_pct", "pm25_ugm3"]
purpose = "Mesurer la qualité de l'air pour la santé publique"
legal_basis = "Mission d'intérêt public (RGPD art. 6.1.e)"
operator_name = "Angers Loire Métropole"
contact = "capteurs@angersloiremetropole.fr"
retention = "Agrégats 10 ans"
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f


def run(*args: str | Path, fleet: LocalFleet | None = None, token: str | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "250", "HOME": str(Path.home())}
    if fleet is not None:
        env |= {"TERRITOIRE_FLEET_URL": fleet.url, "TERRITOIRE_FLEET_TOKEN": token or fleet.token}
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=120, check=False, input=stdin)


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def as_json(p: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(p))


def refused(p: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    text = " ".join(p.stderr.split())  # rich wraps long lines
    assert p.returncode == code, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    assert text.startswith("error:"), text
    assert len(p.stderr.strip().splitlines()) <= 3, p.stderr  # one message (wrapped at most)
    for w in words:
        assert w in text, (w, text)
    return text


def feature(zone_id: str, name: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"id": zone_id, "name": name, **props},
            "geometry": geometry}


def write_geojson(path: Path, *features: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}))
    return path


@pytest.fixture(scope="module")
def placed(fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A zone, a profile and a gateway made with the CLI itself."""
    d = tmp_path_factory.mktemp("placed")
    zones = write_geojson(d / "z.geojson", feature("jean-mace", "Jean Macé",
                                                   {"type": "Polygon", "coordinates": SQUARE}))
    ok(run("zones", "import", zones, fleet=fleet))
    (d / "air.toml").write_text(PROFILE_TOML)
    ok(run("profiles", "create", "--file", d / "air.toml", fleet=fleet))
    ok(run("gateways", "create", "gw-jean-mace", "--name", "Jean Macé", fleet=fleet))
    return {"zone": "jean-mace", "profile": "air-quality", "gateway": "gw-jean-mace"}


def codes(fleet: LocalFleet) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = as_json(run("claim-codes", "list", "--json", fleet=fleet))
    return rows


# -- login and tokens ------------------------------------------------------------------------


def test_login_with_a_password_gives_a_token_the_other_commands_accept(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    pw = tmp_path / "pw"
    pw.write_text(fleet.admin_password + "\n")
    out = ok(run("login", "--fleet", fleet.url, "--email", fleet.admin_email,
                 "--password-file", pw, "--name", "laptop"))
    token = re.search(r"TERRITOIRE_FLEET_TOKEN=(\S+)", out)
    assert token is not None, out
    listed = as_json(run("tokens", "list", "--json", fleet=fleet, token=token.group(1)))
    assert "laptop" in {t["name"] for t in listed}
    pw.write_text("not the password at all\n")
    refused(run("login", "--fleet", fleet.url, "--email", fleet.admin_email, "--password-file",
                pw), 3, "401", "wrong email or password")


def test_a_viewer_token_reads_but_cannot_create_and_a_revoked_token_stops_working(
    fleet: LocalFleet, placed: dict[str, str]
) -> None:
    t = as_json(run("tokens", "create", "--name", "lecture", "--role", "viewer", "--ttl-days",
                    "2", "--json", fleet=fleet))
    assert t["role"] == "viewer"
    viewer = t["token"]
    assert "jean-mace" in ok(run("zones", "list", fleet=fleet, token=viewer))
    before = len(codes(fleet))
    refused(run("claim-codes", "create", "--zone", placed["zone"], "--profile",
                placed["profile"], fleet=fleet, token=viewer), 3, "403")
    assert len(codes(fleet)) == before
    table = ok(run("tokens", "list", fleet=fleet))
    assert "lecture" in table
    assert "viewer" in table
    ok(run("tokens", "revoke", str(t["id"]), fleet=fleet))
    refused(run("zones", "list", fleet=fleet, token=viewer), 3, "401", "territoire login")


# -- claim codes and labels ------------------------------------------------------------------


def svg_labels(path: Path) -> list[tuple[str, set[tuple[int, int]]]]:
    """(code text, dark modules of its QR) for every label of an SVG sheet."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    found = []
    for g in ET.parse(path).getroot().findall("s:g", ns):
        code = g.find("s:text[@class='code']", ns)
        qr = g.find("s:path[@class='qr']", ns)
        assert code is not None
        assert qr is not None
        dark = set()
        for col, row, n in re.findall(r"M(\d+) (\d+)h(\d+)", qr.get("d", "")):
            dark |= {(int(row), int(col) + i) for i in range(int(n))}
        found.append((code.text or "", dark))
    return found


def dark_modules(code: str) -> set[tuple[int, int]]:
    qr = segno.make(code, error="m")
    return {(y, x) for y, row in enumerate(qr.matrix) for x, v in enumerate(row) if v & 1}


def test_create_prints_labels_whose_qr_and_text_are_the_codes_and_a_label_claims_a_node(
    fleet: LocalFleet, placed: dict[str, str], tmp_path: Path
) -> None:
    sheet = tmp_path / "labels.svg"
    rows = as_json(run("claim-codes", "create", "--zone", placed["zone"], "--profile",
                       placed["profile"], "--gateway", placed["gateway"], "--count", "3",
                       "--labels", sheet, "--json", fleet=fleet))
    assert len(rows) == 3
    labels = svg_labels(sheet)
    assert [text for text, _ in labels] == [r["code"] for r in rows]
    for text, dark in labels:
        assert dark == dark_modules(text), "the QR holds the code printed under it"
    assert not list(tmp_path.glob(".labels.svg.*")), "no temporary file left"
    node = claim(fleet.url, labels[0][0])  # what the technician's scanner would read
    assert node.zone_id == placed["zone"]
    assert node.gateway_id == placed["gateway"]


def test_labels_reprints_unused_codes_as_pdf_and_revoke_cancels(
    fleet: LocalFleet, placed: dict[str, str], tmp_path: Path
) -> None:
    made = as_json(run("claim-codes", "create", "--zone", placed["zone"], "--profile",
                       placed["profile"], "--count", "2", "--json", fleet=fleet))
    ids = [str(r["id"]) for r in made]
    pdf = tmp_path / "again.pdf"
    assert "2 label(s)" in ok(run("claim-codes", "labels", "--out", pdf, *ids, fleet=fleet))
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-1.4")
    assert data.rstrip().endswith(b"%%EOF")
    # the cross-reference table points at every object: a reader can open it
    xref = int(data.rsplit(b"startxref", 1)[1].split()[0])
    offsets = [int(line[:10]) for line in data[xref:].split(b"trailer")[0].splitlines()[3:]]
    for n, off in enumerate(offsets, start=1):
        assert data[off:].startswith(b"%d 0 obj" % n)
    streams = re.findall(rb"stream\n(.*?)\nendstream", data, re.S)
    content = b"".join(zlib.decompress(s) for s in streams).decode("latin-1")
    for r in made:
        assert f"({r['code']}) Tj" in content
    # both QR codes drawn run by run (the codes differ, and so do their runs)
    assert content.count(" re\n") >= sum(len(qr_runs(r["code"])[1]) for r in made)
    # revoke one: it is cancelled and can no longer be printed
    ok(run("claim-codes", "revoke", ids[0], fleet=fleet))
    row = next(r for r in codes(fleet) if str(r["id"]) == ids[0])
    assert row["used_at"] is not None
    refused(run("claim-codes", "revoke", ids[0], fleet=fleet), 3, "already used or cancelled")
    refused(run("claim-codes", "labels", "--out", tmp_path / "x.svg", ids[0], fleet=fleet), 3,
            "already used or cancelled")
    assert not (tmp_path / "x.svg").exists()
    unused = ok(run("claim-codes", "list", "--unused", fleet=fleet))
    assert f"│ {ids[1]} " in unused
    assert f"│ {ids[0]} " not in unused


def test_an_unwritable_or_existing_labels_file_is_refused_before_any_code_is_made(
    fleet: LocalFleet, placed: dict[str, str], tmp_path: Path
) -> None:
    before = len(codes(fleet))
    args = ["claim-codes", "create", "--zone", placed["zone"], "--profile", placed["profile"]]
    refused(run(*args, "--labels", tmp_path / "no-such-dir" / "l.svg", fleet=fleet), 2,
            "cannot write there")
    existing = tmp_path / "l.pdf"
    existing.write_text("keep me")
    refused(run(*args, "--labels", existing, fleet=fleet), 2, "exists")
    assert existing.read_text() == "keep me"
    refused(run(*args, "--labels", tmp_path / "l.png", fleet=fleet), 2, ".svg or .pdf")
    assert len(codes(fleet)) == before


def test_an_unreachable_fleet_is_exit_3_and_a_missing_token_exit_2(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    p = run("claim-codes", "list", "--fleet", dead, "--token", "x" * 20)
    refused(p, 3, "unreachable", "check --fleet")
    refused(run("zones", "list", "--fleet", dead), 2, "no API token", "territoire login")
    refused(run("zones", "list", "--fleet", "fleet.example", "--token", "t"), 2, "--fleet")


# -- zones ------------------------------------------------------------------------------------


def test_zones_import_creates_then_updates_with_computed_centroids(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    hole = [[-0.455, 47.505], [-0.445, 47.505], [-0.445, 47.515], [-0.455, 47.515],
            [-0.455, 47.505]]
    outer = [[-0.46, 47.50], [-0.44, 47.50], [-0.44, 47.52], [-0.46, 47.52], [-0.46, 47.50]]
    path = write_geojson(
        tmp_path / "quartiers.geojson",
        feature("doutre", "La Doutre", {"type": "Polygon", "coordinates": SQUARE}),
        feature("lac-de-maine", "Lac de Maine",
                {"type": "MultiPolygon", "coordinates": [[outer, hole]]},
                centroid_lat=47.51, centroid_lon=-0.45),
    )
    out = ok(run("zones", "import", path, fleet=fleet))
    assert out.count("created") == 2, out
    zones = {z["id"]: z for z in as_json(run("zones", "list", "--json", fleet=fleet))}
    assert (zones["doutre"]["lat"], zones["doutre"]["lon"]) == pytest.approx((47.47, -0.55))
    assert zones["doutre"]["boundary"] == {"type": "Polygon", "coordinates": SQUARE}
    assert zones["lac-de-maine"]["boundary"]["type"] == "MultiPolygon"
    assert (zones["lac-de-maine"]["lat"], zones["lac-de-maine"]["lon"]) == (47.51, -0.45)
    again = as_json(run("zones", "import", path, "--json", fleet=fleet))
    assert {z["action"] for z in again} == {"unchanged"}
    doc = json.loads(path.read_text())
    doc["features"][0]["properties"]["name"] = "Doutre"
    path.write_text(json.dumps(doc))
    dry = as_json(run("zones", "import", path, "--dry-run", "--json", fleet=fleet))
    assert [z["action"] for z in dry] == ["would be updated", "would be unchanged"]
    zones = {z["id"]: z for z in as_json(run("zones", "list", "--json", fleet=fleet))}
    assert zones["doutre"]["name"] == "La Doutre", "a dry run changes nothing"
    ok(run("zones", "import", path, fleet=fleet))
    zones = {z["id"]: z for z in as_json(run("zones", "list", "--json", fleet=fleet))}
    assert zones["doutre"]["name"] == "Doutre"


@pytest.mark.parametrize(
    ("second", "words"),
    [
        ({"type": "Polygon", "coordinates": [SQUARE[0][:-1]]}, "feature 2 (belle-beille)"),
        ({"type": "Point", "coordinates": [-0.6, 47.48]}, "Polygon or a MultiPolygon"),
    ],
)
def test_an_invalid_geojson_is_one_line_exit_2_and_nothing_is_imported(
    fleet: LocalFleet, tmp_path: Path, second: dict[str, Any], words: str
) -> None:
    path = write_geojson(
        tmp_path / "bad.geojson",
        feature("monplaisir", "Monplaisir", {"type": "Polygon", "coordinates": SQUARE}),
        feature("belle-beille", "Belle-Beille", second),
    )
    refused(run("zones", "import", path, fleet=fleet), 2, words, "nothing imported")
    ids = {z["id"] for z in as_json(run("zones", "list", "--json", fleet=fleet))}
    assert not ids & {"monplaisir", "belle-beille"}
    (tmp_path / "junk.geojson").write_text("{not json")
    refused(run("zones", "import", tmp_path / "junk.geojson", fleet=fleet), 2, "not JSON")
    refused(run("zones", "import", tmp_path / "missing.geojson", fleet=fleet), 2,
            "cannot read it")


# -- profiles and gateways --------------------------------------------------------------------


def test_profiles_create_from_toml_update_with_set_and_refuse_unknown_metrics_locally(
    fleet: LocalFleet, placed: dict[str, str], tmp_path: Path
) -> None:
    assert placed["profile"] in ok(run("profiles", "list", fleet=fleet))
    p = as_json(run("profiles", "update", "air-quality", "--set", "retention=Agrégats 5 ans",
                    "--set", "measures=temp_c,rh_pct", "--json", fleet=fleet))
    assert p["retention"] == "Agrégats 5 ans"
    assert p["measures"] == ["temp_c", "rh_pct"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "noise", "name": "Bruit", "measures": ["decibels_of_doom"],
                               "purpose": "p", "legal_basis": "l", "operator_name": "o",
                               "contact": "c", "retention": "r"}))
    refused(run("profiles", "create", "--file", bad, fleet=fleet), 2, "unknown metric keys")
    assert "noise" not in {x["id"] for x in as_json(run("profiles", "list", "--json",
                                                        fleet=fleet))}
    refused(run("profiles", "update", "air-quality", fleet=fleet), 2, "nothing to change")


def test_gateways_create_list_new_enroll_token_and_revoke(fleet: LocalFleet) -> None:
    first = as_json(run("gateways", "create", "gw-monplaisir", "--name", "Monplaisir",
                        "--json", fleet=fleet))
    assert first["status"] == "pending"
    assert first["enroll_token"]
    out = ok(run("gateways", "enroll-token", "gw-monplaisir", fleet=fleet))
    assert "territoire gateway enroll" in out
    assert first["enroll_token"] not in out
    assert "gw-monplaisir" in ok(run("gateways", "list", "--status", "pending", fleet=fleet))
    refused(run("gateways", "create", "gw-monplaisir", "--name", "again", fleet=fleet), 3, "409")
    ok(run("gateways", "revoke", "gw-monplaisir", "--yes", fleet=fleet))
    listed = {g["id"]: g for g in as_json(run("gateways", "list", "--json", fleet=fleet))}
    assert listed["gw-monplaisir"]["status"] == "revoked"
    p = run("gateways", "revoke", "gw-jean-mace", fleet=fleet, stdin="n\n")
    assert p.returncode == 1
    listed = {g["id"]: g for g in as_json(run("gateways", "list", "--json", fleet=fleet))}
    assert listed["gw-jean-mace"]["status"] == "pending", "answering no revokes nothing"


def test_every_operator_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    commands = {"login": [""], "claim-codes": ["create", "list", "revoke", "labels"],
                "zones": ["import", "list"], "profiles": ["list", "create", "update"],
                "gateways": ["create", "list", "enroll-token", "revoke"],
                "tokens": ["create", "list", "revoke"]}
    for group, subs in commands.items():
        for sub in subs:
            args = [group, sub, "--help"] if sub else [group, "--help"]
            r = runner.invoke(app, args, env={"COLUMNS": "200"})
            assert r.exit_code == 0, (args, r.output)
            assert "Example:" in r.output, args
