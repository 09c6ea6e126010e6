"""Where the MicroPython VM and the firmware sources are, for tests."""

from __future__ import annotations

from pathlib import Path

from tools.emulator.vm import BOARD_DIR, micropython_binary

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware"
BOARD = BOARD_DIR
# An ESP32 without PSRAM leaves MicroPython about 100 KB of heap.
HEAPSIZE = "100K"


def micropython_cmd(heapsize: str = HEAPSIZE) -> list[str]:
    return [micropython_binary(), "-X", f"heapsize={heapsize}"]


def vm_path(*extra: Path) -> str:
    """MICROPYPATH: the test directory, the firmware, then the emulated board."""
    parts = [*map(str, extra), str(FIRMWARE), str(BOARD), ".frozen"]
    return ":".join(parts)
