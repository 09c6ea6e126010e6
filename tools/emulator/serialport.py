"""The emulated board's USB-serial port: the node's REPL on a pseudo-terminal.

A real ESP32 dev board has a USB-serial chip: the port (``/dev/ttyUSB0``) stays while the chip
behind it resets, boots, runs ``main.py`` or sits in the REPL. Here the port is a pty whose
slave (``/dev/pts/N``) any serial tool opens (mpremote, ``territoire node flash --port``,
picocom); a bridge thread copies bytes between it and the pty of the current VM, which is a
new one at each boot, and tees the VM's output into ``console.log``.

Why a bridge and not the VM's own pty: the unix VM flushes its terminal's input
(``tcsetattr(TCSAFLUSH)``) each time its REPL switches the terminal to raw mode, and echoes
input while it runs code in cooked mode. A board's UART does neither. So input is held while
the VM's terminal is cooked (booting, running ``main.py`` or a REPL command) and delivered
once the REPL reads again; a Ctrl-C meanwhile becomes SIGINT, as the board's UART interrupt
raises KeyboardInterrupt. Input while the node is in deep sleep wakes it (``on_input``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import pty
import select
import signal
import subprocess
import termios
import threading
import tty
from collections.abc import Callable
from pathlib import Path

__all__ = ["SerialPort", "vm_terminal"]

_HOLD_MAX = 64 * 1024  # input held for a busy VM; beyond this it is lost, as in a UART FIFO
_TAIL = 64  # output kept to recognise the REPL's banners across reads
_RAW_BANNER = b"raw REPL; CTRL-B to exit"
_FRIENDLY_BANNER = b'Type "help()" for more information.'
_CTRL_A = b"\x01"
_CTRL_C = 0x03
_SOFT_REBOOT = b"MPY: soft reboot\r\n"


def vm_terminal() -> tuple[int, int]:
    """A pty for one VM: (master, slave). No output processing: the REPL writes its own CR LF,
    and a board's UART sends bytes as they are."""
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, slave


class SerialPort:
    """The port of one emulated node, from power-on to power-off. ``path`` is what to open."""

    def __init__(self, console_path: Path, on_input: Callable[[], None] | None = None) -> None:
        self._console = console_path.open("ab")
        self._on_input = on_input
        self._user, self._user_slave = pty.openpty()
        # raw, so what the VM prints is not echoed back to us as input before a client sets it
        tty.setraw(self._user_slave)
        os.set_blocking(self._user, False)
        self.path = os.ttyname(self._user_slave)
        self.raw_repl = False  # the REPL the VM was last in: raw (mpremote) or friendly
        self.interrupted = False  # a Ctrl-C was turned into SIGINT for the current VM
        self._lock = threading.Lock()
        self._vm: int | None = None  # master of the current VM's pty
        self._vm_proc: subprocess.Popen[bytes] | None = None
        self._held = bytearray()
        self._tail = b""
        self._enter_raw = False  # after a soft reboot from the raw REPL: enter it again
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"serial[{self.path}]",
                                        daemon=True)
        self._thread.start()

    # -- the supervisor's side ------------------------------------------------------------------

    def attach(self, master: int, proc: subprocess.Popen[bytes]) -> None:
        """A VM booted on the pty whose master is ``master`` (the port now owns that fd)."""
        os.set_blocking(master, False)
        with self._lock:
            self._drop_vm()
            self._vm, self._vm_proc = master, proc
            self._tail = b""
            self.interrupted = False

    def soft_reboot(self, *, raw: bool) -> None:
        """Print the board's soft-reboot line; with ``raw`` the next VM re-enters the raw REPL
        (its _boot.py skips main.py, as the board does after a soft reset in raw REPL)."""
        self._send_user(_SOFT_REBOOT)
        self._console.write(_SOFT_REBOOT)
        self._console.flush()
        with self._lock:
            self._enter_raw = raw

    def close(self) -> None:
        self._closed.set()
        self._thread.join()
        with self._lock:
            self._drop_vm()
        for fd in (self._user, self._user_slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._console.close()

    # -- the bridge -----------------------------------------------------------------------------

    def _drop_vm(self) -> None:
        if self._vm is not None:
            with contextlib.suppress(OSError):
                os.close(self._vm)
        self._vm, self._vm_proc = None, None

    def _send_user(self, data: bytes) -> None:
        # nobody reading the port: the bytes are lost, as on a UART; never block the VM for it
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._user, data)

    def _run(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                vm = self._vm
            fds = [self._user] if vm is None else [self._user, vm]
            try:
                ready, _, _ = select.select(fds, [], [], 0.05)
            except (OSError, ValueError):  # the VM's fd was closed by attach() meanwhile
                continue
            if self._user in ready:
                self._read_user()
            if vm is not None and vm in ready:
                self._read_vm(vm)
            self._deliver()

    def _read_user(self) -> None:
        try:
            data = os.read(self._user, 4096)
        except (BlockingIOError, OSError):
            return
        with self._lock:
            room = _HOLD_MAX - len(self._held)
            self._held += data[:max(0, room)]
            asleep = self._vm is None
        if asleep and self._on_input is not None:
            self._on_input()

    def _read_vm(self, vm: int) -> None:
        try:
            data = os.read(vm, 4096)
        except BlockingIOError:
            return
        except OSError as e:  # EIO: the VM exited and closed its side
            if e.errno == errno.EIO:
                with self._lock:
                    if self._vm == vm:
                        self._drop_vm()
            return
        self._console.write(data)
        self._console.flush()
        self._send_user(data)
        tail = self._tail + data
        raw_at, friendly_at = tail.rfind(_RAW_BANNER), tail.rfind(_FRIENDLY_BANNER)
        if raw_at >= 0 or friendly_at >= 0:
            self.raw_repl = raw_at > friendly_at
        self._tail = tail[-_TAIL:]

    def _deliver(self) -> None:
        """Hand held input to the VM when its REPL reads; turn Ctrl-C into SIGINT otherwise."""
        with self._lock:
            vm, proc = self._vm, self._vm_proc
            if vm is None or proc is None:
                return
            try:
                reading = not termios.tcgetattr(vm)[3] & termios.ICANON
            except termios.error:
                return
            if reading:
                if self._enter_raw:
                    self._enter_raw = False
                    self._held[:0] = _CTRL_A
                if self._held:
                    try:
                        n = os.write(vm, bytes(self._held))
                    except (BlockingIOError, OSError):
                        return
                    del self._held[:n]
            elif _CTRL_C in self._held:
                # the board's UART interrupt: KeyboardInterrupt in whatever runs
                del self._held[: self._held.index(_CTRL_C) + 1]
                self.interrupted = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGINT)
