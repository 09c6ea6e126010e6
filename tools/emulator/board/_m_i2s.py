# Emulated ESP32 machine.I2S, receive side (loaded by machine on first use).
# Samples come from simdev.i2s_device(kind, cfg) for the board's "i2s" entry of this id.
# readinto() keeps real time like the DMA: at most `ibuf` bytes accumulate
# while nobody reads; a read asking for more waits for them at the sample rate.
# RAM: about 1.6 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import time

import _board as _b


class I2S:
    RX = 1
    TX = 2
    MONO = 0
    STEREO = 1

    def __init__(self, id, *, sck, ws, sd, mck=None, mode, bits, format, rate, ibuf):
        if id not in (0, 1):
            raise ValueError("I2S(%s) does not exist" % id)
        kind = _b.cfg().get("i2s", {}).get(str(id))
        self._d = None
        if kind:
            self._d = _b.device("i2s%d" % id, lambda: _b.sim().i2s_device(kind, _b.cfg()))
        self._bps = rate * (bits // 8) * (2 if format == 1 else 1)  # bytes per second
        self._ibuf = ibuf
        self._t = time.ticks_us()  # DMA buffer empty at this instant

    def readinto(self, buf):
        n = len(buf)
        held = time.ticks_diff(time.ticks_us(), self._t) * self._bps // 1000000
        if held > self._ibuf:
            held = self._ibuf  # older samples were overwritten
        if n > held:
            time.sleep_us((n - held) * 1000000 // self._bps)
            held = n
        if self._d:
            n = self._d.readinto(buf)
        else:
            for i in range(n):
                buf[i] = 0
        # what stays buffered after this read
        self._t = time.ticks_add(time.ticks_us(), -((held - n) * 1000000 // self._bps))
        return n

    def write(self, buf):
        return len(buf)

    def deinit(self):
        pass

    def irq(self, handler):
        pass
