# Simulated Bosch BME280 behind an I2C address: the real register map (chip id, calibration
# NVM, ctrl_hum latched by ctrl_meas, forced/normal mode, status, 20/16-bit raw ADC registers).
# Raw values are found by inverting the datasheet's floating-point compensation (section 8.1),
# a different formula from the integer one the driver uses, so the two check each other.
import struct

import sim_env

# datasheet example trimming (T, P) and a typical part's humidity trimming
_T = (27504, 26435, -1000)
_P = (36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
_H = (75, 370, 0, 310, 50, 30)


class BME280Sim:
    def __init__(self, cfg):
        self._cfg = cfg
        s = sim_env.seed(cfg)
        # each part has its own trimming: the driver must read it, not assume it
        self.t = (_T[0] + s % 97, _T[1] - s % 53, _T[2])
        self.p = (_P[0] - s % 61,) + _P[1:]
        self.h = _H
        r = self._r = bytearray(256)
        struct.pack_into("<HhhHhhhhhhhh", r, 0x88, *(self.t + self.p))
        r[0xA1] = self.h[0]
        struct.pack_into("<hB", r, 0xE1, self.h[1], self.h[2])
        h4, h5 = self.h[3], self.h[4]
        r[0xE4] = (h4 >> 4) & 0xFF
        r[0xE5] = (h4 & 0x0F) | ((h5 & 0x0F) << 4)
        r[0xE6] = (h5 >> 4) & 0xFF
        r[0xE7] = self.h[5] & 0xFF
        self._reset()
        self.last = None  # (temp_c, rh_pct, p_hpa) of the last conversion: the truth

    def _reset(self):
        r = self._r
        r[0xD0] = 0x60
        r[0xF2] = r[0xF3] = r[0xF4] = r[0xF5] = 0
        r[0xF7:0xFF] = b"\x80\x00\x00\x80\x00\x00\x80\x00"
        self._osh = 0
        self._busy = 0

    def readfrom_mem_into(self, mem, buf):
        r = self._r
        if r[0xF4] & 3 == 3 and mem <= 0xFE and mem + len(buf) > 0xF7:
            self._convert()  # normal mode: registers hold the latest conversion
        for i in range(len(buf)):
            a = (mem + i) & 0xFF
            if a == 0xF3:
                buf[i] = 0x08 if self._busy else 0
                if self._busy:
                    self._busy -= 1
            else:
                buf[i] = r[a]

    def writeto_mem(self, mem, buf):
        r = self._r
        for i in range(len(buf)):
            a, v = (mem + i) & 0xFF, buf[i]
            if a == 0xE0:
                if v == 0xB6:
                    self._reset()
            elif a == 0xF2:
                r[a] = v & 7
            elif a == 0xF4:
                r[a] = v
                self._osh = r[0xF2]  # ctrl_hum takes effect on a ctrl_meas write
                if v & 3 in (1, 2):
                    self._convert()
                    r[a] = v & 0xFC  # forced mode: back to sleep when done
                    self._busy = 1  # the first status read still says "measuring"
            elif a == 0xF5:
                r[a] = v

    def _convert(self):
        c = self._cfg
        t = sim_env.now(c)
        tc, rh, ph = sim_env.temp_c(c, t), sim_env.rh_pct(c, t), sim_env.p_hpa(c, t)
        self.last = (tc, rh, ph)
        r = self._r
        m = r[0xF4]
        at = ap = 0x80000  # "skipped" value when oversampling is 0
        ah = 0x8000
        if m >> 5:
            at = self._search(lambda a: self._temp(a)[0], tc, 20, True)
        tf = self._temp(at)[1]
        if (m >> 2) & 7:
            ap = self._search(lambda a: self._pres(a, tf), ph * 100, 20, False)
        if self._osh:
            ah = self._search(lambda a: self._hum(a, tf), rh, 16, True)
        struct.pack_into(">HBHBH", r, 0xF7, ap >> 4, (ap & 15) << 4, at >> 4, (at & 15) << 4, ah)

    @staticmethod
    def _search(f, want, bits, rising):
        lo, hi = 0, (1 << bits) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if (f(mid) < want) == rising:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _temp(self, a):
        t1, t2, t3 = self.t
        v1 = (a / 16384 - t1 / 1024) * t2
        v2 = (a / 131072 - t1 / 8192) ** 2 * t3
        return (v1 + v2) / 5120, int(v1 + v2)

    def _pres(self, a, tf):
        p1, p2, p3, p4, p5, p6, p7, p8, p9 = self.p
        v1 = tf / 2 - 64000
        v2 = v1 * v1 * p6 / 32768 + v1 * p5 * 2
        v2 = v2 / 4 + p4 * 65536
        v1 = (p3 * v1 * v1 / 524288 + p2 * v1) / 524288
        v1 = (1 + v1 / 32768) * p1
        p = (1048576 - a - v2 / 4096) * 6250 / v1
        return p + (p9 * p * p / 2147483648 + p * p8 / 32768 + p7) / 16

    def _hum(self, a, tf):
        h1, h2, h3, h4, h5, h6 = self.h
        v = tf - 76800
        v = (a - (h4 * 64 + h5 / 16384 * v)) * (
            h2 / 65536 * (1 + h6 / 67108864 * v * (1 + h3 / 67108864 * v))
        )
        return v * (1 - h1 * v / 524288)
