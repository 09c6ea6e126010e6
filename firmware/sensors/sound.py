# Sound level from an I2S MEMS microphone (INMP441 / ICS-43434: 32-bit slots, 24-bit data
# left-justified), reduced on the node to LAeq and LAmax in dB(A). Privacy rule 1: audio
# only ever exists in the one 2 KiB block being processed, which the filter overwrites in
# place with its output; nothing else is kept, nothing is written anywhere.
#
# Measurement: bursts of `burst_ms` (default 128 ms, ~ the "Fast" 125 ms time constant) every
# `period_ms` (default 1 s). Each burst starts with one block that only settles the filters.
# LAeq is the energy mean over all bursts of the window; LAmax the loudest burst (LAeq,128ms).
#
# A-weighting (IEC 61672): the analog curve's four high-pass poles (20.6 Hz x2, 107.7 Hz,
# 737.9 Hz) as first-order bilinear sections, pre-warped (the usual biquads split into their
# real-pole halves: small coefficients, easy to bound in 32-bit fixed point); the 12.2 kHz pole
# pair lies above Nyquist at 16 kHz and is replaced by a 2-tap FIR matching it at DC and
# Nyquist. Deviation from the standard curve at 16 kHz: < 0.6 dB from 10 Hz to 7.9 kHz.
# Normalised to exactly 0 dB at 1 kHz with the quantised coefficients.
#
# Fixed point, @micropython.viper, every intermediate within 32 bits (ESP32 words):
# samples are 22-bit (slot >> 10), stage outputs saturate at +-2^23, coefficients are Q16
# below 2^15, products are split in high and low bytes; squares are summed on a per-block
# shift so that |y >> k| < 2^10 and a 512-sample sum stays < 2^30.
# CPU (test_sensor_sound.py): 1.5-2.5 ms per second of 16 kHz audio in the unix VM on x86-64,
# i.e. 0.2-0.4 ms per 128 ms burst. Not measured on an ESP32 (no board here).
# RAM: 3.5 KB after import, 2.5 KB per Sound object (unix VM, .py; test_sensor_ram.py).
import array
import asyncio
import math
import time

import micropython
from micropython import const

_BLOCK = const(512)  # samples per I2S read: 2 KiB of 32-bit slots
_POLES = (20.598997, 20.598997, 107.65265, 737.86223)  # Hz, IEC 61672-1 annex E
_F4 = 12194.217


@micropython.viper
def _a_filter(buf, n: int, st, fresh: int) -> int:
    # A-weights n 32-bit slots of buf in place; states in st[10..18]; returns the peak |y|;
    # st[19] = 0 when every raw slot was identical (dead or stuck microphone)
    p = ptr32(buf)
    s = ptr32(st)
    c1 = int(s[0])
    h1 = int(s[1])
    c2 = int(s[2])
    h2 = int(s[3])
    c3 = int(s[4])
    h3 = int(s[5])
    c4 = int(s[6])
    h4 = int(s[7])
    fa = int(s[8])
    fb = int(s[9])
    if fresh:
        w = int(p[0])
        xa = (w >> 10) & 0x3FFFFF
        if xa & 0x200000:
            xa -= 0x400000
        xb = 0
        xc = 0
        xd = 0
        ya = 0
        yb = 0
        yc = 0
        yd = 0
        xf = 0
    else:  # resume: 24-bit signed states, sign-extended (ptr32 loads zero-extend on 64-bit)
        xa = int(s[10]) & 0xFFFFFF
        if xa & 0x800000:
            xa -= 0x1000000
        xb = int(s[11]) & 0xFFFFFF
        if xb & 0x800000:
            xb -= 0x1000000
        xc = int(s[12]) & 0xFFFFFF
        if xc & 0x800000:
            xc -= 0x1000000
        xd = int(s[13]) & 0xFFFFFF
        if xd & 0x800000:
            xd -= 0x1000000
        ya = int(s[14]) & 0xFFFFFF
        if ya & 0x800000:
            ya -= 0x1000000
        yb = int(s[15]) & 0xFFFFFF
        if yb & 0x800000:
            yb -= 0x1000000
        yc = int(s[16]) & 0xFFFFFF
        if yc & 0x800000:
            yc -= 0x1000000
        yd = int(s[17]) & 0xFFFFFF
        if yd & 0x800000:
            yd -= 0x1000000
        xf = int(s[18]) & 0xFFFFFF
        if xf & 0x800000:
            xf -= 0x1000000
    w0 = int(p[0])
    diff = 0
    peak = 0
    i = 0
    while i < n:
        w = int(p[i])
        diff |= w ^ w0
        x = (w >> 10) & 0x3FFFFF
        if x & 0x200000:
            x -= 0x400000
        # each stage: y = (1 - c) * y1 + (1 - c/2) * (x - x1), products split by bytes
        v = x - xa
        xa = x
        ya = (
            ya
            - (((ya >> 8) * c1 + (((ya & 255) * c1) >> 8)) >> 8)
            + v
            - (((v >> 8) * h1 + (((v & 255) * h1) >> 8)) >> 8)
        )
        if ya > 8388607:
            ya = 8388607
        elif ya < -8388607:
            ya = -8388607
        v = ya - xb
        xb = ya
        yb = (
            yb
            - (((yb >> 8) * c2 + (((yb & 255) * c2) >> 8)) >> 8)
            + v
            - (((v >> 8) * h2 + (((v & 255) * h2) >> 8)) >> 8)
        )
        if yb > 8388607:
            yb = 8388607
        elif yb < -8388607:
            yb = -8388607
        v = yb - xc
        xc = yb
        yc = (
            yc
            - (((yc >> 8) * c3 + (((yc & 255) * c3) >> 8)) >> 8)
            + v
            - (((v >> 8) * h3 + (((v & 255) * h3) >> 8)) >> 8)
        )
        if yc > 8388607:
            yc = 8388607
        elif yc < -8388607:
            yc = -8388607
        v = yc - xd
        xd = yc
        yd = (
            yd
            - (((yd >> 8) * c4 + (((yd & 255) * c4) >> 8)) >> 8)
            + v
            - (((v >> 8) * h4 + (((v & 255) * h4) >> 8)) >> 8)
        )
        if yd > 8388607:
            yd = 8388607
        elif yd < -8388607:
            yd = -8388607
        y = (fa * yd + fb * xf) >> 7  # |fa + fb| = 128, |y| < 2^23: product < 2^30
        xf = yd
        p[i] = y  # the raw sample is gone
        if y < 0:
            y = -y
        if y > peak:
            peak = y
        i += 1
    s[10] = xa
    s[11] = xb
    s[12] = xc
    s[13] = xd
    s[14] = ya
    s[15] = yb
    s[16] = yc
    s[17] = yd
    s[18] = xf
    s[19] = 1 if diff else 0
    return peak


@micropython.viper
def _sumsq(buf, n: int, k: int) -> int:
    p = ptr32(buf)
    acc = 0
    i = 0
    while i < n:
        v = int(p[i]) & 0xFFFFFF
        if v & 0x800000:
            v -= 0x1000000
        v = v >> k
        acc += v * v
        i += 1
    return acc


def _design(rate):
    # coefficients (Q16 c and c/2 per high-pass stage, Q7 FIR taps) and the power gain at 1 kHz
    co = array.array("i", [0] * 20)
    for j in range(4):
        k = math.tan(math.pi * _POLES[j] / rate)
        c = 2 * k / (1 + k)
        co[2 * j] = int(c * 65536 + 0.5)
        co[2 * j + 1] = int(c * 32768 + 0.5)
    g = 1 / (1 + (rate / 2 / _F4) ** 2)  # the 12.2 kHz double pole at Nyquist
    co[8] = int((1 + g) * 64 + 0.5)
    co[9] = 128 - co[8]
    return co, power_gain(co, 1000 / rate)


def power_gain(co, f):
    # |H|^2 of the quantised filter at f (a fraction of the sample rate)
    cw = math.cos(2 * math.pi * f)
    g2 = 1.0
    for j in range(4):
        r = 1 - co[2 * j] / 65536
        g = 1 - co[2 * j + 1] / 65536
        g2 *= g * g * (2 - 2 * cw) / (1 - 2 * r * cw + r * r)
    a, b = co[8] / 128, co[9] / 128
    return g2 * (a * a + b * b + 2 * a * b * cw)


class Sound:
    METRICS = ("laeq_db", "lamax_db")

    def __init__(self, i2s, rate=16000, cal_db=120.0, burst_ms=128, period_ms=1000, bursts=10):
        # cal_db: dB SPL of a full-scale sine (0 dBFS); INMP441: 94 - (-26) = 120
        if not 8000 <= rate <= 24000:
            raise ValueError("mic: rate %d Hz outside 8000..24000" % rate)
        self._i2s = i2s
        self._buf = bytearray(_BLOCK * 4)
        self._st, g1k = _design(rate)
        # dB = 10 log10(mean y^2) + off: 0 dBFS is a full-scale sine, y full scale is 2^21
        self._off = cal_db + 10 * math.log10(2 / 2**42 / g1k)
        self._blocks = max(1, (rate * burst_ms // 1000 + _BLOCK // 2) // _BLOCK)
        self._period = period_ms
        self._bursts = bursts
        self._reset()

    def _reset(self):
        self._e = 0.0  # energy sum of the window
        self._n = 0  # samples in it
        self._max = None  # loudest burst, dB

    def _block(self, fresh):
        n = self._i2s.readinto(self._buf)
        if not n or n < 4:
            raise OSError("mic: I2S read returned %s" % n)
        n >>= 2
        peak = _a_filter(self._buf, n, self._st, fresh)
        if not self._st[19]:
            raise OSError("mic: no signal (every sample equal: data line stuck or mic absent)")
        k = 0
        while peak >> k >= 1024:
            k += 1
        return _sumsq(self._buf, n, k) * float(1 << 2 * k), n

    def burst(self):
        # one burst into the current window: a settling block, then burst_ms of audio
        self._block(1)
        e, n = 0.0, 0
        for _ in range(self._blocks):
            de, dn = self._block(0)
            e += de
            n += dn
        lv = self._db(e / n)
        if self._max is None or lv > self._max:
            self._max = lv
        self._e += e
        self._n += n

    def _db(self, mean):
        return 10 * math.log10(mean) + self._off if mean > 0 else self._off - 130

    async def run(self):
        # optional background task: a burst every period; read() then closes the window
        while True:
            t = time.ticks_ms()
            self.burst()
            await asyncio.sleep_ms(max(0, self._period - time.ticks_diff(time.ticks_ms(), t)))

    async def read(self, out):
        if not self._n:  # no background task: measure now
            for i in range(self._bursts):
                if i:
                    await asyncio.sleep_ms(self._period)
                self.burst()
        out["laeq_db"] = self._db(self._e / self._n)
        out["lamax_db"] = self._max
        self._reset()
