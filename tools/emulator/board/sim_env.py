# Simulated street for the emulated board's devices: a clock and plausible physical signals.
# Every signal is a pure function of (seed, zone, simulated time): a restarted node finds the
# same weather where it left it, and nodes with different seeds see different streets.
# Simulated time is time.time() * cfg["speed"] (seconds; hours of day taken modulo 24 h),
# or cfg["clock"]() when a test injects a clock.
import math
import time

from micropython import const

_DAY = const(86400)
_M32 = const(0xFFFFFFFF)


def now(cfg):
    c = cfg.get("clock")
    if c is not None:
        return c()
    return time.time() * cfg.get("speed", 1.0)


def seed(cfg):
    return cfg.get("seed", 1) & 0xFFFFFF


def busy(cfg):
    # how busy the zone is, 0.5 .. 1.0, fixed per zone name ("centre" is always busiest)
    z = cfg.get("zone", "")
    if "centre" in z:
        return 1.0
    h = 7
    for ch in z:
        h = (h * 31 + ord(ch)) & 0xFFFF
    return 0.5 + (h % 40) / 100


def _h(s, k):
    # integer hash of (s, k) -> [0, 1); stateless value noise needs no memory
    x = (s * 0x9E3779B1 + int(k) * 0x85EBCA77 + 0x165667B1) & _M32
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & _M32
    x ^= x >> 12
    x = (x * 0x297A2D39) & _M32
    x ^= x >> 15
    return x / 4294967296.0


def smooth(s, t, period):
    # smooth value noise in [-1, 1] with features about `period` seconds long
    u = t / period
    k = math.floor(u)
    f = u - k
    a = _h(s, k)
    f = f * f * (3 - 2 * f)
    return (a + (_h(s, k + 1) - a) * f) * 2 - 1


def hour(t):
    return (t % _DAY) / 3600


def _bump(h, c, w):
    d = (h - c) / w
    return math.exp(-0.5 * d * d)


def daylight(h):
    # 0 at night, 1 from 8 h to 20 h, smooth edges: how awake the street is
    if h < 5 or h > 23.5:
        return 0.0
    if h < 8:
        return (1 - math.cos(math.pi * (h - 5) / 3)) / 2
    if h <= 20:
        return 1.0
    return (1 + math.cos(math.pi * (h - 20) / 3.5)) / 2


def _diurnal(h):
    # -1 at dawn (6 h), +1 mid-afternoon (15 h): 9 h warming, 15 h cooling
    if 6 <= h < 15:
        return -math.cos(math.pi * (h - 6) / 9)
    return math.cos(math.pi * ((h - 15) % 24) / 15)


def temp_mean(cfg, t):
    return 13 + 5 * smooth(seed(cfg) + 1, t, 3 * _DAY)


def temp_c(cfg, t):
    s = seed(cfg)
    amp = 4 + 1.5 * smooth(s + 2, t, 2 * _DAY)
    return (
        temp_mean(cfg, t)
        + amp * _diurnal(hour(t))
        + 0.4 * smooth(s + 3, t, 900)
        + 0.1 * smooth(s + 4, t, 60)
    )


def rh_pct(cfg, t):
    s = seed(cfg)
    rh = 72 - 3.2 * (temp_c(cfg, t) - temp_mean(cfg, t)) + 8 * smooth(s + 5, t, _DAY)
    rh += 1.0 * smooth(s + 6, t, 300)
    return min(99.0, max(15.0, rh))


def p_hpa(cfg, t):
    s = seed(cfg)
    return (
        1013
        + 11 * smooth(s + 7, t, 4 * _DAY)
        + 2 * smooth(s + 8, t, 28800)
        + 0.1 * smooth(s + 9, t, 120)
    )


def pm25(cfg, t):
    s = seed(cfg)
    h = hour(t)
    bg = 7 + 4 * (smooth(s + 10, t, _DAY) + 1)
    traffic = busy(cfg) * (12 * _bump(h, 8.3, 1.1) + 9 * _bump(h, 18.2, 1.4))
    e = smooth(s + 11, t, 1.5 * _DAY)
    episode = 90 * (e - 0.45) if e > 0.45 else 0.0  # a pollution episode now and then
    return (bg + traffic + episode) * (1 + 0.12 * smooth(s + 12, t, 120))


def pm10(cfg, t):
    return pm25(cfg, t) * (1.55 + 0.25 * smooth(seed(cfg) + 13, t, _DAY)) + 2


def noise_dba(cfg, t):
    # traffic LAeq at the kerb: ~40 dB(A) at night, up to ~68 dB(A) by day, plus pass-bys
    s = seed(cfg) + 20
    b = busy(cfg)
    d = daylight(hour(t))
    base = 38 + 6 * b + (14 + 8 * b) * d + 1.5 * smooth(s, t, 600)
    e = 10 ** (base / 10)
    p = 0.08 + 0.6 * b * d  # probability of a pass-by starting in each 6 s slot
    k = int(t // 6)
    for j in (k - 1, k, k + 1):
        if _h(s + 1, j) < p:
            t0 = j * 6 + 6 * _h(s + 2, j)  # closest point of approach
            lv = base + 6 + 12 * _h(s + 3, j)
            dt = (t - t0) / 1.5
            e += 10 ** (lv / 10) / (1 + dt * dt)
    return 10 * math.log10(e)


def people_per_min(cfg, t):
    h = hour(t)
    r = 25 * _bump(h, 8.3, 0.8) + 12 * _bump(h, 12.5, 1.2) + 22 * _bump(h, 17.8, 1.2)
    return busy(cfg) * (0.3 + 6 * daylight(h) + r) * (1 + 0.2 * smooth(seed(cfg) + 30, t, 1800))


def fill_pct(cfg, t):
    # collected every 4 days; filled at 18 to 32 %/day depending on the week (so it sometimes
    # overflows before the round), more by day than by night
    s = seed(cfg) + 40
    u = t + (s % 4) * _DAY
    c = u // (4 * _DAY)
    since = u - c * 4 * _DAY
    f = (18 + 14 * _h(s, c)) * since / _DAY + 3 * math.sin(2 * math.pi * (hour(t) - 9) / 24) + 3
    return min(100.0, max(0.0, f))


def soil_pct(cfg, t):
    # drying since the last watering (some mornings at 6 h, or rain)
    s = seed(cfg) + 50
    d = int(t // _DAY)
    since = 10 * _DAY
    for back in range(10):
        day = d - back
        at = day * _DAY + 21600
        if at <= t and _h(s, day) < 0.35:
            since = t - at
            break
    return 12 + 60 * math.exp(-since / (1.6 * _DAY))


def bat_v(cfg, t):
    # a 18650 cell discharging over a 30-day cycle, then swapped
    x = ((t + seed(cfg) * 3600) % (30 * _DAY)) / (30 * _DAY)
    return 4.15 - 0.55 * x - 0.35 * x**8


class Rng:
    # xorshift32: a private, seeded generator (the VM's `random` is shared with the firmware)
    def __init__(self, s):
        self.s = (s * 2654435761 + 1) & _M32 or 1

    def u32(self):
        x = self.s
        x ^= (x << 13) & _M32
        x ^= x >> 17
        x ^= (x << 5) & _M32
        self.s = x
        return x

    def uniform(self, a=0.0, b=1.0):
        return a + (b - a) * (self.u32() / 4294967296.0)

    def poisson(self, lam):
        if lam > 30:  # normal approximation, plenty for a simulator
            v = lam + math.sqrt(lam) * (self.uniform() + self.uniform() + self.uniform() - 1.5) * 2
            return max(0, int(v + 0.5))
        n, p, lim = 0, 1.0, math.exp(-lam)
        while True:
            p *= self.uniform()
            if p <= lim:
                return n
            n += 1
