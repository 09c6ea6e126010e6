# Particulate matter over UART (9600 8N1): Plantower PMS5003 and Nova SDS011.
# Both are read as frames: fill a frame-sized buffer, check header and checksum, otherwise
# slide to the next header byte (resynchronise on garbage, partial or corrupted frames).
# Reads are bounded: at most _SCAN frames' worth of bytes and `timeout_ms`, then OSError.
# Passive (query) mode by default: the node asks for one frame per reading, so the value is
# fresh and the part is not streaming into a buffer nobody reads; active mode is supported.
# RAM: 4.2 KB after import, 0.3 KB per object (unix VM, .py; test_sensor_ram.py).
import asyncio
import time

from micropython import const

_SCAN = const(6)  # frames' worth of bytes examined before giving up
_MAX_UGM3 = const(1000)  # upper end of both parts' range: above is a broken frame or part


class _Framed:
    METRICS = ("pm25_ugm3", "pm10_ugm3")

    def __init__(self, uart, name, size, passive, timeout_ms):
        self._u = uart
        self._name = name
        self._n = size
        self._buf = bytearray(size)
        self._mv = memoryview(self._buf)
        self._passive = passive
        self._timeout = timeout_ms
        self._ready = False
        self.bad_frames = 0  # frames with a header but a bad checksum or shape

    def _err(self, what):
        return OSError("%s: %s" % (self._name, what))

    def _drain(self):
        # what waits in the FIFO is stale (old frames, command replies): drop it, bounded
        u, mv = self._u, self._mv
        for _ in range(64):
            k = u.any()
            if not k:
                return
            u.readinto(mv, min(k, self._n))

    async def read(self, out):
        u = self._u
        try:
            if not self._ready:
                for c in self._setup():
                    u.write(c)
                    await asyncio.sleep_ms(50)
                self._ready = True
            self._drain()
            if self._passive:
                u.write(self._REQ)
            await self._frame()
        except OSError as e:
            self._ready = False  # the part may have rebooted into its default mode
            if e.args and isinstance(e.args[0], str):
                raise
            raise self._err("UART error %s" % e)
        p25, p10 = self._decode(self._buf)
        if p25 > _MAX_UGM3 or p10 > _MAX_UGM3:
            raise self._err("implausible %.1f/%.1f ug/m3" % (p25, p10))
        out["pm25_ugm3"] = p25
        out["pm10_ugm3"] = p10

    async def _frame(self):
        u, b, mv, n = self._u, self._buf, self._mv, self._n
        h0, h1 = self._H
        have = 0
        skipped = 0
        t0 = time.ticks_ms()
        while True:
            if time.ticks_diff(time.ticks_ms(), t0) > self._timeout:
                raise self._err("no valid frame within %d ms" % self._timeout)
            if have < n:
                k = u.any()
                if not k:
                    await asyncio.sleep_ms(20)
                    continue
                r = u.readinto(mv[have:], min(k, n - have))
                if r:
                    have += r
                continue
            if b[0] == h0 and b[1] == h1:
                if self._valid(b):
                    return
                self.bad_frames += 1
                if self._passive:
                    u.write(self._REQ)  # that answer is lost: ask again
            i = 1
            while i < n and b[i] != h0:
                i += 1
            skipped += i
            if skipped > _SCAN * n:
                raise self._err("no valid frame in %d bytes" % skipped)
            for j in range(n - i):
                b[j] = b[j + i]
            have = n - i


def _pms_cmd(cmd, data):
    s = 0x42 + 0x4D + cmd + data
    return bytes((0x42, 0x4D, cmd, 0, data, s >> 8, s & 0xFF))


class PMS5003(_Framed):
    # 32-byte frame: 42 4D, length 28, 13 big-endian words, 16-bit sum of bytes 0..29.
    # Words 4 and 5 are PM2.5 and PM10 "atmospheric environment" (ambient air) in ug/m3.
    _H = (0x42, 0x4D)
    _REQ = _pms_cmd(0xE2, 0)

    def __init__(self, uart, passive=True, timeout_ms=3000):
        super().__init__(uart, "pms5003", 32, passive, timeout_ms)

    def _setup(self):
        return (_pms_cmd(0xE4, 1), _pms_cmd(0xE1, 0 if self._passive else 1))  # wake, mode

    @staticmethod
    def _valid(b):
        if b[2] != 0 or b[3] != 28:
            return False  # e.g. the 8-byte reply to a command
        s = 0
        for i in range(30):
            s += b[i]
        return s == (b[30] << 8 | b[31])

    @staticmethod
    def _decode(b):
        return float(b[12] << 8 | b[13]), float(b[14] << 8 | b[15])


def _sds_cmd(cmd, d1, d2):
    # 19 bytes: AA B4 cmd d1 d2 0*10 FF FF (device: all) checksum AB
    c = bytearray(19)
    c[0], c[1], c[2], c[3], c[4], c[15], c[16], c[18] = 0xAA, 0xB4, cmd, d1, d2, 0xFF, 0xFF, 0xAB
    c[17] = (cmd + d1 + d2 + 0xFF + 0xFF) & 0xFF
    return bytes(c)


class SDS011(_Framed):
    # 10-byte frame: AA C0, PM2.5 and PM10 little-endian in 0.1 ug/m3, id, sum of bytes 2..7, AB
    _H = (0xAA, 0xC0)
    _REQ = _sds_cmd(4, 0, 0)

    def __init__(self, uart, passive=True, timeout_ms=3000):
        super().__init__(uart, "sds011", 10, passive, timeout_ms)

    def _setup(self):
        return (_sds_cmd(6, 1, 1), _sds_cmd(2, 1, 1 if self._passive else 0))  # work, mode

    @staticmethod
    def _valid(b):
        s = 0
        for i in range(2, 8):
            s += b[i]
        return b[9] == 0xAB and s & 0xFF == b[8]

    @staticmethod
    def _decode(b):
        return (b[2] | b[3] << 8) / 10, (b[4] | b[5] << 8) / 10
