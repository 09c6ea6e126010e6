"""The node directory: the files through which the host and the emulated board talk.

Everything that survives a VM process lives here, as the chip's flash, NVS and RTC domain
survive a reset. The board modules (board/*.py) read and write the same names.

===============  ==========================================================================
``board.json``   the board description (buses, devices, node id, speed...)
``flash.img``    the 2 MiB LittleFS flash (files written with ``EmulatedNode.write_files``)
``console.log``  the VM's stdout and stderr, appended across restarts, one marker per boot
``boot``         "cause wake" of the current boot (written by the host, read by machine)
``link``         "up" / "down": the Wi-Fi link seen by network.WLAN
``wdt``          the watchdog: timeout in ms, mtime = last feed (written by machine.WDT)
``wake``         deep-sleep duration in ms (written by machine.deepsleep)
``exit``         an exit code asked from a soft interrupt (a machine.Timer callback), where
                the VM's scheduler would swallow the exit: the host ends the VM and acts on it
``rtcmem``       RTC RAM; ``rtc_off`` RTC clock offset: both lost at power-on
``nvs.<ns>``     NVS namespaces; ``ota.json`` OTA partition states (esp32 module)
``nomain``       this boot stops in the REPL without main.py (serial port: soft reset from
                the raw REPL, or Ctrl-C during boot)
``on``           the power lock: flock()ed by the process that has the node on, which wrote
                its pid in it; a process that dies releases the lock with it, so a stale
                file means nothing
===============  ==========================================================================

``console.log`` and ``flash.img`` are the owner's only (mode 0600): the flash holds node.json
(the node's secret, the Wi-Fi key) and the console what mpremote printed of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from enum import IntEnum
from pathlib import Path
from typing import Any

from tools.emulator import otadata

__all__ = [
    "Exit",
    "ResetCause",
    "WakeReason",
    "clear_for_boot",
    "clear_rtc_domain",
    "deepsleep_ms",
    "exit_request",
    "link_is_up",
    "power_holder",
    "private_file",
    "release_power",
    "run_bootloader",
    "take_power",
    "watchdog_deadline",
    "write_atomic",
    "write_board",
    "write_boot",
    "write_link",
    "write_no_main",
]


class ResetCause(IntEnum):
    """machine.reset_cause() values of the ESP32 port."""

    PWRON = 1
    HARD = 2
    WDT = 3
    DEEPSLEEP = 4
    SOFT = 5


class WakeReason(IntEnum):
    """machine.wake_reason() values of the ESP32 port (0: not woken from sleep)."""

    NONE = 0
    PIN = 2
    TIMER = 4


class Exit(IntEnum):
    """Exit codes by which the VM asks for a restart (board/machine.py)."""

    RESET = 110
    DEEPSLEEP = 111
    SOFT_RESET = 112


def private_file(path: Path) -> None:
    """Make ``path`` exist, readable and writable by its owner only."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    path.chmod(0o600)  # made before this rule: tighten it


def take_power(node_dir: Path) -> int | None:
    """The power lock of the node (an open descriptor to keep while it is on), or None when
    another process, or another EmulatedNode of this one, has it on."""
    fd = os.open(node_dir / "on", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def release_power(fd: int) -> None:
    os.close(fd)  # closing the descriptor releases the lock


def power_holder(node_dir: Path) -> int | None:
    """The pid of the process that has the node on (0 if it has not written it yet), None
    when the node is off, whatever an ``on`` file left by a dead process says."""
    try:
        fd = os.open(node_dir / "on", os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            with contextlib.suppress(ValueError):
                return int(os.pread(fd, 16, 0))
            return 0
        return None
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_board(node_dir: Path, board: dict[str, Any]) -> None:
    write_atomic(node_dir / "board.json", json.dumps(board).encode())


def write_no_main(node_dir: Path, no_main: bool) -> None:
    """``nomain`` present: _boot.py runs boot.py but not main.py, and the VM sits in its REPL
    (after a soft reset from the raw REPL, as mpremote expects of a board, or a Ctrl-C that
    came during boot)."""
    if no_main:
        write_atomic(node_dir / "nomain", b"1")
    else:
        (node_dir / "nomain").unlink(missing_ok=True)


def write_link(node_dir: Path, *, up: bool) -> None:
    write_atomic(node_dir / "link", b"up" if up else b"down")


def link_is_up(node_dir: Path) -> bool:
    try:
        return (node_dir / "link").read_bytes()[:2] == b"up"
    except FileNotFoundError:
        return True


def clear_rtc_domain(node_dir: Path) -> None:
    """Power lost: RTC memory and the RTC clock setting are gone."""
    for name in ("rtcmem", "rtc_off"):
        (node_dir / name).unlink(missing_ok=True)


def clear_for_boot(node_dir: Path) -> None:
    """Any reset disarms the watchdog and consumes the sleep request."""
    for name in ("wdt", "wake", "exit"):
        (node_dir / name).unlink(missing_ok=True)


def run_bootloader(node_dir: Path) -> None:
    """The OTA partition choice of this boot (trial boot, rollback): see otadata."""
    ota = node_dir / "ota.json"
    if ota.exists():
        state = otadata.select_boot(json.loads(ota.read_bytes()))
        write_atomic(ota, json.dumps(state).encode())


def write_boot(node_dir: Path, cause: ResetCause, wake: WakeReason) -> None:
    write_atomic(node_dir / "boot", f"{cause.value} {wake.value}".encode())


def watchdog_deadline(node_dir: Path) -> float | None:
    """Wall-clock time at which the armed watchdog fires, None if not armed."""
    wdt = node_dir / "wdt"
    try:
        fed = wdt.stat().st_mtime
        timeout_ms = int(wdt.read_bytes())
    except (OSError, ValueError):  # not armed, or being rewritten right now
        return None
    return fed + timeout_ms / 1000


def exit_request(node_dir: Path) -> int | None:
    """The exit code a soft interrupt asked for (board/_m_timer.py), None if none."""
    try:
        return int((node_dir / "exit").read_bytes())
    except (OSError, ValueError):  # none, or being written right now: seen at the next poll
        return None


def deepsleep_ms(node_dir: Path) -> int:
    """The deep sleep asked by the VM that just exited; 0: until woken."""
    try:
        return int((node_dir / "wake").read_bytes())
    except (OSError, ValueError):
        return 0
