# Simulated particulate sensors behind a UART, at the frame level:
# Plantower PMS5003 (32-byte frames 42 4D, 16-bit sum; 7-byte commands: E1 mode, E2 passive
# read, E4 sleep/wake) and Nova SDS011 (10-byte frames AA C0 .. AB, 8-bit sum; 19-byte AA B4
# commands: 2 report mode, 4 query, 6 sleep/work, replies AA C5). Both stream one frame per
# second (real time) in active mode, as the parts do. cfg["uart_noise"] (0..1, default 0) is the
# probability that a frame is corrupted or preceded by line garbage, to exercise resync.
import struct
import time

import sim_env

_RX = 256  # receive FIFO of the host UART: older bytes are lost beyond it


class _Uart:
    def __init__(self, cfg, salt):
        self._cfg = cfg
        self._q = bytearray()
        self._cmd = bytearray()
        self._rng = sim_env.Rng(sim_env.seed(cfg) ^ salt)
        self.active = True
        self.asleep = False
        self._next = time.ticks_add(time.ticks_ms(), 1000)
        self.last = None  # (pm25, pm10) in the last frame sent: the truth
        self.frames = 0

    def _push(self, b):
        self._q.extend(b)
        if len(self._q) > _RX:
            self._q = self._q[len(self._q) - _RX :]

    def _frame(self):
        c = self._cfg
        t = sim_env.now(c)
        f = self._encode(sim_env.pm25(c, t), sim_env.pm10(c, t))
        self.frames += 1
        n = self._cfg.get("uart_noise", 0.0)
        if n and self._rng.uniform() < n:
            if self._rng.uniform() < 0.5:
                f[4 + self._rng.u32() % (len(f) - 6)] ^= 0x10  # bit error: checksum fails
            else:  # line noise, possibly a header byte among it
                self._push(bytes(self._rng.u32() & 0xFF for _ in range(1 + self._rng.u32() % 9)))
                self._push(f[:1])
        self._push(f)

    def _tick(self):
        if self.active and not self.asleep:
            now = time.ticks_ms()
            if time.ticks_diff(now, self._next) >= 0:
                self._frame()
                self._next = time.ticks_add(now, 1000)

    def any(self):
        self._tick()
        return len(self._q)

    def readinto(self, buf):
        self._tick()
        n = min(len(buf), len(self._q))
        if not n:
            return None
        buf[:n] = self._q[:n]
        self._q = self._q[n:]
        return n

    def write(self, buf):
        self._cmd.extend(buf)
        self._parse()
        return len(buf)


class PMS5003Sim(_Uart):
    def __init__(self, cfg):
        super().__init__(cfg, 0x5003)

    def _encode(self, p25, p10):
        self.last = (p25, p10)
        a25, a10 = int(p25), int(p10)
        a1 = int(p25 * 0.68)
        # CF=1 equals "atmospheric" below ~30 ug/m3 and grows faster above, as on the part
        k = 1.0 if p25 < 30 else 1 + (p25 - 30) / 200
        n03 = int(p25 * 120 + 300)
        f = bytearray(32)
        struct.pack_into(
            ">BBH13H", f, 0, 0x42, 0x4D, 28,
            a1, int(a25 * k), int(a10 * k), a1, a25, a10,
            n03, n03 // 3, n03 // 12, n03 // 80, n03 // 300, n03 // 900, 0,
        )  # fmt: skip
        struct.pack_into(">H", f, 30, sum(f[:30]))
        return f

    def _parse(self):
        q = self._cmd
        while len(q) >= 7:
            if q[0] != 0x42 or q[1] != 0x4D:
                q[:] = q[1:]
                continue
            cmd, dl = q[2], q[4]
            ok = (q[5] << 8 | q[6]) == sum(q[:5])
            q[:] = q[7:]
            if not ok:
                continue
            if cmd == 0xE2:
                if not self.active and not self.asleep:
                    self._frame()
                continue
            if cmd == 0xE1:
                self.active = dl == 1
            elif cmd == 0xE4:
                self.asleep = dl == 0
            else:
                continue
            r = bytearray(b"\x42\x4d\x00\x04\x00\x00\x00\x00")
            r[4], r[5] = cmd, dl
            struct.pack_into(">H", r, 6, sum(r[:6]))
            self._push(r)


class SDS011Sim(_Uart):
    def __init__(self, cfg):
        super().__init__(cfg, 0x5D5)

    def _encode(self, p25, p10):
        a25, a10 = int(p25 * 10 + 0.5), int(p10 * 10 + 0.5)
        a25, a10 = min(a25, 9999), min(a10, 9999)  # the part saturates at 999.9
        self.last = (a25 / 10, a10 / 10)
        f = bytearray(10)
        struct.pack_into("<BBHHBB", f, 0, 0xAA, 0xC0, a25, a10, 0x12, 0x34)
        f[8] = sum(f[2:8]) & 0xFF
        f[9] = 0xAB
        return f

    def _parse(self):
        q = self._cmd
        while len(q) >= 19:
            if q[0] != 0xAA or q[1] != 0xB4:
                q[:] = q[1:]
                continue
            c = bytes(q[:19])
            q[:] = q[19:]
            if c[18] != 0xAB or c[17] != sum(c[2:17]) & 0xFF:
                continue
            cmd, setp, val = c[2], c[3], c[4]
            if cmd == 4:
                if not self.asleep:
                    self._frame()
                continue
            if cmd == 2 and setp:
                self.active = val == 0
            elif cmd == 6 and setp:
                self.asleep = val == 0
            elif cmd not in (2, 6):
                continue
            r = bytearray(10)
            r[0], r[1], r[2], r[3], r[6], r[7], r[9] = 0xAA, 0xC5, cmd, setp, 0x12, 0x34, 0xAB
            r[4] = val if cmd in (2, 6) else 0
            if cmd == 2 and not setp:
                r[4] = 0 if self.active else 1
            r[8] = sum(r[2:8]) & 0xFF
            self._push(r)
