"""``territoire node sign`` through the real CLI and a real fleet process: an A5 PDF with the
profile's texts and a QR code to the register of the node's zone and type; a bad --out or an
unknown node refused in one line with the documented exit code."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.pdf import qr_runs
from fleet.street_sign import SignFacts, sign_pdf, wrap
from tests.cli.test_ops_cli import (
    PROFILE_TOML,
    SQUARE,
    feature,
    ok,
    refused,
    run,
    write_geojson,
)
from tools.demo.local_fleet import LocalFleet
from tools.fleet_client import FleetClient, claim

PURPOSE = "Mesurer la qualité de l'air pour la santé publique"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f


@pytest.fixture(scope="module")
def node_id(fleet: LocalFleet, tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("placed")
    zones = write_geojson(d / "z.geojson", feature("jean-mace", "Jean Macé",
                                                   {"type": "Polygon", "coordinates": SQUARE}))
    ok(run("zones", "import", zones, fleet=fleet))
    (d / "air.toml").write_text(PROFILE_TOML)
    ok(run("profiles", "create", "--file", d / "air.toml", fleet=fleet))
    with FleetClient(fleet.url, fleet.token) as c:
        [code] = c.claim_codes(zone_id="jean-mace", gateway_id=None, profile_id="air-quality")
    return claim(fleet.url, code).node_id


def content_of(pdf: bytes) -> str:
    streams = re.findall(rb"stream\n(.*?)\nendstream", pdf, re.S)
    return "".join(zlib.decompress(s).decode("latin-1") for s in streams)


def shown_text(content: str) -> str:
    return " ".join(re.findall(r"\((.*?)\) Tj", content))


def test_node_sign_writes_an_a5_pdf_with_the_purpose_and_a_qr_to_the_zone_and_type(
    fleet: LocalFleet, node_id: str, tmp_path: Path
) -> None:
    out = tmp_path / "panneau.pdf"
    assert str(out) in ok(run("node", "sign", node_id, "--out", out, fleet=fleet))
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-1.4")
    assert b"/MediaBox [0 0 419.53 595.28]" in pdf
    content = content_of(pdf)
    text = shown_text(content)
    assert PURPOSE.encode("cp1252").decode("latin-1") in text
    assert "Angers Loire M\xe9tropole" in text
    assert "capteurs@angersloiremetropole.fr" in text
    assert "Aucune donn\xe9e personnelle" in text  # the profile processes none
    # the QR's payload is the register of the sign's group, never the node
    link = f"{fleet.url}/register?zone=jean-mace&profile=air-quality"
    assert link in text
    assert node_id not in text
    _modules, runs = qr_runs(link)
    drawn = re.findall(r"^[\d.]+ [\d.]+ [\d.]+ [\d.]+ re$", content, re.M)
    assert len(drawn) == len(runs), "the QR drawn is the link's, run by run"
    # the link opens the register filtered to that group, with the node's entry in it
    with FleetClient(fleet.url) as c:
        page = c.client.get(link.removeprefix(fleet.url))
    assert page.status_code == 200
    assert "Station qualité de l&#39;air" in page.text
    assert "Vous venez d&#39;un panneau dans la rue" in page.text


def test_the_sign_is_the_same_bytes_but_for_its_date(
    fleet: LocalFleet, node_id: str, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    ok(run("node", "sign", node_id, "--out", a, fleet=fleet))
    ok(run("node", "sign", node_id, "--out", b, fleet=fleet))
    assert a.read_bytes() == b.read_bytes()


def test_a_bad_out_is_refused_before_the_fleet_is_asked_and_an_unknown_node_is_exit_3(
    fleet: LocalFleet, node_id: str, tmp_path: Path
) -> None:
    dead = "http://127.0.0.1:9"  # never reached: the file is checked first
    env_free = ["--fleet", dead, "--token", "x" * 20]
    refused(run("node", "sign", node_id, "--out", tmp_path / "none" / "s.pdf", *env_free), 2,
            "cannot write there")
    refused(run("node", "sign", node_id, "--out", tmp_path / "s.svg", *env_free), 2, ".pdf")
    existing = tmp_path / "keep.pdf"
    existing.write_text("keep me")
    refused(run("node", "sign", node_id, "--out", existing, *env_free), 2, "exists")
    assert existing.read_text() == "keep me"
    refused(run("node", "sign", "no-such-node", "--out", tmp_path / "s.pdf", fleet=fleet), 3,
            "404", "no such node")
    refused(run("node", "sign", "../x", "--out", tmp_path / "s.pdf", fleet=fleet), 2,
            "not a node id")
    assert not list(tmp_path.glob("s.pdf*"))
    assert not list(tmp_path.glob(".s.pdf*"))


def test_long_profile_texts_are_wrapped_and_cut_with_an_ellipsis_above_the_qr() -> None:
    facts = SignFacts("Compteur " * 40, "Quartier " * 20, ("people_n",), "Mesurer " * 400,
                      "Mission " * 60, "Exploitant " * 20, "c@x.fr", True,
                      "Adresses hachées " * 100, "Dix ans " * 60)
    content = content_of(sign_pdf(facts, "https://f.example/register?zone=a&profile=b",
                                  "2025-06-01"))
    text = shown_text(content)
    assert "\x85" in text  # cp1252's ellipsis: the long texts were cut
    assert "sel oubli\xe9" in text  # a people counter: the hashes are forgotten
    lines = re.findall(r"BT /F\d ([\d.]+) Tf ([\d.]+) ([\d.]+) Td \((.*?)\) Tj ET", content)
    qr_top_pt = 595.28 - (210 - 12 - 38 - 8) * 72 / 25.4
    for _size, x, y, line in lines:
        assert float(x) >= 12 * 72 / 25.4 - 0.01
        if float(x) < 30 and "Imprim" not in line:  # the left column ends above the QR
            assert float(y) > qr_top_pt, line
        assert len(line) < 90, line


def test_wrap_keeps_short_text_whole_and_cuts_a_word_wider_than_a_line() -> None:
    assert wrap("Air et bruit", 100, 10, 3) == ["Air et bruit"]
    cut = wrap("x" * 200, 20, 10, 2)
    assert len(cut) == 2
    assert cut[-1].endswith("…")
