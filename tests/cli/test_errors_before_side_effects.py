"""Each command checks what it can locally before it claims, enrolls or creates anything: a
failure is one line on stderr with a documented exit code (docs/cli.md), no traceback, and
nothing spent or left behind. Every case runs the real command in a subprocess against the
real fleet process (SQLite) where one is involved."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.broker import free_port
from gateway.fleet_client import Identity
from tools.demo.local_fleet import LocalFleet
from tools.demo.territory import profile_for
from tools.fleet_client import FleetClient

REPO = Path(__file__).resolve().parents[2]


def run(*argv: str, cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def territoire(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return run("-m", "tools.cli", *args, cwd=cwd)


def one_line_error(p: subprocess.CompletedProcess[str], code: int, *said: str) -> str:
    """Exit ``code``, exactly one line on stderr, saying each of ``said``; no traceback."""
    assert "Traceback" not in p.stdout + p.stderr, p.stderr
    assert p.returncode == code, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: "), lines
    for text in said:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        admin = FleetClient(f.url, f.token)
        admin.ensure_zone("centre", "Centre-ville")
        admin.ensure_profile(profile_for("air"))
        admin.close()
        yield f


def _admin(fleet: LocalFleet) -> FleetClient:
    return FleetClient(fleet.url, fleet.token)


def _gateway_token(fleet: LocalFleet, gateway_id: str) -> str:
    admin = _admin(fleet)
    try:
        return admin.create_gateway(gateway_id, f"Passerelle {gateway_id}")
    finally:
        admin.close()


def _gateway_config(tmp_path: Path, fleet: LocalFleet, gateway_id: str, data_dir: Path) -> Path:
    conf = tmp_path / "gateway.toml"
    conf.write_text(
        f'name = "{gateway_id}"\ndata_dir = "{data_dir}"\n'
        f'[mqtt]\nport = {free_port()}\n[http]\nport = {free_port()}\n'
        f'[fleet]\nurl = "{fleet.url}"\ngateway_id = "{gateway_id}"\nsync_interval_s = 1.0\n'
    )
    return conf


# -- node provision -------------------------------------------------------------------------


def test_provision_into_an_unwritable_place_spends_no_claim_code(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    admin = _admin(fleet)
    (code,) = admin.claim_codes(zone_id="centre", gateway_id=None, profile_id="air")
    admin.close()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the technician meant a directory")
    argv = ["node", "provision", "--code", code, "--fleet", fleet.url, "--gateway-host",
            "gw.local", "--wifi-ssid", "capteurs", "--json"]
    p = territoire(*argv, "--out", str(blocker / "nodes" / "n.json"), cwd=tmp_path)
    one_line_error(p, 2, f"cannot write the provisioning file in {blocker / 'nodes'}",
                   "is not a directory", "choose another --out")
    assert blocker.read_text() == "a file where the technician meant a directory"
    # the code was not spent: the same label provisions the node once the path is right
    good = tmp_path / "nodes" / "n.json"
    done = territoire(*argv, "--out", str(good), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(good.read_text())["node_id"] == json.loads(done.stdout)["node_id"]


# -- gateway enroll / run -------------------------------------------------------------------


def test_enroll_into_an_unwritable_data_dir_keeps_the_token(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    token = _gateway_token(fleet, "gw-unwritable")
    blocker = tmp_path / "var-lib"
    blocker.write_text("")
    conf = _gateway_config(tmp_path, fleet, "gw-unwritable", blocker / "gw")
    p = territoire("gateway", "enroll", "--config", str(conf), "--token", token)
    one_line_error(p, 4, f"cannot write the data directory {blocker / 'gw'}",
                   "the token is not spent")
    # the same one-time token enrolls the gateway once data_dir is fixed
    conf = _gateway_config(tmp_path, fleet, "gw-unwritable", tmp_path / "gw")
    done = territoire("gateway", "enroll", "--config", str(conf), "--token", token)
    assert done.returncode == 0, done.stderr
    assert "gateway gw-unwritable enrolled" in done.stdout


@pytest.mark.parametrize("entry", [("-m", "tools.cli", "gateway"), ("-m", "gateway")])
def test_run_before_enrollment_says_to_enroll_and_starts_nothing(
    fleet: LocalFleet, tmp_path: Path, entry: tuple[str, ...]
) -> None:
    data = tmp_path / "gw"
    conf = _gateway_config(tmp_path, fleet, "gw-new", data)
    p = run(*entry, "run", "--config", str(conf))
    prog = "python -m gateway" if entry[-1] == "gateway" and len(entry) == 2 else \
        "territoire gateway"
    one_line_error(p, 3, f"this gateway is not enrolled with {fleet.url}",
                   f"run `{prog} enroll --config {conf} --token TOKEN` first")
    assert not data.exists()  # no keys, database or broker files made


def test_run_of_a_gateway_the_fleet_does_not_know_stops_with_one_line(
    fleet: LocalFleet, tmp_path: Path
) -> None:
    """Keys on disk but never enrolled (or revoked): the fleet answers 401 to the first sync,
    and the gateway stops at once instead of retrying for ever."""
    data = tmp_path / "gw"
    Identity.load(data, "gw-stranger")
    conf = _gateway_config(tmp_path, fleet, "gw-stranger", data)
    p = territoire("gateway", "run", "--config", str(conf))
    assert p.returncode == 3, p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    errors = [line for line in p.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [p.stderr.strip().splitlines()[-1]], p.stderr  # the last line, once
    assert "the fleet refused this gateway (sync refused (401)" in errors[0]
    assert "unknown or unenrolled gateway" in errors[0]
    assert f"territoire gateway enroll --config {conf} --token TOKEN" in errors[0]


# -- fleet serve / admin create -------------------------------------------------------------


def _fleet_env(tmp_path: Path) -> dict[str, str]:
    import base64
    import os

    key = tmp_path / "master.key"
    key.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
    return {**os.environ, "TERRITOIRE_FLEET_MASTER_KEY_FILE": str(key)}


def _serve(tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", "fleet", "serve", "--database-url", url, "--port",
         str(free_port())], cwd=tmp_path, env=_fleet_env(tmp_path), capture_output=True,
        text=True, timeout=60, check=False)


def test_serve_refuses_an_unsupported_database(tmp_path: Path) -> None:
    one_line_error(_serve(tmp_path, "mysql://fleet@db/fleet"), 2,
                   "mysql is not supported: use sqlite:///PATH or postgresql://")


def test_serve_refuses_an_sqlite_file_in_a_missing_directory(tmp_path: Path) -> None:
    one_line_error(_serve(tmp_path, f"sqlite:///{tmp_path}/nope/fleet.db"), 2,
                   f"the directory {tmp_path / 'nope'} does not exist")
    assert not (tmp_path / "nope").exists()


def test_serve_reports_a_database_it_cannot_open(tmp_path: Path) -> None:
    # /proc takes no new file, even from root: the driver's own reason is shown
    one_line_error(_serve(tmp_path, "sqlite:////proc/territoire-fleet.db"), 4,
                   "cannot open the database sqlite:////proc/territoire-fleet.db",
                   "unable to open database file")


def test_admin_create_outside_the_fleet_directory_leaves_no_database(tmp_path: Path) -> None:
    # run where no fleet database is: the default URL is ./territoire-fleet.db
    p = territoire("fleet", "admin", "create", "--email", "admin@angers.example", cwd=tmp_path)
    one_line_error(p, 2, "cannot create the admin: no fleet database at "
                   f"{tmp_path / 'territoire-fleet.db'}", "give --database-url")
    assert "Password" not in p.stdout + p.stderr  # refused before asking for it
    assert list(tmp_path.iterdir()) == []


def test_admin_create_in_a_database_that_is_not_the_fleets(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    p = subprocess.run(
        [sys.executable, "-m", "tools.cli", "fleet", "admin", "create", "--email",
         "admin@angers.example", "--database-url", f"sqlite:///{other}", "--password",
         "correct horse battery staple"], cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=False)
    one_line_error(p, 2, "the database has no fleet tables", "territoire fleet serve")
    assert sqlite3.connect(other).execute("SELECT name FROM sqlite_master").fetchall() == []
