# Emulated ESP32 machine.UART (loaded by machine on first use).
# The device is simdev.uart_device(kind, cfg) for the board's "uart" entry of this id.
# A stream (io.IOBase) with a poll ioctl, so asyncio.StreamReader(uart) works as on the board.
# RAM: about 2.7 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import io
import time

from micropython import const

import _board as _b

_POLL = const(3)
_GET_FILENO = const(10)
_RD = const(1)
_WR = const(4)


class UART(io.IOBase):
    INV_TX = 32
    INV_RX = 4
    INV_RTS = 64
    INV_CTS = 8
    RTS = 1
    CTS = 2
    IRQ_RX = 1
    IRQ_BREAK = 2
    IRQ_RXIDLE = 4096

    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, **kw):
        if id not in (0, 1, 2):
            raise ValueError("UART(%s) does not exist" % id)
        kind = _b.cfg().get("uart", {}).get(str(id))
        self._d = None
        if kind:
            self._d = _b.device("uart%d" % id, lambda: _b.sim().uart_device(kind, _b.cfg()))
        self._t = 0
        self.init(baudrate, **kw)

    def init(self, baudrate=115200, bits=8, parity=None, stop=1, *, timeout=None, **kw):
        if timeout is not None:
            self._t = timeout

    def deinit(self):
        pass

    def any(self):
        return self._d.any() if self._d else 0

    def _wait(self):
        # like the driver: block up to `timeout` ms for the first byte
        d = self._d
        if d is None:
            return False
        if d.any():
            return True
        end = time.ticks_add(time.ticks_ms(), self._t)
        while time.ticks_diff(end, time.ticks_ms()) > 0:
            time.sleep_ms(2)
            if d.any():
                return True
        return False

    def readinto(self, buf, nbytes=None):
        if not self._wait():
            return None
        if nbytes is not None:
            buf = memoryview(buf)[:nbytes]
        return self._d.readinto(buf)

    def read(self, nbytes=None):
        if not self._wait():
            return None
        b = bytearray(self._d.any() if nbytes is None else nbytes)
        n = self._d.readinto(b)
        return bytes(b[:n]) if n else None

    def write(self, buf):
        return self._d.write(buf) if self._d else len(buf)

    def flush(self):
        pass

    def txdone(self):
        return True

    def ioctl(self, req, arg):
        if req == _GET_FILENO:
            return -1  # not a file descriptor: select.poll asks ioctl(POLL)
        if req == _POLL:
            r = arg & _WR
            if arg & _RD and self.any():
                r |= _RD
            return r
        return 0
