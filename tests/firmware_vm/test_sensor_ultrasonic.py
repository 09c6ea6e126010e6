# Ultrasonic bin-level driver: median of pings, speed of sound, fill computation, faults,
# and the simulated bin through a local time_pulse_us adapter.
import math

import sim_env
import simdev
from sensors.ultrasonic import Ultrasonic


class Pin:
    def __init__(self):
        self.v = 0
        self.rises = 0

    def value(self, v=None):
        if v is None:
            return self.v
        if v and not self.v:
            self.rises += 1
        self.v = v


class Echoes:
    # time_pulse_us(pin, level, timeout) replaying a list of echo widths (-1: no echo)
    def __init__(self, widths):
        self.widths = list(widths)

    def __call__(self, pin, level, timeout_us):
        w = self.widths.pop(0)
        return -1 if w > timeout_us else w


def _us(cm, temp=20.0):
    return int(2 * cm / (331.3 * math.sqrt(1 + temp / 273.15) * 1e-4))


async def test_fill_is_median_of_pings_despite_outliers():
    # 80 cm of air over a 120 cm bin, with a lost echo and a stray near reflection
    widths = [_us(80.2), 38000, _us(79.9), _us(12.0), _us(80.0)]
    trig = Pin()
    drv = Ultrasonic(trig, Pin(), 120, Echoes(widths), gap_ms=1)
    out = {}
    await drv.read(out)
    want = (120 - 80.0) / 120 * 100
    if abs(out["fill_pct"] - want) > 0.3:
        raise AssertionError((out, want))
    if trig.rises != 5:
        raise AssertionError("%d trigger pulses" % trig.rises)


async def test_speed_of_sound_follows_temperature():
    w = _us(60.0, temp=30.0)  # what the ranger measures on a hot day
    hot = {"temp_c": 30.0}
    await Ultrasonic(Pin(), Pin(), 100, Echoes([w] * 3), pings=3, gap_ms=1).read(hot)
    cold = {}
    await Ultrasonic(Pin(), Pin(), 100, Echoes([w] * 3), pings=3, gap_ms=1).read(cold)
    if abs(hot["fill_pct"] - 40.0) > 0.2:
        raise AssertionError(hot)
    if not cold["fill_pct"] > hot["fill_pct"] + 0.5:  # 20 degC assumed: sound slower, closer
        raise AssertionError((hot, cold))


async def test_fill_is_clamped_to_0_and_100():
    over = {}
    await Ultrasonic(Pin(), Pin(), 100, Echoes([_us(2.5)] * 3), pings=3, gap_ms=1).read(over)
    empty = {}
    await Ultrasonic(Pin(), Pin(), 100, Echoes([_us(130)] * 3), pings=3, gap_ms=1).read(empty)
    if not 97 < over["fill_pct"] < 98:
        raise AssertionError(over)
    if empty["fill_pct"] != 0.0:
        raise AssertionError(empty)
    full = {}
    jsn = Ultrasonic(Pin(), Pin(), 100, Echoes([_us(10)] * 3), pings=3, gap_ms=1, min_cm=20)
    try:
        await jsn.read(full)  # inside a JSN-SR04T's 20 cm blind zone: not a distance
    except OSError:
        pass
    else:
        raise AssertionError("blind-zone echoes accepted: %r" % full)


async def test_too_few_echoes_is_oserror():
    drv = Ultrasonic(Pin(), Pin(), 120, Echoes([38000, 38000, _us(50), 38000, _us(50)]), gap_ms=1)
    try:
        await drv.read({})
    except OSError as e:
        if "bin: 2 of 5" not in str(e):
            raise AssertionError(str(e))
    else:
        raise AssertionError("2 echoes of 5 accepted")


async def test_simulated_bin_reads_its_fill_level():
    now = [0.0]
    cfg = {"seed": 11, "clock": lambda: now[0], "bin_depth_cm": 120}
    echo = simdev.echo_device(cfg)

    def pulse(pin, level, timeout_us):
        w = echo.echo_us()
        return -1 if w > timeout_us else w

    drv = Ultrasonic(Pin(), Pin(), 120, pulse, pings=7, gap_ms=1)
    seen = []
    for day in range(9):
        now[0] = 86400 * (1000 + day) + 15 * 3600
        out = {"temp_c": sim_env.temp_c(cfg, now[0])}
        await drv.read(out)
        # truth as the ranger can see it: an overflowing bin still leaves a few cm of air
        fill = (120 - echo.last[1]) / 120 * 100
        seen.append(round(out["fill_pct"]))
        if abs(out["fill_pct"] - fill) > 1.0:
            raise AssertionError((day, out, echo.last))
    print("fill at 15 h over 9 days:", seen)
    if not any(seen[i + 1] < seen[i] - 30 for i in range(8)):
        raise AssertionError("the bin was never emptied: %r" % seen)
