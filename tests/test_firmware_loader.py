"""The node's loader (firmware/main.py) on the emulated board: the trial deadline is kept by the
loader, whatever the code on trial does. The apps in the slots are small stand-ins; the loader,
the slot record module and the board are the shipped ones."""

from __future__ import annotations

import binascii
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.emulator import EmulatedNode

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"

OLD_APP = b"""
import time
def main():
    print("old app running")
    while True:
        time.sleep_ms(100)
"""

# new code that keeps the watchdog fed (never hangs) but never gets a reading through
NEVER_CONFIRMS = b"""
import machine, time
def main():
    w = machine.WDT(timeout=60000)
    print("new app running")
    while True:
        w.feed()
        time.sleep_ms(100)
"""

# new code that confirms its slot at once, as the app does after two acknowledged readings
CONFIRMS = b"""
import machine, time, slots
def main():
    w = machine.WDT(timeout=60000)
    slots.confirm(slots.load())
    print("new app confirmed")
    while True:
        w.feed()
        time.sleep_ms(100)
"""


def _record(st: dict[str, object]) -> bytes:
    text = json.dumps(st, separators=(",", ":")).encode()
    return text + b" %08x" % binascii.crc32(text)


def _slot_state(node: EmulatedNode) -> dict[str, object]:
    """The newer of the two copies of the slot record (the node must be off)."""
    records = []
    for name in ("slot.a", "slot.b"):
        if name in node.list_files():
            text, _crc = node.read_file(name).rsplit(b" ", 1)
            records.append(json.loads(text))
    return max(records, key=lambda r: int(r["q"]))


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EmulatedNode]:
    n = EmulatedNode(tmp_path / "node", {"node_id": "ang-0001", "seed": 7}, speed=20.0)
    n.create()
    yield n
    n.close()


def _install(node: EmulatedNode, new_app: bytes, trial_s: float) -> None:
    st = {"run": "a", "tr": "b", "n": 0, "sv": 1, "tv": "0.2.0", "tsv": 1, "tmh": "ab" * 32,
          "ev": None, "ev_v": None, "ev_mh": None, "q": 1}
    node.write_files({
        "boot.py": (FIRMWARE / "boot.py").read_bytes(),
        "main.py": (FIRMWARE / "main.py").read_bytes(),
        "node.json": json.dumps({"trial_s": trial_s}).encode(),
        "slot.a": _record(st),
        "a/node.py": OLD_APP,
        "b/node.py": new_app,
        "b/slots.py": (FIRMWARE / "slots.py").read_bytes(),
        "b/store.py": (FIRMWARE / "store.py").read_bytes(),
    })


def test_a_trial_that_feeds_the_watchdog_but_never_confirms_is_rolled_back_by_the_loader(
    node: EmulatedNode,
) -> None:
    _install(node, NEVER_CONFIRMS, trial_s=1.0)
    node.start()
    node.wait_console("old app running", timeout=30)
    console = node.console()
    # three trial boots, each ended by the loader's timer, then the running slot again
    assert console.count("new app running") == 3, console
    assert console.count("loader: trial of slot b not confirmed in time: reset") == 3, console
    assert node.restarts["reset"] == 3, node.restarts
    assert node.restarts["watchdog"] == 0, node.restarts
    node.stop()
    st = _slot_state(node)
    assert st["tr"] is None
    assert st["run"] == "a"
    assert st["ev"] == "rolled_back"
    assert st["ev_v"] == "0.2.0"


def test_a_confirmed_trial_is_left_running_past_the_deadline(node: EmulatedNode) -> None:
    _install(node, CONFIRMS, trial_s=0.5)
    node.start()
    node.wait_console("new app confirmed", timeout=30)
    time.sleep(2.0)  # four times the deadline
    assert node.console().count("loader: slot") == 1, node.console()
    assert node.restarts["reset"] == 0, node.restarts
    node.stop()
    st = _slot_state(node)
    assert st["run"] == "b"
    assert st["tr"] is None
