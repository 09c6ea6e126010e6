# Simulated I2S MEMS microphone (INMP441 / ICS-43434): 32-bit frames, 24-bit left-justified,
# little-endian, sensitivity -26 dBFS at 94 dB SPL. The sound is white noise at the street's
# current traffic level (sim_env.noise_dba, pass-bys included), scaled so that an A-weighted
# meter reads that level: `last` is the truth in dB(A) for the latest buffer.
import math

import micropython
import sim_env

_CAL = 120.0  # dB SPL at 0 dBFS (94 dB SPL = -26 dBFS)


def _a_weight_white():
    # mean A-weighting power gain (IEC 61672 curve) of white noise over 0 .. rate/2, in dB
    s = 0.0
    n = 200
    for i in range(1, n + 1):
        f2 = (8000 * (i - 0.5) / n) ** 2
        ra = (
            12194**2
            * f2
            * f2
            / ((f2 + 20.6**2) * math.sqrt((f2 + 107.7**2) * (f2 + 737.9**2)) * (f2 + 12194**2))
        )
        s += (ra * 1.2589) ** 2  # +2.0 dB: 0 dB at 1 kHz
    return 10 * math.log10(s / n)


@micropython.viper
def _noise(buf, n: int, amp: int, st) -> int:
    # uniform white noise in [-amp, amp) << 8 (24-bit left-justified); LCG state in st[0]
    p = ptr32(buf)
    s = ptr32(st)
    x = s[0]
    i = 0
    while i < n:
        x = (x * 69069 + 1) & 0x3FFFFFFF  # full-period LCG mod 2^30 (constants < 2^30)
        u = (x >> 14) - 32768  # 16 random bits, centred
        p[i] = ((u * (amp >> 8)) >> 7) << 8
        i += 1
    s[0] = x
    return 0


class MicSim:
    def __init__(self, cfg):
        self._cfg = cfg
        self._st = bytearray(4)
        self._st[0] = sim_env.seed(cfg) & 0xFF | 1
        self._aw = _a_weight_white()
        self.last = None

    def readinto(self, buf):
        c = self._cfg
        la = sim_env.noise_dba(c, sim_env.now(c))
        self.last = la
        # uniform noise of peak A has rms A/sqrt(3); 0 dBFS is a full-scale sine (rms 2^23/sqrt(2))
        rms = 8388608 / 1.41421356 * 10 ** ((la - self._aw - _CAL) / 20)
        amp = int(min(8388607, rms * 1.7320508))
        n = len(buf) // 4
        _noise(buf, n, amp, self._st)
        return n * 4
