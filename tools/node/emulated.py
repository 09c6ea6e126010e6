"""An emulated node on the technician's bench: made from a provisioning file when new, powered
on with its serial port for as long as a command needs it (``node flash --emulated``,
``node selftest --emulated``, ``node emulate``)."""

from __future__ import annotations

import contextlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.emulator import EmulatedNode, NodeError, nodedir
from tools.node.kinds import KINDS

__all__ = ["EmulatedError", "check_off", "powered"]


class EmulatedError(Exception):
    """The emulated node cannot be used (no such node, cannot start)."""


def _board_for(doc: dict[str, Any]) -> dict[str, Any]:
    """The emulated hardware of a provisioned node: its kind's standard wiring."""
    kind = doc.get("kind")
    if kind not in KINDS:
        raise EmulatedError("an emulated board needs a standard node kind (provision with "
                            f"--kind {'|'.join(KINDS)})")
    node = doc["node"]
    seed = zlib.crc32(node["id"].encode()) & 0xFFFF
    return {"node_id": node["id"], "seed": seed, "zone": node["zone"], "rssi": -60,
            **KINDS[kind].board}


def check_off(directory: Path) -> None:
    """EmulatedError when another process has the node in ``directory`` on: its VM owns the
    flash, and what we wrote would be lost or mixed with what the VM writes."""
    holder = nodedir.power_holder(directory) if directory.is_dir() else None
    if holder is not None:
        raise EmulatedError(f"the emulated node in {directory} is running (process {holder}, "
                            "e.g. `territoire node emulate`): power it off first (Ctrl-C there)")


@contextlib.contextmanager
def powered(directory: Path, doc: dict[str, Any] | None = None) -> Iterator[EmulatedNode]:
    """An emulated node, on, with its serial port. A new one (blank flash) is made in
    ``directory`` from the provisioning ``doc`` when there is none yet."""
    board_file = directory / "board.json"
    check_off(directory)
    try:
        if board_file.exists():
            board = json.loads(board_file.read_text())
        elif doc is not None:
            board = _board_for(doc)
        else:
            raise EmulatedError(f"no emulated node in {directory} "
                                "(make one with: territoire node flash --emulated DIR)")
        node = EmulatedNode(directory, board, serial=True, compensate_heap=True)
        if not (directory / "flash.img").exists():
            node.create()
        node.start()
    except (OSError, ValueError, NodeError, RuntimeError) as exc:
        raise EmulatedError(f"cannot start the emulated node in {directory}: {exc}") from None
    try:
        yield node
    finally:
        node.close()
