"""One emulated ESP32 node: a MicroPython unix VM on the emulated board, and its supervisor.

The supervisor thread restarts the VM when it exits through machine.reset(), soft_reset() or
deepsleep() (after the sleep time divided by ``speed``), and kills and restarts it when the
watchdog's last feed is older than its timeout. A VM whose main.py ended or crashed sits "in the
REPL", as a real board does: only an armed watchdog restarts it. What survives a VM process
lives in the node directory (see nodedir.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tools.emulator import flashfs, nodedir
from tools.emulator.linkproxy import LinkProxy
from tools.emulator.nodedir import Exit, ResetCause, WakeReason
from tools.emulator.serialport import SerialPort, vm_terminal
from tools.emulator.vm import (
    EMULATION_TRANSIENT_MARGIN,
    heap_bytes,
    kill_group,
    measure_board_heap,
    reaped,
    spawn_vm,
)

__all__ = ["EmulatedNode", "NodeError"]

_POLL_S = 0.02


class NodeError(RuntimeError):
    """The node cannot do this in its current state (not created, already on...)."""


class EmulatedNode:
    """An emulated ESP32 running the firmware in its flash.

    ``speed`` divides deep-sleep and light-sleep durations (time acceleration); None takes the
    board's ``"speed"`` (default 1.0), and the board description gets the value used.
    ``upstream_port`` is the real broker's port: the node then gets a LinkProxy in front of
    it, whose port is ``broker_port``. ``heapsize`` is the VM's heap; with ``compensate_heap``
    the VM gets ``heapsize`` plus what the emulation itself takes for this board (board
    modules and simulated devices, measured once by vm.measure_board_heap), so the firmware
    has about ``heapsize`` left, as on the real board where those live in ROM or other chips.
    With ``serial`` the node has a USB-serial port (serialport.py): its REPL on a pty at
    ``serial_port``, for mpremote or ``territoire node flash --port``, and the VM sits in the
    REPL after main.py; leaving the REPL with Ctrl-D soft-resets the node, as on the board.
    """

    def __init__(
        self,
        node_dir: Path,
        board: Mapping[str, Any],
        *,
        heapsize: str = "100K",
        speed: float | None = None,
        upstream_port: int | None = None,
        compensate_heap: bool = False,
        serial: bool = False,
    ) -> None:
        self.node_dir = Path(node_dir).resolve()
        self.speed = float(speed if speed is not None else board.get("speed", 1.0))
        self.board = {**board, "speed": self.speed}
        self.heapsize = heapsize
        self.compensate_heap = compensate_heap
        self.vm_heapsize: str | None = None  # what the VM gets: set at the first start()
        self.upstream_port = upstream_port
        self.console_path = self.node_dir / "console.log"
        self.boots = 0
        self.restarts: Counter[str] = Counter()  # reset, soft_reset, deepsleep, watchdog
        self.returncode: int | None = None
        self.state = "off"  # off, running, sleeping, halted
        self._proc: subprocess.Popen[bytes] | None = None
        self._proxy: LinkProxy | None = None
        self._lock = threading.Lock()
        self._off = threading.Event()
        self._kick = threading.Event()  # ends a wait of the supervisor: wake() or power-off
        self._supervisor: threading.Thread | None = None
        self.serial = serial
        self._port: SerialPort | None = None
        self._power_fd: int | None = None  # nodedir.take_power: held while the node is on

    # -- flash and files ------------------------------------------------------------------------

    def create(self) -> None:
        """A factory-fresh node: erased flash, no NVS, no OTA state, link up."""
        self._require_off("create")
        d = self.node_dir
        d.mkdir(parents=True, exist_ok=True)
        for name in ("boot", "ota.json"):
            (d / name).unlink(missing_ok=True)
        for nvs in d.glob("nvs.*"):
            nvs.unlink()
        nodedir.clear_for_boot(d)
        nodedir.clear_rtc_domain(d)
        flashfs.blank_image(d / "flash.img")
        nodedir.write_board(d, self.board)
        nodedir.write_link(d, up=True)

    def _require_off(self, what: str) -> None:
        sup = self._supervisor
        if sup is not None and self.state != "sleeping" and not self.is_running():
            # the VM ended: its supervisor is deciding (halt, or restart after a reset or the
            # watchdog), and a caller that waited for the VM to end must not race it
            sup.join(2.0)
        if sup is not None and sup.is_alive():
            raise NodeError(f"{what}: the node is on (its VM owns the flash); stop it first")

    def write_files(self, files: Mapping[str, bytes]) -> None:
        """Copy files into the flash (paths relative to its root, e.g. ``lib/x.py``)."""
        self._require_off("write_files")
        flashfs.put_files(self.node_dir, files)

    def read_file(self, path: str) -> bytes:
        self._require_off("read_file")
        return flashfs.get_file(self.node_dir, path)

    def list_files(self) -> list[str]:
        self._require_off("list_files")
        return flashfs.list_files(self.node_dir)

    def console(self) -> str:
        """Everything the VM printed so far, across restarts."""
        try:
            return self.console_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- network --------------------------------------------------------------------------------

    @property
    def broker_port(self) -> int:
        """The port the firmware must connect to: this node's link proxy to the broker."""
        if self._proxy is None:
            if self.upstream_port is None:
                raise NodeError("no upstream_port given: this node has no broker link")
            self._proxy = LinkProxy(self.upstream_port)
            if not nodedir.link_is_up(self.node_dir):
                self._proxy.set_up(False)
        return self._proxy.port

    def set_link(self, up: bool) -> None:
        """Wi-Fi up or down: network.WLAN sees it, and the proxy drops or admits connections."""
        nodedir.write_link(self.node_dir, up=up)
        if self._proxy is not None:
            self._proxy.set_up(up)

    @property
    def serial_port(self) -> str:
        """The node's serial device (``/dev/pts/N``) while it is powered (``serial=True``)."""
        if self._port is None:
            raise NodeError("no serial port: the node is off or was made without serial=True")
        return self._port.path

    # -- power ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Power on: reset cause PWRON_RESET, RTC memory lost, then the supervisor runs."""
        self._require_off("start")
        if not (self.node_dir / "flash.img").exists():
            raise NodeError(f"no flash image in {self.node_dir}: call create() first")
        power = nodedir.take_power(self.node_dir)
        if power is None:
            raise NodeError(f"the node in {self.node_dir} is already on (process "
                            f"{nodedir.power_holder(self.node_dir)}): power it off first")
        try:
            self._power_on_files()
        except BaseException:
            nodedir.release_power(power)
            raise
        self._power_fd = power
        if self.vm_heapsize is None:
            extra = (
                measure_board_heap(self.board) + EMULATION_TRANSIENT_MARGIN
                if self.compensate_heap
                else 0
            )
            self.vm_heapsize = str(heap_bytes(self.heapsize) + extra)
        self._off.clear()
        self._kick.clear()
        self.returncode = None
        if self.serial:
            self._port = SerialPort(self.console_path, on_input=self.wake)
        powered = threading.Event()
        failed: list[Exception] = []
        # every VM is spawned by this thread, which lives while the node is on (see vm.py)
        self._supervisor = threading.Thread(
            target=self._power_on,
            args=(powered, failed),
            name=f"node[{self.node_dir.name}].supervisor",
            daemon=True,
        )
        self._supervisor.start()
        powered.wait()
        if failed:
            self._supervisor.join()
            self._supervisor = None
            self._release_power()
            raise NodeError(f"power-on failed: {failed[0]}") from failed[0]

    def _power_on_files(self) -> None:
        nodedir.write_board(self.node_dir, self.board)
        nodedir.clear_rtc_domain(self.node_dir)
        nodedir.private_file(self.console_path)  # it shows what mpremote printed: node.json

    def _release_power(self) -> None:
        if self._power_fd is not None:
            nodedir.release_power(self._power_fd)
            self._power_fd = None

    def stop(self, timeout: float = 3.0) -> None:
        """Graceful power-off: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        self._power_off(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """Power cut: SIGKILL at whatever instant the VM is in."""
        self._power_off(signal.SIGKILL, 0.0)

    def wake(self) -> None:
        """End a deep sleep now (an external wake-up: wake_reason() is PIN_WAKE)."""
        self._kick.set()

    def close(self) -> None:
        """Power off and close the link proxy."""
        self.kill()
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None

    def __enter__(self) -> EmulatedNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def is_running(self) -> bool:
        """A VM process is alive now (False while in deep sleep, halted or off)."""
        proc = self._proc
        return proc is not None and proc.poll() is None

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"node {self.node_dir.name}: condition not met in {timeout}s")
            time.sleep(_POLL_S)

    def wait_console(self, text: str, timeout: float = 10.0, count: int = 1) -> None:
        """Wait until ``text`` appeared ``count`` times in the console."""
        try:
            self.wait_until(lambda: self.console().count(text) >= count, timeout)
        except TimeoutError:
            raise TimeoutError(f"{text!r} not seen in console:\n{self.console()}") from None

    # -- supervisor -----------------------------------------------------------------------------

    def _power_off(self, sig: int, timeout: float) -> None:
        with self._lock:  # no VM starts after this: _spawn checks _off under the lock
            self._off.set()
            self._kick.set()
            proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                kill_group(proc, sig)
                try:
                    proc.wait(timeout if sig != signal.SIGKILL else None)
                except subprocess.TimeoutExpired:
                    kill_group(proc)
                    proc.wait()
            self._reaped(proc)
        if self._supervisor is not None:
            self._supervisor.join()
            self._supervisor = None
        if self._port is not None:
            self._port.close()
            self._port = None
        self._release_power()
        self.state = "off"

    def _reaped(self, proc: subprocess.Popen[bytes]) -> None:
        self.returncode = proc.returncode
        reaped(proc)

    def _power_on(self, powered: threading.Event, failed: list[Exception]) -> None:
        try:
            on = self._spawn(ResetCause.PWRON, WakeReason.NONE)
        except Exception as e:  # handed to start(), in the caller's thread
            failed.append(e)
            on = False
        powered.set()
        if on:
            self._supervise()

    def _spawn(self, cause: ResetCause, wake: WakeReason, no_main: bool = False) -> bool:
        """Run the bootloader and start a VM. False when the node was powered off meanwhile."""
        with self._lock:
            if self._off.is_set():
                return False
            d = self.node_dir
            nodedir.clear_for_boot(d)
            nodedir.run_bootloader(d)
            nodedir.write_boot(d, cause, wake)
            nodedir.write_no_main(d, no_main)
            self.boots += 1
            heap = self.vm_heapsize or self.heapsize
            with self.console_path.open("ab") as console:
                console.write(f"--- boot {self.boots}: {cause.name} ---\n".encode())
                console.flush()
                if self._port is None:
                    self._proc = spawn_vm(d, heap, console)
            if self._port is not None:
                master, slave = vm_terminal()
                try:
                    self._proc = spawn_vm(d, heap, slave, repl=True)
                except BaseException:
                    os.close(master)
                    raise
                finally:
                    os.close(slave)
                self._port.attach(master, self._proc)
            self.returncode = None
            self.state = "running"
            return True

    def _restart(self, cause: ResetCause, what: str, wake: WakeReason = WakeReason.NONE,
                 no_main: bool = False) -> bool:
        self.restarts[what] += 1
        return self._spawn(cause, wake, no_main)

    def _soft_reset(self) -> bool:
        """machine.soft_reset(), or Ctrl-D in the REPL: the board prints "soft reboot" and, from
        the raw REPL (mpremote), comes back into the raw REPL without running main.py."""
        raw = False
        if self._port is not None:
            raw = self._port.raw_repl
            self._port.soft_reboot(raw=raw)
        return self._restart(ResetCause.SOFT, "soft_reset", no_main=raw)

    def _supervise(self) -> None:
        while not self._off.is_set():
            proc = self._proc
            if proc is None:
                return
            try:
                rc = proc.wait(_POLL_S)
            except subprocess.TimeoutExpired:
                # a reset or deep sleep asked from a timer callback: the VM waits to be ended
                asked = nodedir.exit_request(self.node_dir)
                if asked is not None:
                    if not self._end_vm(proc) or not self._after_exit(asked):
                        return
                    continue
                deadline = nodedir.watchdog_deadline(self.node_dir)
                if deadline is not None and time.time() > deadline:
                    if not self._end_vm(proc):
                        return
                    self._restart(ResetCause.WDT, "watchdog")
                continue
            self._reaped(proc)
            if self._off.is_set() or not self._after_exit(rc):
                return

    def _end_vm(self, proc: subprocess.Popen[bytes]) -> bool:
        """Kill the running VM as the chip's reset does; False if the node was powered off."""
        with self._lock:
            if self._off.is_set():
                return False
            kill_group(proc)
            proc.wait()
        self._reaped(proc)
        return True

    def _wait_kick(self, seconds: float | None) -> bool | None:
        """Sleep until the timeout (False), wake() (True) or power-off (None)."""
        self._kick.clear()
        if self._off.is_set():  # a power-off that came before the clear
            return None
        kicked = self._kick.wait(seconds)
        return None if self._off.is_set() else kicked

    def _after_exit(self, rc: int) -> bool:
        """Carry out what the VM asked for by exiting; False when the node stays down."""
        if rc == Exit.RESET:
            return self._restart(ResetCause.HARD, "reset")
        # with a serial port the VM only ends by leaving its REPL (Ctrl-D, or a Ctrl-C caught
        # between two commands): on the board both are a soft reset
        if rc == Exit.SOFT_RESET or (self._port is not None and rc == 0):
            return self._soft_reset()
        if self._port is not None and self._port.interrupted and rc not in (
            Exit.RESET, Exit.DEEPSLEEP
        ):
            # a Ctrl-C that reached the VM's process before MicroPython took over SIGINT (the
            # VM runs inside a CPython process that starts first): the board would stop in
            # the REPL, so the next boot does
            return self._restart(ResetCause.SOFT, "interrupted_boot", no_main=True)
        if rc == Exit.DEEPSLEEP:
            self.state = "sleeping"
            ms = nodedir.deepsleep_ms(self.node_dir)
            woken = self._wait_kick(ms / 1000 / self.speed if ms > 0 else None)
            if woken is None:
                return False
            reason = WakeReason.PIN if woken else WakeReason.TIMER
            return self._restart(ResetCause.DEEPSLEEP, "deepsleep", reason)
        # main.py ended or raised: the board sits in the REPL until its watchdog fires
        self.state = "halted"
        deadline = nodedir.watchdog_deadline(self.node_dir)
        if deadline is None or self._wait_kick(max(0.0, deadline - time.time())) is None:
            return False
        return self._restart(ResetCause.WDT, "watchdog")
