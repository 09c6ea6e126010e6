"""The workbench on an emulated node powered by `territoire node emulate` (its own process, a
real pty, the real MicroPython VM): a self-test over the port leaves the node running its
application, the documented mpremote line works as written, the files holding the node's
secret are the owner's only, and `node flash --emulated` refuses a node that is on."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import provisioning_file
from tools.emulator import nodedir

REPO = Path(__file__).resolve().parents[2]
MPREMOTE = Path(sys.executable).with_name("mpremote")


def territoire(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=180, check=False)


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def flashed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(provisioning file, emulated node directory) of a flashed air-quality node."""
    tmp = tmp_path_factory.mktemp("bench")
    prov = provisioning_file(tmp, "ang-0007", hw="emu-x64")
    emu = tmp / "emu"
    done = territoire("node", "flash", "--config", str(prov), "--emulated", str(emu),
                      "--no-selftest")
    assert done.returncode == 0, done.stderr
    return prov, emu


@pytest.fixture
def emulating(flashed: tuple[Path, Path]) -> Iterator[str]:
    """The node on, in a `territoire node emulate` process; yields its serial port."""
    _, emu = flashed
    proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "node", "emulate", str(emu)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = re.search(r"/dev/pts/\d+", line)
        assert port, line + (proc.stderr.read() if proc.stderr else "")
        yield port.group(0)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def _console_after(emu: Path, marker: str) -> str:
    text = (emu / "console.log").read_text(errors="replace")
    return text[text.rindex(marker) + len(marker):] if marker in text else ""


def _resumed(emu: Path, marker: str) -> bool:
    """After the last ``marker``: a hard reset, then the application starting up."""
    after = _console_after(emu, marker)
    return re.search(r"--- boot \d+: HARD ---.*loader: slot a.*node ang-0007 boot", after,
                     re.DOTALL) is not None


def test_selftest_over_the_port_leaves_the_node_running_its_application(
    flashed: tuple[Path, Path], emulating: str
) -> None:
    _, emu = flashed
    p = territoire("node", "selftest", "ang-0007", "--port", emulating, "--timeout", "2")
    assert "Traceback" not in p.stdout + p.stderr
    assert p.returncode == 5, p.stdout + p.stderr  # no gateway at 127.0.0.1:9
    assert "gateway" in p.stdout
    _wait(lambda: _resumed(emu, "ST end"), 30, "the application after the self-test")


def test_the_documented_mpremote_selftest_line_works_as_written(
    flashed: tuple[Path, Path], emulating: str
) -> None:
    _, emu = flashed
    doc = (REPO / "docs" / "cli.md").read_text()
    (line,) = [x for x in doc.splitlines() if x.startswith("mpremote") and "selftest" in x]
    argv = line.split("#")[0].replace("/dev/pts/N", emulating)
    # a board just listed with `fs ls` sits in the REPL without main.py: the line must work
    # from there too (it sets the application's slot on sys.path itself)
    subprocess.run([str(MPREMOTE), "connect", emulating, "fs", "ls"], capture_output=True,
                   timeout=60, check=True)
    done = subprocess.run(["bash", "-c", argv.replace("mpremote", str(MPREMOTE), 1)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ST config ok ang-0007" in done.stdout
    assert "ST end" in done.stdout
    _wait(lambda: _resumed(emu, "ST end"), 30, "the application after the self-test")


def test_console_and_flash_are_the_owners_only(flashed: tuple[Path, Path],
                                               emulating: str) -> None:
    _, emu = flashed
    for name in ("console.log", "flash.img"):
        assert stat.S_IMODE((emu / name).stat().st_mode) == 0o600, name


def test_flash_refuses_a_node_that_is_on(flashed: tuple[Path, Path], emulating: str) -> None:
    prov, emu = flashed
    holder = nodedir.power_holder(emu)
    assert holder is not None
    p = territoire("node", "flash", "--config", str(prov), "--emulated", str(emu),
                   "--no-selftest")
    assert "Traceback" not in p.stdout + p.stderr
    assert p.returncode == 4, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert f"the emulated node in {emu} is running" in lines[0]
    assert "power it off first" in lines[0]
    # refused before the bundle was even built, and the node runs on, untouched
    assert nodedir.power_holder(emu) == holder


def test_a_power_lock_left_by_a_dead_process_means_the_node_is_off(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from tools.emulator import nodedir; "
         f"assert nodedir.take_power(Path({str(tmp_path)!r})) is not None; "
         "print('on', flush=True); time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "on"
    assert nodedir.power_holder(tmp_path) == holder.pid
    assert nodedir.take_power(tmp_path) is None
    holder.kill()  # no chance to clean up: the `on` file stays, with its pid
    holder.wait()
    assert (tmp_path / "on").read_text() == str(holder.pid)
    assert nodedir.power_holder(tmp_path) is None
    fd = nodedir.take_power(tmp_path)
    assert fd is not None
    nodedir.release_power(fd)


def test_selftest_against_a_broker_that_does_not_know_the_node_says_not_synced_yet(
    tmp_path: Path,
) -> None:
    """Just after provisioning, the gateway's broker has no account for the node until the
    next fleet sync: CONNACK refused, which the self-test names."""
    import json

    from gateway.broker import MosquittoProcess
    from gateway.broker_config import password_file
    from tools.fleet_client import ClaimedNode
    from tools.node.provisioning import make_provisioning, write_private

    passwd = tmp_path / "passwd"
    passwd.write_text(password_file([("gateway", "only-the-gateway")]))
    with MosquittoProcess(tmp_path / "broker", extra_conf=(
            f"allow_anonymous false\npassword_file {passwd}\n")) as broker:
        doc = make_provisioning(
            ClaimedNode("ang-0008", 1, bytes(range(32)), "centre", None, "air"),
            fleet_url="http://fleet", gateway_host="127.0.0.1", gateway_port=broker.port,
            wifi_ssid="territoire", wifi_key="", kind=None, sensors=None, interval_s=60,
            hw="emu-x64")
        prov = tmp_path / "ang-0008.json"
        write_private(prov, json.dumps(doc).encode())
        p = territoire("node", "flash", "--config", str(prov), "--emulated",
                       str(tmp_path / "emu"), "--json")
    assert p.returncode == 5, p.stderr
    checks = {c["name"]: c for c in json.loads(p.stdout)["selftest"]["checks"]}
    assert checks["gateway"]["status"] == "fail"
    assert "refused the node's login (CONNACK 5)" in checks["gateway"]["detail"]
    assert "the gateway has not synced this node from the fleet yet" in \
        checks["gateway"]["detail"]
