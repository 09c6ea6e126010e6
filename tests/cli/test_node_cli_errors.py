"""Bad input to the real `territoire` command gets one clear message and a non-zero exit code,
never a traceback. Each case runs the installed entry point's code in a subprocess."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.broker import free_port
from tests.cli.helpers import provisioning_file
from tools.demo.local_fleet import LocalFleet
from tools.release.bundle import firmware_files

REPO = Path(__file__).resolve().parents[2]
UNKNOWN_CODE = "7KQ2-M4XP-9BNC-T0RE-W5AZ"


def territoire(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def fails(p: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    said = p.stdout + p.stderr
    assert p.returncode == code, said
    assert message in " ".join(said.split()), said
    assert "Traceback" not in said


@pytest.fixture
def prov(tmp_path: Path) -> Path:
    return provisioning_file(tmp_path, "ang-0007")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f


def _provision(fleet_url: str, code: str, *extra: str) -> list[str]:
    return ["node", "provision", "--code", code, "--fleet", fleet_url, "--gateway-host",
            "gw.local", "--wifi-ssid", "capteurs", *extra]


def test_unknown_claim_code_is_refused_by_the_fleet(fleet: LocalFleet, tmp_path: Path) -> None:
    p = territoire(*_provision(fleet.url, UNKNOWN_CODE, "--out", str(tmp_path / "n.json")))
    fails(p, 3, "the fleet refused the claim code: unknown, already used or expired")
    assert not (tmp_path / "n.json").exists()


def test_text_that_is_no_claim_code_never_reaches_the_fleet(tmp_path: Path) -> None:
    p = territoire(*_provision(f"http://127.0.0.1:{free_port()}", "hello"))
    fails(p, 2, "no claim code in 'hello'")


def test_unreachable_fleet_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    p = territoire(*_provision(url, UNKNOWN_CODE), cwd=tmp_path)
    fails(p, 3, f"fleet unreachable at {url}")
    fails(p, 3, "check --fleet and the network")


def test_provisioning_never_overwrites_a_file(prov: Path) -> None:
    p = territoire(*_provision("http://127.0.0.1:9", UNKNOWN_CODE, "--out", str(prov)))
    fails(p, 2, "exists: it may hold another node's secret")


def test_unknown_kind_and_bad_sensor_file_are_refused_before_the_claim(tmp_path: Path) -> None:
    fails(territoire(*_provision("http://127.0.0.1:9", UNKNOWN_CODE, "--kind", "laser")), 2,
          "unknown node kind 'laser'")
    bad = tmp_path / "sensors.json"
    bad.write_text('[{"kind": "laser"}]')
    fails(territoire(*_provision("http://127.0.0.1:9", UNKNOWN_CODE, "--sensors", str(bad))), 2,
          'sensor 1: needs a "kind"')


def test_unknown_serial_port(prov: Path) -> None:
    p = territoire("node", "flash", "--config", str(prov), "--port", "/dev/ttyUSB97")
    fails(p, 4, "no serial port /dev/ttyUSB97: is the board plugged in?")
    p = territoire("node", "selftest", "ang-0007", "--port", str(prov))
    fails(p, 4, "is not a serial port")


def test_missing_or_damaged_provisioning_file(prov: Path, tmp_path: Path) -> None:
    p = territoire("node", "flash", "--config", str(tmp_path / "nope.json"), "--port", "/dev/x")
    fails(p, 2, "provision the node first")
    prov.write_text("{not json")
    p = territoire("node", "flash", "--config", str(prov), "--port", "/dev/x")
    fails(p, 2, "is not a provisioning file (not JSON)")


def test_corrupt_bundle_is_refused_before_touching_the_board(prov: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    for name, data in firmware_files(arch="xtensawin").items():
        (bundle / name).parent.mkdir(parents=True, exist_ok=True)
        (bundle / name).write_bytes(data)
    (bundle / "a" / "node.mpy").write_bytes(b"\x00" * 100)
    p = territoire("node", "flash", "--config", str(prov), "--port", "/dev/ttyUSB97",
                   "--bundle", str(bundle))
    fails(p, 2, "firmware bundle: a/node.mpy: not a compiled MicroPython module")


def test_corrupt_micropython_image(prov: Path, tmp_path: Path) -> None:
    image = tmp_path / "micropython.bin"
    image.write_bytes(b"<html>not found</html>")
    p = territoire("node", "flash", "--config", str(prov), "--port", "/dev/ttyUSB97",
                   "--micropython-firmware", str(image))
    fails(p, 4, "is not an ESP32 firmware image")


def test_board_must_be_named_once(prov: Path, tmp_path: Path) -> None:
    fails(territoire("node", "flash", "--config", str(prov)), 2, "give the board: --port")
    fails(territoire("node", "flash", "--config", str(prov), "--port", "/dev/x", "--emulated",
                     str(tmp_path)), 2, "give the board")
    image = tmp_path / "mp.bin"
    image.write_bytes(b"\xe9" + bytes(100))
    fails(territoire("node", "flash", "--config", str(prov), "--emulated", str(tmp_path / "e"),
                     "--micropython-firmware", str(image)), 2, "is for a real board")


def test_selftest_of_a_directory_that_is_no_emulated_node(tmp_path: Path) -> None:
    p = territoire("node", "selftest", "ang-0007", "--emulated", str(tmp_path))
    fails(p, 4, f"no emulated node in {tmp_path}")


def test_monitor_without_a_gateway_configuration(tmp_path: Path) -> None:
    p = territoire("node", "monitor", "ang-0007", "--gateway-config", str(tmp_path / "gw.toml"))
    fails(p, 2, "configuration file not found")
    (tmp_path / "gw.toml").write_text(f'data_dir = "{tmp_path}"\n')
    p = territoire("node", "monitor", "ang-0007", "--gateway-config", str(tmp_path / "gw.toml"))
    fails(p, 1, "no gateway registry at")


def test_gateway_enroll_errors_are_messages(tmp_path: Path) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text("[mqtt]\nport = 'x'\n")
    fails(territoire("gateway", "enroll", "--config", str(cfg), "--token", "t"), 2,
          "bad gateway configuration: mqtt.port must be int")
    cfg.write_text(f'data_dir = "{tmp_path}"\n[fleet]\nurl = "http://127.0.0.1:{free_port()}"\n'
                   'gateway_id = "gw-x"\n')
    p = territoire("gateway", "enroll", "--config", str(cfg), "--token", "tfg_x")
    fails(p, 3, "fleet unreachable")


@pytest.mark.parametrize("command", [
    [], ["node"], ["node", "provision"], ["node", "flash"], ["node", "selftest"],
    ["node", "monitor"], ["node", "emulate"], ["gateway", "enroll"], ["fleet", "admin", "create"],
])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    p = territoire(*command, "--help")
    assert p.returncode == 0, p.stderr
    if command and command[-1] not in ("node", "admin"):
        assert "Example:" in p.stdout


def test_a_server_that_is_not_the_fleet_is_named(tmp_path: Path) -> None:
    """--fleet pointing at some other web server (a captive portal, a typo'd host)."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"<html>Welcome to the hotel Wi-Fi</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            """Quiet: the test reads the CLI's message, not this server's log."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        p = territoire(*_provision(url, UNKNOWN_CODE), cwd=tmp_path)
        fails(p, 3, f"{url} did not answer like a Territoire fleet")
        assert not (tmp_path / "nodes").exists()
    finally:
        server.shutdown()
