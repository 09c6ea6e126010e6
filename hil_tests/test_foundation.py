"""Foundation HIL: real MicroPython VMs on emulated ESP32 boards, a real Mosquitto, the
verifier oracle. Each scenario checks the end-to-end promise: every reading measured arrives,
verified, exactly once, with strictly increasing counters."""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import pytest

from hil_tests.territory_fixture import Territory, territory
from tools.emulator.vm import EMULATION_TRANSIENT_MARGIN, heap_bytes

pytestmark = pytest.mark.hil

HEAP_LIMIT = 100 * 1024


def _strictly_increasing(values: list[int]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


def _drained(t: Territory, node_id: str) -> bool:
    st = t.status(node_id)
    return st is not None and st["buf"] == 0 and st["measured"] > 0


def _print_heap(t: Territory) -> None:
    """The firmware's heap peak: the live heap peak the node reports, less what the emulated
    board and its simulated devices hold (none of which is on a real ESP32's heap)."""
    for node_id, node in t.nodes.items():
        st = t.status(node_id)
        assert st is not None, f"{node_id} printed no status line:\n{node.console()[-3000:]}"
        # only the emulation's measured resident cost is taken off (not its transient margin),
        # so the firmware's figure is never understated
        emulation = (
            int(node.vm_heapsize or 0) - heap_bytes(node.heapsize) - EMULATION_TRANSIENT_MARGIN
        )
        firmware = st["heap_peak"] - emulation
        print(f"{node_id} ({t.plans[node_id].kind.name}): firmware heap peak {firmware} bytes "
              f"(live peak {st['heap_peak']}, emulation {emulation})")
        assert 0 < firmware < HEAP_LIMIT


def test_five_nodes_every_reading_verified_with_increasing_counters(tmp_path: Path) -> None:
    kinds = ("weather", "air", "noise", "people", "bin", "soil")
    with territory(tmp_path, 5, kinds=kinds) as t:
        t.wait(lambda: all(len(t.verifier.counters(n)) >= 8 for n in t.nodes), 90,
               "8 readings from every node")
        t.wait(lambda: all(t.status(n) for n in t.nodes), 30, "a status line from every node")
        for node in t.nodes.values():
            node.stop()
        for node_id in t.nodes:
            counters = t.verifier.counters(node_id)
            assert _strictly_increasing(counters), (node_id, counters)
        assert t.verifier.seen.refused == {}
        _print_heap(t)


def test_link_drop_buffers_then_delivers_everything_once(tmp_path: Path) -> None:
    with territory(tmp_path, 1) as t:
        (node_id, node), = t.nodes.items()
        t.wait(lambda: len(t.verifier.counters(node_id)) >= 3, 60, "first readings")
        node.set_link(False)
        before = len(t.verifier.counters(node_id))
        time.sleep(8)  # about 8 readings measured while the link is down
        assert len(t.verifier.counters(node_id)) <= before + 1
        node.set_link(True)
        t.wait(lambda: len(t.verifier.counters(node_id)) >= before + 8, 60, "backlog")
        t.wait(lambda: _drained(t, node_id), 30, "outbox drained")
        st = t.status(node_id)
        assert st is not None
        counters = t.verifier.counters(node_id)
        # none lost: the verifier holds at least what the node measured up to its last status,
        # none duplicated: every counter once, in order
        assert len(counters) >= st["measured"]
        assert len(set(counters)) == len(counters)
        assert _strictly_increasing(counters)
        _print_heap(t)


# the loader replaced by one that makes the node's status task raise on its first run after a
# marker file was written: the firmware itself is the shipped one
_DIE_ONCE_MAIN = b"""
import os, sys
sys.path.insert(0, "a")
import health, node
if "die_once" in os.listdir():
    os.remove("die_once")
    def _boom(node):
        raise MemoryError("injected")
    health.print_status = _boom  # the status task's (firmware/health.py)
node.main()
"""


def test_a_background_task_that_dies_resets_the_node_and_loses_nothing(tmp_path: Path) -> None:
    with territory(tmp_path, 1) as t:
        (node_id, node), = t.nodes.items()
        t.wait(lambda: len(t.verifier.counters(node_id)) >= 2, 60, "first readings")
        node.stop()
        node.write_files({"main.py": _DIE_ONCE_MAIN, "die_once": b""})
        node.start()
        t.wait(lambda: "MemoryError: injected" in node.console(), 30, "the status task to die")
        died_at = len(node.console())
        # without the reset the node would go on measuring with no status task, forever
        t.wait(lambda: "status heap_peak=" in node.console()[died_at:], 30,
               "a status line after the reset")
        assert node.restarts["reset"] == 1, node.restarts
        assert "task died: Task exception wasn't retrieved" in node.console()
        t.wait(lambda: _drained(t, node_id), 30, "outbox drained")
        counters = t.verifier.counters(node_id)
        assert _strictly_increasing(counters), counters
        st = t.status(node_id)
        assert st is not None
        assert len(counters) >= st["measured"], (len(counters), st)


def test_broker_crash_loses_nothing_end_to_end(tmp_path: Path) -> None:
    with territory(tmp_path, 3) as t:
        t.wait(lambda: all(len(t.verifier.counters(n)) >= 3 for n in t.nodes), 60, "start")
        for _ in range(2):
            t.broker.kill()
            time.sleep(2.5)
            t.broker.start()
            time.sleep(3)
        t.wait(lambda: all(_drained(t, n) for n in t.nodes), 60, "all outboxes drained")
        for node_id in t.nodes:
            counters = t.verifier.counters(node_id)
            st = t.status(node_id)
            assert st is not None
            # exactly once: no counter twice, and at least every reading the node measured.
            # (Order may change: a reading lost with the broker is resent after newer ones.)
            assert len(set(counters)) == len(counters), (node_id, counters)
            assert len(counters) >= st["measured"], (node_id, len(counters), st)
        _print_heap(t)


def test_node_killed_at_random_instants_never_reuses_a_counter(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    with territory(tmp_path, 1, interval_s=0.5) as t:
        (node_id, node), = t.nodes.items()
        t.wait(lambda: len(t.verifier.counters(node_id)) >= 2, 60, "first readings")
        for _ in range(8):
            time.sleep(rng.uniform(0.2, 2.0))
            node.kill()
            node.start()
        t.wait(lambda: _drained(t, node_id), 60, "outbox drained after the last restart")
        counters = t.verifier.counters(node_id)
        assert len(counters) == len(set(counters)), counters
        assert _strictly_increasing(counters), counters
        _print_heap(t)


def test_battery_node_deep_sleeps_between_readings_and_keeps_its_promises(
    tmp_path: Path,
) -> None:
    # a battery node wakes, measures once, delivers, deep-sleeps; the emulated board restarts
    # it from deep sleep, as an ESP32's RTC timer does
    with territory(tmp_path, 1, interval_s=2.0, extra={"battery": True, "awake_s": 10}) as t:
        (node_id, node), = t.nodes.items()
        t.wait(lambda: len(t.verifier.counters(node_id)) >= 4, 90, "four wake-ups delivered")
        assert node.restarts["deepsleep"] >= 3, node.restarts
        counters = t.verifier.counters(node_id)
        assert _strictly_increasing(counters), counters
        # the clock survives deep sleep in RTC memory: no reading ever goes out untimed
        assert t.verifier.seen.refused == {}
        assert "deepsleep heap_peak=" in node.console()
