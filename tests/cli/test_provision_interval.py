"""`node provision --interval N` with the real CLI against the real fleet: the interval goes
into node.json and with the claim, so the fleet keeps it for the node's gateway (its rate cap);
a fractional interval is refused before the claim code is spent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_node_cli_errors import territoire
from tools.demo.local_fleet import LocalFleet
from tools.demo.territory import profile_for
from tools.fleet_client import FleetClient


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f


def _code(fleet: LocalFleet) -> str:
    with FleetClient(fleet.url, fleet.token) as admin:
        admin.ensure_zone("centre", "Centre-ville")
        admin.ensure_profile(profile_for("air"))
        (code,) = admin.claim_codes(zone_id="centre", gateway_id=None, profile_id="air")
    return code


def _provision(fleet: LocalFleet, tmp_path: Path, code: str, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / f"node-{time.monotonic_ns()}.json"
    p = territoire(
        "node",
        "provision",
        "--code",
        code,
        "--fleet",
        fleet.url,
        "--gateway-host",
        "127.0.0.1",
        "--wifi-ssid",
        "territoire",
        "--out",
        str(out),
        *extra,
    )
    return p.returncode, p.stdout + p.stderr, out


def _fleet_node(fleet: LocalFleet, node_id: str) -> dict[str, object]:
    with FleetClient(fleet.url, fleet.token) as admin:
        return admin.node(node_id)


def test_provision_sends_the_interval_with_the_claim_and_writes_it_to_node_json(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    rc, output, out = _provision(fleet, tmp_path, _code(fleet), "--interval", "90")
    assert rc == 0, output
    doc = json.loads(out.read_text())
    assert doc["node"]["interval_s"] == 90
    assert _fleet_node(fleet, doc["node_id"])["interval_s"] == 90


def test_provision_without_interval_sends_the_default_the_node_runs_with(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    rc, output, out = _provision(fleet, tmp_path, _code(fleet))
    assert rc == 0, output
    doc = json.loads(out.read_text())
    assert doc["node"]["interval_s"] == 60
    assert _fleet_node(fleet, doc["node_id"])["interval_s"] == 60


def test_a_fractional_interval_is_refused_and_the_code_still_claims(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    code = _code(fleet)
    rc, output, out = _provision(fleet, tmp_path, code, "--interval", "7.5")
    assert rc == 2
    assert "--interval" in output
    assert "Traceback" not in output
    assert not out.exists()
    rc, output, out = _provision(fleet, tmp_path, code, "--interval", "8")
    assert rc == 0, output
    assert _fleet_node(fleet, json.loads(out.read_text())["node_id"])["interval_s"] == 8
