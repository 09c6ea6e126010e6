"""Where the MicroPython VM and the firmware sources are, for tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware"
BOARD = REPO / "tools" / "emulator" / "board"
# An ESP32 without PSRAM leaves MicroPython about 100 KB of heap.
HEAPSIZE = "100K"


def micropython_binary() -> str:
    local = Path(sys.executable).parent / "micropython"
    if local.exists():
        return str(local)
    found = shutil.which("micropython")
    if found is None:
        raise RuntimeError("micropython not found: run `make venv`")
    return found


def micropython_cmd(heapsize: str = HEAPSIZE) -> list[str]:
    return [micropython_binary(), "-X", f"heapsize={heapsize}"]


def vm_path(*extra: Path) -> str:
    """MICROPYPATH: the test directory, the firmware, then the emulated board."""
    parts = [*map(str, extra), str(FIRMWARE), str(BOARD), ".frozen"]
    return ":".join(parts)
