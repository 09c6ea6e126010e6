"""The people node in a crowd, end to end: a real MicroPython VM on the emulated board with
N BLE devices in range at every scan, a real Mosquitto, the verifier oracle. Whatever the crowd,
the node stays within its 100 KB heap and never resets; beyond its table's capacity every
reading says so (people_n = 128, the capacity, with people_sat)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil_tests.territory_fixture import territory
from tools.emulator.vm import EMULATION_TRANSIENT_MARGIN, heap_bytes

pytestmark = pytest.mark.hil

HEAP_LIMIT = 100 * 1024
CAP = 128  # the people sensor's default table capacity (firmware/sensors/build.py)


@pytest.mark.parametrize("crowd", [0, 500, 5000])
def test_people_node_in_a_crowd_stays_in_its_heap_and_never_resets(
    tmp_path: Path, crowd: int
) -> None:
    with territory(tmp_path, 1, kinds=("people",), board={"crowd": crowd}) as t:
        ((node_id, node),) = t.nodes.items()
        t.wait(lambda: len(t.verifier.counters(node_id)) >= 8, 120, "8 readings verified")
        t.wait(lambda: t.status(node_id) is not None, 30, "a status line")
        node.stop()
        readings = t.verifier.seen.accepted[node_id]
        console = node.console()
        st = t.status(node_id)
        assert st is not None
        emulation = (
            int(node.vm_heapsize or 0) - heap_bytes(node.heapsize) - EMULATION_TRANSIENT_MARGIN
        )
        firmware = st["heap_peak"] - emulation
        print(f"crowd {crowd}: firmware heap peak {firmware} bytes (live peak "
              f"{st['heap_peak']}, emulation {emulation}); boots {node.boots}; "
              f"people_n {[r.measures['people_n'] for r in readings]}")
    assert sum(node.restarts.values()) == 0, node.restarts
    assert node.boots == 1, node.boots
    assert "MemoryError" not in console
    assert 0 < firmware < HEAP_LIMIT
    assert t.verifier.seen.refused == {}
    if crowd > CAP:
        assert all(r.measures["people_n"] == CAP for r in readings), readings
        assert all(r.flags == {"people_sat"} for r in readings), readings
    else:
        assert all(r.measures["people_n"] < CAP and not r.flags for r in readings), readings
