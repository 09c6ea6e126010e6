"""A MicroPython board on a serial port, as the technician's CLI drives it: mpremote's serial
transport for the REPL and the flash filesystem, esptool for the MicroPython firmware itself.

The same code drives a real ESP32 on ``/dev/ttyUSB0`` and an emulated node's port
(``/dev/pts/N``, tools/emulator/serialport.py). Every failure is a :class:`BoardError` with a
message for the technician; mpremote's and esptool's own exceptions stop here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

# mpremote ships no type information
from mpremote.transport import TransportError, TransportExecError  # type: ignore[import-untyped]
from mpremote.transport_serial import SerialTransport  # type: ignore[import-untyped]

__all__ = ["Board", "BoardError", "check_firmware_image", "esptool_write"]

# an ESP32 application image starts with this byte (ESP-IDF esp_image_header_t.magic)
ESP_IMAGE_MAGIC = 0xE9
MAX_FIRMWARE_BYTES = 4 * 1024 * 1024
_ESPTOOL_PERCENT = re.compile(rb"(\d{1,3}(?:\.\d+)?) ?%")


class BoardError(Exception):
    """The board could not be reached or did not do what was asked."""


def check_port(port: str) -> None:
    try:
        mode = os.stat(port).st_mode
    except FileNotFoundError:
        raise BoardError(
            f"no serial port {port}: is the board plugged in? (ls /dev/ttyUSB* /dev/ttyACM*)"
        ) from None
    except OSError as exc:
        raise BoardError(f"cannot use {port}: {exc.strerror}") from None
    if not stat.S_ISCHR(mode):
        raise BoardError(f"{port} is not a serial port")
    if not os.access(port, os.R_OK | os.W_OK):
        raise BoardError(
            f"no permission to open {port}: add yourself to the dialout group "
            "(sudo adduser $USER dialout, then log in again)"
        )


class Board:
    """The REPL of a board: raw REPL, files, commands. Use as a context manager."""

    def __init__(self, port: str) -> None:
        check_port(port)
        self.port = port
        try:
            # a read timeout, so a board that stays silent ends in mpremote's own timeouts
            # instead of a read blocked for ever
            self._t = SerialTransport(port, baudrate=115200, timeout=1)
        except TransportError as exc:
            raise BoardError(f"cannot open {port}: {exc} (is another program using it?)") from None

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self._t.in_raw_repl:
                self._t.exit_raw_repl()
            self._t.close()
        except (OSError, TransportError):
            pass  # the port went away: nothing left to close

    def restart_raw(self) -> None:
        """Interrupt whatever runs, soft-reset into the raw REPL: a clean heap, main.py not run."""
        try:
            if self._t.in_raw_repl:
                self._t.exit_raw_repl()
            # mpremote prints what the board said when it could not enter the raw REPL (the
            # boot's lines, as bytes) to stdout, which would break `--json` output: kept apart
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    self._t.enter_raw_repl(soft_reset=True)
                except TransportError:
                    # once more: a Ctrl-C that came while the board was still booting is lost
                    self._t.enter_raw_repl(soft_reset=True)
        except (TransportError, OSError) as exc:
            raise BoardError(
                f"the board on {self.port} does not answer like MicroPython ({exc}); "
                "flash MicroPython first (--micropython-firmware FILE)"
            ) from None

    def exec(self, code: str, timeout: float = 30.0) -> str:
        """Run code in the raw REPL; its printed output. An exception on the board is an error."""
        try:
            out, err = self._t.exec_raw(code, timeout=timeout)
        except (TransportError, OSError) as exc:
            raise BoardError(f"the board stopped answering: {exc}") from None
        if err:
            last = err.decode(errors="replace").strip().splitlines()[-1:]
            raise BoardError(f"the board refused: {' '.join(last)}")
        return bytes(out).decode(errors="replace")

    def put_files(self, files: Mapping[str, bytes],
                  progress: Callable[[str, int], None] | None = None) -> None:
        """Write files into the board's filesystem (relative paths: the flash root on an ESP32,
        the current directory /flash on the emulated board), directories first."""
        dirs = sorted({str(p) for name in files for p in PurePosixPath(name).parents
                       if str(p) != "."})
        try:
            for d in dirs:
                if not self._t.fs_exists(d):
                    self._t.fs_mkdir(d)
            for name, data in files.items():
                self._t.fs_writefile(
                    name, data, progress_callback=None if progress is None
                    else lambda done, _total, n=name: progress(n, done),
                )
        except (TransportError, TransportExecError, OSError) as exc:
            raise BoardError(f"writing to the board failed: {exc}") from None

    def differing(self, files: Mapping[str, bytes]) -> list[str]:
        """Files whose content on the board is not what was written (read back by SHA-256)."""
        bad = []
        try:
            for name, data in files.items():
                if self._t.fs_hashfile(name, "sha256") != hashlib.sha256(data).digest():
                    bad.append(name)
        except (TransportError, TransportExecError, OSError) as exc:
            raise BoardError(f"reading back from the board failed: {exc}") from None
        return bad

    def remove_stale(self, names: list[str]) -> None:
        """Remove files that would shadow the new ones (a ``x.py`` left beside a new ``x.mpy``)."""
        if names:
            self.exec(f"import os\nfor n in {names!r}:\n try:\n  os.remove(n)\n"
                      " except OSError:\n  pass\n")

    def hard_reset(self) -> None:
        """machine.reset(): the board boots and runs main.py (no answer is awaited)."""
        # the board may drop the line while it resets
        with contextlib.suppress(TransportError, OSError):
            self._t.exec_raw_no_follow("import machine\nmachine.reset()")


def check_firmware_image(data: bytes, source: str) -> None:
    if not data or data[0] != ESP_IMAGE_MAGIC:
        raise BoardError(f"{source} is not an ESP32 firmware image (expected a MicroPython .bin "
                         "for ESP32 from micropython.org/download/ESP32_GENERIC)")
    if len(data) > MAX_FIRMWARE_BYTES:
        raise BoardError(f"{source} is larger than the 4 MiB flash of the board")


def esptool_write(port: str, image: Path, progress: Callable[[float], None]) -> None:
    """Erase the ESP32's flash and write MicroPython at 0x1000 (the ESP32 bootloader offset)."""
    check_port(port)
    for step in (["erase-flash"], ["write-flash", "-z", "0x1000", str(image)]):
        cmd = [sys.executable, "-m", "esptool", "--chip", "esp32", "--port", port,
               "--baud", "460800", "--connect-attempts", "3", *step]
        proc = subprocess.Popen(  # noqa: S603 - our interpreter, esptool, checked arguments
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = proc.stdout
        tail: list[bytes] = []
        buf = b""
        # esptool redraws its progress line with CR: split on CR and LF alike
        while out is not None and (chunk := os.read(out.fileno(), 4096)):
            *lines, buf = re.split(rb"[\r\n]", buf + chunk)
            for line in lines:
                tail = [*tail[-5:], line.strip()] if line.strip() else tail
                found = _ESPTOOL_PERCENT.findall(line)
                if found and step[0] == "write-flash":
                    progress(min(100.0, float(found[-1])))
        if proc.wait() != 0:
            # esptool's last error line says what went wrong; the lines around it are advice
            line = next((t for t in reversed(tail) if b"rror" in t), tail[-1] if tail else b"")
            said = line.decode(errors="replace")[-300:]
            raise BoardError(
                f"esptool could not {step[0].replace('-', ' ')} the ESP32 on {port}: {said} "
                "(hold the BOOT button while it connects, or check the cable)"
            )
