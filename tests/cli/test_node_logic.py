"""Pure parts of the technician's CLI: claim codes as typed or scanned, the provisioning file,
bundle checks and the self-test report."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from mpremote.transport import TransportError

from tools.fleet_client import ClaimedNode
from tools.node.board import Board
from tools.node.provisioning import (
    ProvisioningError,
    claim_code_from,
    load_provisioning,
    make_provisioning,
    sensors_from_json,
    write_private,
)
from tools.node.selftest import parse_selftest
from tools.release.bundle import BundleError, firmware_files
from tools.release.bundle_check import check_bundle, shadowed_by

CODE = "7KQ2-M4XP-9BNC-T0RE-W5AZ"


@pytest.mark.parametrize("given", [
    CODE, CODE.lower(), CODE.replace("-", ""), CODE.replace("-", " "), f"  {CODE}\n",
    f"https://fleet.angers.example/claim?code={CODE}", f"https://fleet.example/claim/{CODE}",
    f"territoire:claim?code={CODE.lower()}", f"https://x.example/c#{CODE}",
])
def test_claim_code_is_found_typed_or_scanned(given: str) -> None:
    assert claim_code_from(given).replace(" ", "-").replace("-", "") == CODE.replace("-", "")


@pytest.mark.parametrize("given", ["", "hello", "7KQ2-M4XP", CODE + "-AAAA", "x" * 600,
                                   "https://fleet.example/claim?code=nope"])
def test_text_without_a_claim_code_is_refused_with_an_explanation(given: str) -> None:
    with pytest.raises(ProvisioningError, match="claim code"):
        claim_code_from(given)


def _doc(**kw: object) -> dict[str, object]:
    args: dict[str, object] = {"fleet_url": "https://fleet.example", "gateway_host": "gw.local",
                                   "gateway_port": 1883, "wifi_ssid": "capteurs", "wifi_key": "k3y",
                                   "kind": None, "sensors": None, "interval_s": 60.0}
    args.update(kw)
    claimed = ClaimedNode("ang-0007", 1, bytes(range(32)), "centre", "gw-centre", "air")
    return make_provisioning(claimed, **args)  # type: ignore[arg-type]


def test_provisioning_takes_the_sensors_of_the_fleet_profile() -> None:
    doc = _doc()
    node = doc["node"]
    assert isinstance(node, dict)
    assert doc["kind"] == "air"
    assert [s["kind"] for s in node["sensors"]] == ["bme280", "pms5003"]
    assert node["mqtt"]["host"] == "gw.local"
    assert node["mqtt"]["user"] == "ang-0007"
    assert node["mqtt"]["password"] != node["secret"]  # derived, never the signing key
    assert node["wifi"] == {"ssid": "capteurs", "key": "k3y"}
    assert node["zone"] == "centre"


@pytest.mark.parametrize(("kw", "msg"), [
    ({"gateway_host": "gw local;rm"}, "gateway address"),
    ({"gateway_port": 70000}, "port"),
    ({"wifi_ssid": ""}, "SSID"),
    ({"wifi_key": "k" * 64}, "key"),
])
def test_bad_local_settings_are_refused(kw: dict[str, object], msg: str) -> None:
    with pytest.raises(ProvisioningError, match=msg):
        _doc(**kw)


def test_custom_sensor_list_is_bounded_and_checked() -> None:
    assert sensors_from_json(b'[{"kind": "soil", "pin": 34, "dry": 1, "wet": 2}]')[0]["pin"] == 34
    for bad in (b"{}", b"[]", b'[{"kind": "laser"}]', b"not json", b'[{"kind":"soil","x":[1]}]',
                b"[" + b'{"kind":"soil"},' * 9 + b'{"kind":"soil"}]'):
        with pytest.raises(ProvisioningError):
            sensors_from_json(bad)


def test_provisioning_file_is_private_and_read_back_checked(tmp_path: Path) -> None:
    path = tmp_path / "nodes" / "ang-0007.json"
    write_private(path, json.dumps(_doc()).encode())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_provisioning(path)["node_id"] == "ang-0007"
    assert list(path.parent.iterdir()) == [path]  # no temporary file left
    damaged = json.loads(path.read_text())
    damaged["node"]["secret"] = "00"
    path.write_text(json.dumps(damaged))
    with pytest.raises(ProvisioningError, match="secret"):
        load_provisioning(path)


def test_the_built_bundle_passes_its_checks_and_foreign_ones_do_not() -> None:
    files = firmware_files(arch="x64")
    check_bundle(files, "x64")
    with pytest.raises(BundleError, match="another chip"):
        check_bundle(files, "xtensawin")  # sound.mpy holds x64 native code
    broken = {**files, "a/node.mpy": b"garbage"}
    with pytest.raises(BundleError, match=r"a/node\.mpy: not a compiled MicroPython module"):
        check_bundle(broken, "x64")
    missing = {k: v for k, v in files.items() if not k.startswith("a/selftest")}
    with pytest.raises(BundleError, match=r"a/selftest\.mpy is missing"):
        check_bundle(missing, "x64")
    with pytest.raises(BundleError, match="provisioning file"):
        check_bundle({**files, "node.json": b"{}"}, "x64")


def test_old_sources_that_would_shadow_new_modules_are_named() -> None:
    assert shadowed_by({"node.mpy": b"", "main.py": b"", "sensors/pm.mpy": b""}) == [
        "main.mpy", "node.py", "sensors/pm.py"]


SELFTEST_OUT = """\
ST config ok ang-0007 zone centre fw 0.1.0
ST sensor:bme280 ok {"p_hpa": 1003.5, "temp_c": 15.07, "rh_pct": 68.1}
ST sensor:pms5003 ok {"pm25_ugm3": 17.0, "pm10_ugm3": 28.0}
ST wifi ok rssi -60
ST gateway ok broker 127.0.0.1:1883, gateway answered
ST clock ok 1795000000
ST heap ok 61984 91616
ST flash ok 1990656 2097152
ST end pass 0
"""


def test_selftest_report_passes_a_healthy_node() -> None:
    r = parse_selftest(SELFTEST_OUT)
    assert r.passed
    assert r.node_id == "ang-0007"
    assert [c.name for c in r.checks][:3] == ["config", "sensor:bme280", "sensor:pms5003"]
    assert "temp_c=15.07 °C" in r.checks[1].detail


def test_selftest_report_fails_implausible_values_low_heap_and_unfinished_runs() -> None:
    odd = SELFTEST_OUT.replace('"temp_c": 15.07', '"temp_c": 150.0').replace("61984", "9000")
    r = parse_selftest(odd)
    assert not r.passed
    bad = {c.name: c.detail for c in r.checks if c.status == "fail"}
    assert "temp_c=150 outside -40..85" in bad["sensor:bme280"]
    assert "heap" in bad
    head = SELFTEST_OUT.split("ST heap", maxsplit=1)[0]
    cut = parse_selftest(head + "Traceback (most recent call last):")
    assert not cut.passed
    assert not cut.finished
    assert any(c.name == "board" for c in cut.checks)


class _BootingTransport:
    """mpremote's transport as a board still booting meets it: the first raw-REPL attempt prints
    what the board said (as mpremote does) and fails; the second succeeds."""

    in_raw_repl = False

    def __init__(self) -> None:
        self.attempts = 0

    def enter_raw_repl(self, soft_reset: bool = True) -> None:
        self.attempts += 1
        if self.attempts == 1:
            print(b"loader: slot a \nnode ang-0001 boot 1 fw 0.1.0 slot a \n")
            raise TransportError("could not enter raw repl")
        self.in_raw_repl = True


def test_a_board_still_booting_prints_nothing_into_the_commands_json_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    board = Board.__new__(Board)  # the transport alone, no serial port
    board.port = "/dev/ttyUSB0"
    board._t = _BootingTransport()  # type: ignore[assignment]
    board.restart_raw()
    assert board._t.attempts == 2  # type: ignore[attr-defined]
    assert capsys.readouterr().out == ""
