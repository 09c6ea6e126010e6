"""docs/cli.md's walkthrough, run: from an empty fleet to a completed rollout with the
`territoire` CLI alone.

Every `territoire` command of the walkthrough section is run here, in order, as a subprocess of
the real CLI: the fleet service (its own process, SQLite), an admin, a token from the password,
the demo's zones, a sensor profile, a gateway and its enrollment token, two claim codes printed
as labels, a release key registered before the nodes are claimed, the gateway enrolled and
running with its private Mosquitto, two emulated nodes (real MicroPython VMs) provisioned,
flashed and powered on, a release built from a modified copy of firmware/, signed, published
and rolled out in two groups, and both nodes reporting the new version in the fleet. No file is
edited by hand: the only file written here is the gateway configuration, taken from the page.
The last check holds the page to the test: every command it shows has been run, with its
options.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import typer.main

from gateway.broker import free_port
from tools.cli import app

pytestmark = pytest.mark.hil

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "cli.md"
FACTORY = (REPO / "firmware" / "version.py").read_text().split('"')[1]
NEW = "0.2.0"
PASSWORD = "correct horse battery staple 2026"  # the admin's, typed at the prompt


def walkthrough() -> str:
    text = DOC.read_text()
    start = text.index("<!-- walkthrough")
    return text[start:text.index("<!-- /walkthrough -->", start)]


def doc_commands() -> list[list[str]]:
    """The `territoire` command lines of the walkthrough, continuation lines joined."""
    logical = re.sub(r"\\\n\s*", " ", walkthrough())
    found = []
    for line in logical.splitlines():
        if line.startswith("territoire "):
            found.append(shlex.split(line.split("  #", 1)[0], comments=False)[1:])
    return found


def shape(argv: list[str]) -> tuple[str, frozenset[str]]:
    """A command line as (command path, option names): what the page and a run must share."""
    command = typer.main.get_command(app)
    path: list[str] = []
    for token in argv:
        sub = getattr(command, "commands", {}).get(token)
        if sub is None:
            break
        command = sub
        path.append(token)
    options = frozenset(a.split("=", 1)[0] for a in argv if a.startswith("--"))
    return " ".join(path), options


class Cli:
    """The technician's and operator's shell: a working directory, exported variables, and a
    record of every command run."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
        self.ran: list[tuple[str, frozenset[str]]] = []
        self.services: list[tuple[subprocess.Popen[bytes], Path]] = []

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        self.ran.append(shape(list(args)))
        return [sys.executable, "-m", "tools.cli", *args]

    def __call__(self, *args: str, stdin: str | None = None,
                 timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self._argv(args), cwd=self.work, env=self.env, input=stdin,
                                capture_output=True, text=True, timeout=timeout, check=False)
        assert result.returncode == 0, f"territoire {shlex.join(args)}:\n{result.stdout}" \
                                       f"{result.stderr}"
        assert "Traceback" not in result.stdout + result.stderr
        return result

    def service(self, name: str, *args: str) -> Path:
        """A command that runs until stopped (a service, or a powered-on board): its log."""
        log = self.work / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(self._argv(args), cwd=self.work, env=self.env, stdout=out,
                                    stderr=out, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        self.services.append((proc, log))
        return log

    def stop(self) -> None:
        for proc, _ in reversed(self.services):  # nodes, then the gateway, then the fleet
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}:\n{log.read_text(errors='replace')[-2500:]}"
                         for _, log in self.services)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    shell = Cli(tmp_path)
    try:
        yield shell
    finally:
        shell.stop()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(cli: Cli, what: str, predicate: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    consoles = "\n".join(f"--- {p.parent.name} console:\n{p.read_text(errors='replace')[-1500:]}"
                         for p in sorted(cli.work.glob("emu/*/console.log")))
    raise AssertionError(f"timed out ({timeout:.0f} s) waiting for {what}\n{cli.logs()}\n"
                         f"{consoles}")


def _gateway_config(cli: Cli, fleet_url: str, mqtt_port: int, http_port: int) -> Path:
    """The page's gateway.toml with what a test machine cannot have changed (paths, ports,
    loopback only) and short intervals, so the test does not wait a minute for each poll."""
    page = walkthrough()
    text = page[page.index("<<'END'\n") + len("<<'END'\n"):page.index("\nEND\n")]
    for old, new in [('"/var/lib/territoire-gateway"', f'"{cli.work / "gw"}"'),
                     ("port = 1883", f"port = {mqtt_port}"),
                     ('listen_host = "0.0.0.0"', 'listen_host = "127.0.0.1"'),
                     ('"http://fleet.angers.example:8000"', f'"{fleet_url}"')]:
        assert old in text, old
        text = text.replace(old, new)
    text = text.replace('[fleet]\n', '[fleet]\nsync_interval_s = 1.0\n')
    text += (f"\n[http]\nport = {http_port}\n[uplink]\ninterval_s = 1.0\nhealth_interval_s = 2.0\n"
             "[ota]\npoll_interval_s = 1.0\noffer_interval_s = 3.0\nstatus_interval_s = 0.5\n")
    conf = cli.work / "gateway.toml"
    conf.write_text(text)
    return conf


@pytest.mark.timeout(1200)  # about 4 minutes alone; a rollout's pace is the gateway's polls
def test_the_walkthrough_from_an_empty_fleet_to_a_completed_rollout(cli: Cli) -> None:
    work = cli.work
    fleet_port, mqtt_port, http_port = free_port(), free_port(), free_port()
    fleet_url = f"http://127.0.0.1:{fleet_port}"
    db = f"sqlite:///{work / 'fleet.db'}"

    # the fleet's machine
    cli("fleet", "master-key", "--out", "master.key")
    cli.env["TERRITOIRE_FLEET_MASTER_KEY_FILE"] = str(work / "master.key")
    cli.service("fleet", "fleet", "serve", "--database-url", db, "--port", str(fleet_port))
    _wait(cli, "the fleet service",
          lambda: _port_open(fleet_port)
          and httpx.get(f"{fleet_url}/api/v1/utils/ready", timeout=5).status_code == 200, 90)
    cli("fleet", "admin", "create", "--database-url", db, "--email", "admin@angers.example",
        stdin=f"{PASSWORD}\n{PASSWORD}\n")

    # the operator's workstation
    cli.env["TERRITOIRE_FLEET_URL"] = fleet_url
    (work / "admin.pw").write_text(PASSWORD + "\n")
    said = cli("login", "--email", "admin@angers.example", "--password-file", "admin.pw").stdout
    token = re.search(r"^export TERRITOIRE_FLEET_TOKEN=(\S+)$", said, re.MULTILINE)
    assert token is not None, said
    cli.env["TERRITOIRE_FLEET_TOKEN"] = token.group(1)
    cli("zones", "import", str(REPO / "data" / "zones" / "angers-quartiers.geojson"))
    cli("profiles", "create", "--file", str(REPO / "docs" / "examples" / "profile-weather.toml"))
    gateway = json.loads(cli("gateways", "create", "gw-centre", "--name", "Mairie, toit",
                             "--json").stdout)
    created = json.loads(cli("claim-codes", "create", "--zone", "centre", "--profile", "weather",
                             "--gateway", "gw-centre", "--count", "2", "--labels", "labels.pdf",
                             "--json").stdout)
    codes = [c["code"] for c in created]
    assert len(codes) == 2
    assert (work / "labels.pdf").read_bytes().startswith(b"%PDF-")

    # the release manager: the key exists before the nodes are claimed
    usb = work / "usb"
    usb.mkdir()
    (usb / "pass").write_text("a passphrase that never leaves the usb key\n")
    cli("release", "keygen", "--out", str(usb / "release.pem"), "--passphrase-file",
        str(usb / "pass"))
    cli("release", "register-key", str(usb / "release.pub.pem"), "--name", "releases 2026")

    # the gateway
    conf = _gateway_config(cli, fleet_url, mqtt_port, http_port)
    cli("gateway", "enroll", "--config", str(conf), "--token", gateway["enroll_token"])
    cli.service("gateway", "gateway", "run", "--config", str(conf), "--manage-broker")
    _wait(cli, "the gateway and its Mosquitto",
          lambda: _port_open(mqtt_port) and _port_open(http_port), 90)

    # the technician: two labels, two nodes
    nodes: list[str] = []
    passwd = work / "gw" / "broker" / "passwd"
    for i, code in enumerate(codes, 1):
        out = f"nodes/node-{i}.json"
        shown = json.loads(cli("node", "provision", "--code", code, "--gateway-host",
                               "127.0.0.1", "--gateway-port", str(mqtt_port), "--wifi-ssid",
                               "capteurs-angers", "--hw", "emu-x64", "--interval", "5",
                               "--out", out, "--json").stdout)
        node_id = shown["node_id"]
        nodes.append(node_id)
        written = json.loads((work / out).read_text())["node"]
        assert written["hw"] == "emu-x64"
        assert written["release_keys"], "the fleet's release key, written at provisioning"
        # the gateway learns the node at its next sync; the self-test in `flash` needs it
        account = f"{node_id}:"
        _wait(cli, f"the gateway's broker account for {node_id}",
              lambda: passwd.exists() and account in passwd.read_text(), 60)  # noqa: B023
        cli("node", "flash", "--config", out, "--emulated", f"emu/{node_id}")
        cli.service(node_id, "node", "emulate", f"emu/{node_id}")

    http = httpx.Client(base_url=f"{fleet_url}/api/v1", timeout=20,
                        headers={"Authorization": f"Bearer {cli.env['TERRITOIRE_FLEET_TOKEN']}"})

    def fw(node_id: str) -> str | None:
        health = http.get(f"/nodes/{node_id}").json().get("health") or {}
        return health.get("fw")

    _wait(cli, f"both nodes running {FACTORY} in the fleet's view",
          lambda: all(fw(n) == FACTORY for n in nodes), 120)

    # a release from a modified copy of the firmware, signed offline, published, rolled out
    source = work / "territoire-0.2.0" / "firmware"
    shutil.copytree(REPO / "firmware", source)
    with (source / "node.py").open("a") as f:
        f.write("# 0.2.0: a change the bundle's hashes must show\n")
    built = cli("release", "build", "--hw", "emu-x64", "--version", NEW, "--source", str(source),
                "--out", "fw-0.2.0-emu.tar").stdout
    assert str(source) in " ".join(built.split())
    cli("release", "sign", "fw-0.2.0-emu.tar", "--key", str(usb / "release.pem"),
        "--passphrase-file", str(usb / "pass"))
    published = cli("release", "publish", "fw-0.2.0-emu.tar").stdout
    release_id = re.search(r"published release (\d+)", published)
    assert release_id is not None, published
    started = cli("rollout", "start", "--release", release_id.group(1), "--name", "0.2.0 centre",
                  "--zone", "centre", "--group", "1:1:0", "--group", "100%:1:0").stdout
    rollout_id = re.search(r"^rollout (\d+) ", started, re.MULTILINE)
    assert rollout_id is not None, started
    watched = cli("rollout", "status", rollout_id.group(1), "--watch", "--interval", "2",
                  "--timeout", "600", timeout=660)
    assert "completed" in watched.stdout, watched.stdout

    detail = http.get(f"/rollouts/{rollout_id.group(1)}").json()
    assert detail["status"] == "completed"
    assert [(g["total"], g["confirmed"], g["failed"]) for g in detail["groups"]] == [(1, 1, 0),
                                                                                      (1, 1, 0)]
    assert {n["node_id"] for n in detail["nodes"]} == set(nodes)
    _wait(cli, f"both nodes reporting {NEW} to the fleet", lambda: all(fw(n) == NEW for n in nodes),
          120)
    http.close()

    # the page and the test agree: every command shown has been run, with its options
    ran = set(cli.ran)
    missing = [shlex.join(argv) for argv in doc_commands()
               if not any(p == shape(argv)[0] and shape(argv)[1] <= o for p, o in ran)]
    assert missing == []
    assert len(doc_commands()) >= 20
