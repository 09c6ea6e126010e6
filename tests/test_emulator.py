"""The emulated node, end to end: the real MicroPython VM, a real LittleFS image, real processes.

Each test writes a small main.py into the node's flash and watches the console, the files the
board leaves in the node directory, and the host-side supervisor's counters.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.broker import MosquittoProcess
from tools.emulator import FLASH_SIZE, EmulatedNode, LinkProxy, NodeError, ResetCause
from tools.emulator.otadata import select_boot

REPO = Path(__file__).resolve().parent.parent

BOARD = {"node_id": "ang-0001", "seed": 7, "zone": "centre-ville"}
# MQTT 3.1.1 CONNECT (clean session, keepalive 60 s, client id "t1") and its accepting CONNACK
CONNECT = b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x3c\x00\x02t1"
CONNACK_OK = b"\x20\x02\x00\x00"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EmulatedNode]:
    n = EmulatedNode(tmp_path / "node", BOARD, speed=20.0)
    n.create()
    yield n
    n.close()


def _boot_causes(n: EmulatedNode) -> list[int]:
    return [int(line.split()[1]) for line in n.console().splitlines() if line.startswith("cause ")]


def _pids_in_group(pgid: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


# -- flash -------------------------------------------------------------------------------------


def test_files_written_into_flash_are_read_back_by_host_and_node(node: EmulatedNode) -> None:
    blob = random.Random(1).randbytes(10_000)
    node.write_files(
        {
            "main.py": b"import util\nprint('sha', util.sha('pkg/data.bin'))\n",
            "lib/util.py": (
                b"import hashlib, binascii\n"
                b"def sha(p):\n"
                b"    with open(p, 'rb') as f:\n"
                b"        return binascii.hexlify(hashlib.sha256(f.read()).digest()).decode()\n"
            ),
            "/pkg/data.bin": blob,
        }
    )
    assert node.list_files() == ["lib/util.py", "main.py", "pkg/data.bin"]
    assert node.read_file("pkg/data.bin") == blob
    node.start()
    node.wait_console("sha ")
    assert f"sha {hashlib.sha256(blob).hexdigest()}" in node.console()
    node.wait_until(lambda: node.state == "halted")
    assert node.returncode == 0
    with pytest.raises(FileNotFoundError):
        node.read_file("missing.txt")
    with pytest.raises(ValueError, match="inside the flash"):
        node.write_files({"../escape.py": b""})


def test_flash_is_refused_to_the_host_while_the_node_runs(node: EmulatedNode) -> None:
    node.write_files({"main.py": b"import time\ntime.sleep(30)\n"})
    node.start()
    with pytest.raises(NodeError):
        node.write_files({"x.py": b""})
    with pytest.raises(NodeError):
        node.start()


def test_writing_more_than_the_flash_holds_fails_with_enospc(node: EmulatedNode) -> None:
    with pytest.raises(OSError, match="flash put") as host_side:
        node.write_files({"big.bin": bytes(FLASH_SIZE + 4096)})
    assert host_side.value.errno == errno.ENOSPC
    node.write_files(
        {
            "main.py": b"""
import os
buf = bytearray(4096)
n = 0
try:
    with open('fill.bin', 'wb') as f:
        while True:
            f.write(buf)
            n += len(buf)
except OSError as e:
    print('full errno', e.args[0], 'after', n)
os.remove('fill.bin')
with open('after.txt', 'w') as f:
    f.write('still writable')
print('done')
"""
        }
    )
    node.start()
    node.wait_console("done")
    line = next(ln for ln in node.console().splitlines() if ln.startswith("full errno"))
    _, _, code, _, written = line.split()
    assert int(code) == errno.ENOSPC
    assert 0.8 * FLASH_SIZE < int(written) < FLASH_SIZE, "the quota is the filesystem's size"
    node.wait_until(lambda: not node.is_running())
    assert node.read_file("after.txt") == b"still writable"


def test_power_cut_during_writes_keeps_the_filesystem_and_old_files(node: EmulatedNode) -> None:
    old = {f"old/{i}.txt": f"precious {i}".encode() * 50 for i in range(5)}
    # churn.bin is rewritten in place, over and over, each time with one repeated byte:
    # after any power cut it must hold one whole version, never a mix
    churn = b"""
import os
i = 0
buf = bytearray(6000)
while True:
    i = (i + 1) % 256
    for k in range(len(buf)):
        buf[k] = i
    with open('churn.bin', 'wb') as f:
        f.write(buf)
    with open('log.txt', 'a') as f:
        f.write('%d\\n' % i)
    print('wrote', i)
"""
    node.write_files({**old, "main.py": churn})
    rng = random.Random(3)
    for cycle in range(6):
        node.start()
        node.wait_console("wrote", count=cycle + 1)
        time.sleep(rng.uniform(0.0, 0.3))
        node.kill()
        for name, data in old.items():
            assert node.read_file(name) == data, f"cycle {cycle}: {name} damaged"
        content = node.read_file("churn.bin")
        assert len(set(content)) <= 1, f"cycle {cycle}: churn.bin mixes versions"
    assert "mount failed" not in node.console()


# -- resets, sleep, watchdog -------------------------------------------------------------------

_CAUSE = b"import machine\nprint('cause', machine.reset_cause(), machine.wake_reason())\n"


def test_reset_restarts_the_node_with_hard_reset_cause(node: EmulatedNode) -> None:
    node.write_files(
        {
            "main.py": _CAUSE
            + b"if machine.reset_cause() == machine.PWRON_RESET:\n    machine.reset()\n"
        }
    )
    node.start()
    node.wait_until(lambda: len(_boot_causes(node)) >= 2 and node.state == "halted")
    assert _boot_causes(node) == [ResetCause.PWRON, ResetCause.HARD]
    assert node.restarts["reset"] == 1
    assert node.boots == 2


def test_reset_from_a_timer_callback_ends_the_vm_at_once_and_restarts_it(
    node: EmulatedNode,
) -> None:
    # the VM's scheduler would print the SystemExit of machine.reset() and carry on: the board
    # hands the exit to the host, which ends the VM (the loop never prints again) and restarts it
    node.write_files(
        {
            "main.py": _CAUSE
            + b"""
import time
if machine.reset_cause() == machine.PWRON_RESET:
    machine.Timer(0).init(mode=machine.Timer.ONE_SHOT, period=100,
                          callback=lambda t: machine.reset())
    n = 0
    while True:
        n += 1  # busy: the callback runs between these bytecodes
        if n % 20000 == 0:
            print('looping')
        if n == 1000000000:
            print('ran past the reset')
"""
        }
    )
    node.start()
    node.wait_until(lambda: len(_boot_causes(node)) >= 2 and node.state == "halted")
    assert _boot_causes(node) == [ResetCause.PWRON, ResetCause.HARD]
    assert node.restarts["reset"] == 1
    console = node.console()
    assert "looping" in console
    assert "SystemExit" not in console
    assert "ran past the reset" not in console
    # nothing of the first boot runs after its reset: the second boot's marker ends the output
    assert "looping" not in console.split("--- boot 2")[1]


def test_soft_reset_restarts_the_node_with_soft_reset_cause(node: EmulatedNode) -> None:
    node.write_files(
        {"main.py": _CAUSE + b"if machine.reset_cause() == 1:\n    machine.soft_reset()\n"}
    )
    node.start()
    node.wait_until(lambda: len(_boot_causes(node)) >= 2)
    assert _boot_causes(node) == [ResetCause.PWRON, ResetCause.SOFT]


def test_deepsleep_wakes_after_the_accelerated_sleep_time(node: EmulatedNode) -> None:
    # 20 s of deep sleep at speed 20: one second of wall clock
    node.write_files(
        {"main.py": _CAUSE + b"if machine.reset_cause() == 1:\n    machine.deepsleep(20000)\n"}
    )
    node.start()
    node.wait_console("cause 1")
    node.wait_until(lambda: node.state == "sleeping")
    slept_at = time.monotonic()
    assert not node.is_running()
    node.wait_until(lambda: len(_boot_causes(node)) >= 2)
    assert 0.8 < time.monotonic() - slept_at < 3.0
    assert node.console().splitlines()[-1] == f"cause {ResetCause.DEEPSLEEP} 4", "TIMER_WAKE"
    assert node.restarts["deepsleep"] == 1


def test_a_node_with_a_serial_port_deep_sleeps_and_wakes_as_without_one(tmp_path: Path) -> None:
    # `territoire node emulate` powers nodes on with their serial port (the VM runs with a
    # REPL): a battery node's deep sleep must end the VM there too, not leave it in the REPL
    # until its watchdog resets it
    n = EmulatedNode(tmp_path / "node", BOARD, speed=20.0, serial=True)
    n.create()
    try:
        n.write_files({"main.py": _CAUSE + b"machine.WDT(timeout=3000)\n"
                                           b"machine.deepsleep(20000)\n"})
        n.start()
        n.wait_until(lambda: len(_boot_causes(n)) >= 3, timeout=20)
        assert _boot_causes(n)[:3] == [ResetCause.PWRON, ResetCause.DEEPSLEEP,
                                       ResetCause.DEEPSLEEP]
        assert n.restarts["deepsleep"] >= 2
        assert n.restarts["watchdog"] == 0
    finally:
        n.close()


def test_wake_ends_a_deep_sleep_with_pin_wake(node: EmulatedNode) -> None:
    node.write_files(
        {"main.py": _CAUSE + b"if machine.reset_cause() == 1:\n    machine.deepsleep()\n"}
    )
    node.start()
    node.wait_until(lambda: node.state == "sleeping")
    time.sleep(0.3)
    assert node.state == "sleeping", "no timer: sleeps until woken"
    node.wake()
    node.wait_until(lambda: len(_boot_causes(node)) >= 2)
    assert _boot_causes(node)[-1] == ResetCause.DEEPSLEEP
    assert node.console().splitlines()[-1].endswith(" 2"), "PIN_WAKE"


def test_unfed_watchdog_restarts_the_node_with_wdt_reset(node: EmulatedNode) -> None:
    node.write_files(
        {
            "main.py": _CAUSE
            + b"""
import time
if machine.reset_cause() == machine.PWRON_RESET:
    w = machine.WDT(timeout=400)
    while True:
        time.sleep_ms(50)  # hung: never feeds
"""
        }
    )
    node.start()
    node.wait_until(lambda: len(_boot_causes(node)) >= 2, timeout=5)
    assert _boot_causes(node) == [ResetCause.PWRON, ResetCause.WDT]
    assert node.restarts["watchdog"] == 1


def test_fed_watchdog_never_fires(node: EmulatedNode) -> None:
    node.write_files(
        {
            "main.py": _CAUSE
            + b"""
import time
w = machine.WDT(timeout=300)
for i in range(30):
    time.sleep_ms(50)
    w.feed()
print('fed to the end')
while True:
    time.sleep_ms(50)
"""
        }
    )
    node.start()
    node.wait_console("fed to the end")
    assert node.restarts["watchdog"] == 0
    node.wait_until(lambda: node.restarts["watchdog"] == 1, timeout=3)


def test_crashed_main_sits_in_the_repl_until_the_watchdog_fires(node: EmulatedNode) -> None:
    node.write_files(
        {
            "main.py": _CAUSE
            + b"if machine.reset_cause() == 1:\n"
            + b"    machine.WDT(timeout=300)\n"
            + b"    raise RuntimeError('sensor exploded')\n"
        }
    )
    node.start()
    node.wait_until(lambda: len(_boot_causes(node)) >= 2, timeout=5)
    assert "RuntimeError: sensor exploded" in node.console()
    assert _boot_causes(node) == [ResetCause.PWRON, ResetCause.WDT]
    node.wait_until(lambda: node.state == "halted")
    assert node.returncode == 0


def test_rtc_memory_survives_reset_but_not_a_power_cut(node: EmulatedNode) -> None:
    node.write_files(
        {
            "main.py": b"""
import machine
r = machine.RTC()
m = r.memory()
n = m[0] + 1 if m else 1
print('boots in rtc', n)
r.memory(bytes([n]))
if n < 3:
    machine.reset()
"""
        }
    )
    node.start()
    node.wait_console("boots in rtc 3")
    node.kill()
    node.start()
    node.wait_console("boots in rtc 1", count=2)


def test_nvs_commit_survives_a_power_cut(node: EmulatedNode) -> None:
    node.write_files(
        {
            "main.py": b"""
import esp32
nvs = esp32.NVS('territoire')
try:
    n = nvs.get_i32('boots')
except OSError:
    n = 0
print('nvs boots', n)
nvs.set_i32('boots', n + 1)
nvs.commit()
print('committed')
"""
        }
    )
    for i in range(3):
        node.start()
        node.wait_console("committed", count=i + 1)
        node.kill()
    assert "nvs boots 2" in node.console()


def test_ota_trial_boot_rolls_back_unless_confirmed(node: EmulatedNode) -> None:
    # boot 1: install into the other slot; boot 2 (trial) resets without confirming;
    # boot 3: the bootloader is back on ota_0. Then a confirmed update sticks.
    node.write_files(
        {
            "main.py": b"""
import esp32, machine
P = esp32.Partition
run = P(P.RUNNING).info()[4]
print('running', run, machine.reset_cause())
try:
    with open('step') as f:
        step = f.read()
except OSError:
    step = ''
nxt = {'': 'trial', 'trial': 'confirm', 'confirm': 'done', 'done': 'end'}.get(step)
if nxt:
    # (a file left open loses its data at reset, as on the board: close before resetting)
    with open('step', 'w') as f:
        f.write(nxt)
    if step in ('', 'confirm'):
        P(P.RUNNING).get_next_update().set_boot()
    elif step == 'done':
        P.mark_app_valid_cancel_rollback()
    machine.reset()
"""
        }
    )
    node.start()
    node.wait_until(lambda: node.console().count("running") >= 5 and node.state == "halted")
    runs = [ln.split()[1] for ln in node.console().splitlines() if ln.startswith("running")]
    assert runs == ["ota_0", "ota_1", "ota_0", "ota_1", "ota_1"]


@pytest.mark.parametrize(
    ("state", "runs", "after"),
    [
        ({}, "ota_0", {}),
        ({"boot": "ota_1", "st": {"ota_1": "new"}}, "ota_1", {"ota_1": "pending"}),
        (
            {"boot": "ota_1", "st": {"ota_1": "pending", "ota_0": "valid"}},
            "ota_0",
            {"ota_1": "aborted", "ota_0": "valid"},
        ),
        ({"boot": "ota_1", "st": {"ota_1": "valid"}}, "ota_1", {"ota_1": "valid"}),
    ],
)
def test_bootloader_selects_the_partition_like_esp_idf_rollback(
    state: dict[str, object], runs: str, after: dict[str, str]
) -> None:
    out = select_boot(state)
    assert out["run"] == out["boot"] == runs
    assert out["st"] == after


# -- link --------------------------------------------------------------------------------------


def _mqtt_connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(CONNECT)
    assert s.recv(4) == CONNACK_OK
    return s


def _closed(s: socket.socket) -> bool:
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def test_link_proxy_down_drops_connections_and_refuses_new_ones(
    mosquitto: MosquittoProcess,
) -> None:
    with LinkProxy(mosquitto.port) as proxy:
        s = _mqtt_connect(proxy.port)
        assert proxy.connections == 1
        proxy.set_up(False)
        assert proxy.connections == 0
        assert _closed(s)
        try:
            t = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        except ConnectionResetError:
            pass  # reset before connect() returned (a loaded machine): no connection either
        else:
            assert _closed(t), "no new connection while the link is down"
        proxy.set_up(True)
        _mqtt_connect(proxy.port).close()


_LINK_MAIN = b"""
import json, network, socket, time
port = json.load(open('config.json'))['broker_port']
w = network.WLAN(network.STA_IF)
w.active(True)
w.connect('angers-iot', 'k3y')
print('wlan', w.isconnected())
s = socket.socket()
s.connect(socket.getaddrinfo('127.0.0.1', port)[0][-1])
s.send(CONNECT)
print('connack', s.recv(4) == CONNACK_OK)
s.settimeout(0.05)
while True:
    try:
        if s.recv(1) == b'':
            break
    except OSError as e:
        if e.args[0] != 110:  # ETIMEDOUT: nothing to read yet
            break
print('socket closed; wlan', w.isconnected(), w.status())
"""


def test_link_down_closes_the_nodes_connection_and_wlan(
    tmp_path: Path, mosquitto: MosquittoProcess
) -> None:
    with EmulatedNode(tmp_path / "node", BOARD, upstream_port=mosquitto.port) as node:
        node.create()
        prelude = f"CONNECT = {CONNECT!r}\nCONNACK_OK = {CONNACK_OK!r}\n".encode()
        node.write_files(
            {
                "config.json": json.dumps({"broker_port": node.broker_port}).encode(),
                "main.py": prelude + _LINK_MAIN,
            }
        )
        node.start()
        node.wait_console("connack True")
        assert "wlan True" in node.console()
        node.set_link(False)
        node.wait_console("socket closed")
        assert "socket closed; wlan False 201" in node.console(), "STAT_NO_AP_FOUND"
        node.set_link(True)
        _mqtt_connect(node.broker_port).close()


def test_no_process_outlives_stop_or_kill(node: EmulatedNode) -> None:
    node.write_files({"main.py": b"import time\nwhile True:\n    time.sleep_ms(10)\n"})
    node.start()
    proc = node._proc
    assert proc is not None
    assert node.is_running()
    pgid = proc.pid
    assert _pids_in_group(pgid) == [pgid], "the VM leads its own process group"
    node.stop()
    assert not node.is_running()
    assert node.state == "off"
    assert _pids_in_group(pgid) == []
    assert node.returncode is not None
    assert node.returncode < 0
    with pytest.raises(ProcessLookupError):
        os.kill(pgid, 0)
    node.start()
    pgid = node._proc.pid if node._proc else 0
    node.kill()
    assert _pids_in_group(pgid) == []


def test_stop_during_deep_sleep_ends_the_supervisor(node: EmulatedNode) -> None:
    node.write_files({"main.py": b"import machine\nmachine.deepsleep()\n"})
    node.start()
    node.wait_until(lambda: node.state == "sleeping")
    node.stop()
    assert node.state == "off"
    assert node.boots == 1


def test_heap_left_for_the_firmware_after_boot(node: EmulatedNode) -> None:
    node.write_files(
        {
            "main.py": b"""
import gc
gc.collect()
base = gc.mem_alloc()
free = gc.mem_free()
import machine, network, esp32
gc.collect()
print('heap at main.py', base, 'free', free, 'board core', gc.mem_alloc() - base)
"""
        }
    )
    node.start()
    node.wait_console("heap at main.py")
    line = next(ln for ln in node.console().splitlines() if ln.startswith("heap at main.py"))
    print(line)
    words = line.split()
    assert int(words[5]) > 85_000, "less than 85 KB left for the firmware at boot"


def test_vms_die_with_a_runner_killed_without_cleanup(tmp_path: Path) -> None:
    # SIGKILL skips atexit: the parent-death signal must take the VM down with the runner
    script = f"""
import sys, time
from pathlib import Path
from tools.emulator import EmulatedNode
n = EmulatedNode(Path({str(tmp_path / "node")!r}), {{"node_id": "orphan"}})
n.create()
n.write_files({{"main.py": b"import time\\nwhile True:\\n    time.sleep_ms(10)\\n"}})
n.start()
print(n._proc.pid, flush=True)
time.sleep(60)
"""
    runner = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    vm_pid = 0
    try:
        assert runner.stdout is not None
        first = runner.stdout.readline()
        assert first.strip().isdigit(), first + runner.stdout.read()
        vm_pid = int(first)
        assert _pids_in_group(vm_pid) == [vm_pid]
        runner.kill()
        runner.wait()
        deadline = time.monotonic() + 10
        while _pids_in_group(vm_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pids_in_group(vm_pid) == [], "the VM outlived its runner"
    finally:
        runner.kill()
        runner.wait()
        if vm_pid and _pids_in_group(vm_pid):
            os.killpg(vm_pid, signal.SIGKILL)  # don't leave the orphan behind a failed test


FULL_BOARD = {
    **BOARD,
    "speed": 60.0,
    "i2c": {"0": {"scl": 22, "sda": 21, "devices": {"118": "bme280"}}},
    "uart": {"1": "pms5003", "2": "sds011"},
    "adc": {"34": "soil", "35": "battery"},
    "i2s": {"0": "mic"},
    "ultrasonic": {"trig": 5, "echo": 18},
    "ble": "pedestrians",
}
# touches every device of FULL_BOARD through the machine API, then reports the free heap
_ALL_DEVICES_MAIN = b"""
import gc, machine, network, esp32, bluetooth
P = machine.Pin
keep = [machine.I2C(0, scl=P(22), sda=P(21)), machine.UART(1), machine.UART(2),
        machine.ADC(P(34)), machine.ADC(P(35)), machine.RTC(), esp32.NVS('n'),
        network.WLAN(network.STA_IF)]
i2s = machine.I2S(0, sck=P(14), ws=P(15), sd=P(32), mode=machine.I2S.RX, bits=32,
                  format=machine.I2S.MONO, rate=16000, ibuf=1024)
i2s.readinto(bytearray(64))
ble = bluetooth.BLE()
ble.active(True)
ble.gap_scan(100)
machine.time_pulse_us(P(18), 1, 10)
gc.collect()
print('free with every device', gc.mem_free())
"""


def _free_with_every_device(node: EmulatedNode) -> int:
    """Heap left once every emulated device is in use; 0 when the emulation alone exhausts it
    (the uncompensated 100 KB VM may not even fit them: how close depends on interned paths)."""
    node.create()
    node.write_files({"main.py": _ALL_DEVICES_MAIN})
    node.start()
    node.wait_until(
        lambda: "free with every device" in node.console() or "MemoryError" in node.console(),
        timeout=10,
    )
    node.stop()
    if "MemoryError" in node.console():
        return 0
    return int(node.console().split("free with every device")[1].split()[0])


def test_compensated_heap_leaves_the_firmware_its_budget(tmp_path: Path) -> None:
    plain = EmulatedNode(tmp_path / "plain", FULL_BOARD)
    fair = EmulatedNode(tmp_path / "fair", FULL_BOARD, compensate_heap=True)
    try:
        free_plain = _free_with_every_device(plain)
        free_fair = _free_with_every_device(fair)
    finally:
        plain.close()
        fair.close()
    print(f"free heap with every device: {free_plain} plain, {free_fair} compensated")
    assert fair.vm_heapsize is not None
    assert int(fair.vm_heapsize) > 100 * 1024
    # the emulation's own modules and devices would otherwise eat a large part of 100 KB
    assert free_plain < 70_000
    assert free_fair > 90_000
