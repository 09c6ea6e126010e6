# Bin fill level from an ultrasonic ranger (HC-SR04, or JSN-SR04T with min_cm=20) mounted
# under the lid: 10 us trigger pulse, echo pulse width by machine.time_pulse_us (injected as
# `pulse`), median of `pings` pings (a lost echo or a stray reflection does not move it).
# Speed of sound from the air temperature when known (out["temp_c"] from a sensor read
# earlier in the same cycle, else 20 degC): 331.3 * sqrt(1 + T / 273.15) m/s.
# fill_pct = (depth_cm - distance) / depth_cm, clamped to 0..100.
# RAM: 2.0 KB after import, 0.4 KB per object (unix VM, .py; test_sensor_ram.py).
import asyncio
import math
import time


class Ultrasonic:
    METRICS = ("fill_pct",)

    def __init__(self, trig, echo, depth_cm, pulse, pings=5, min_cm=2.0, max_cm=400.0,
                 gap_ms=60, timeout_us=30000):  # fmt: skip
        if depth_cm <= 0 or pings < 1:
            raise ValueError("bin: depth_cm and pings must be positive")
        self._trig = trig
        self._echo = echo
        self._depth = depth_cm
        self._pulse = pulse
        self._d = [0.0] * pings
        self._min = min_cm
        self._max = max_cm
        self._gap = gap_ms
        self._timeout = timeout_us
        trig.value(0)

    def ping(self, cm_per_us):
        # one distance in cm, or None (no echo, or outside the part's range)
        t = self._trig
        t.value(0)
        time.sleep_us(2)
        t.value(1)
        time.sleep_us(10)
        t.value(0)
        us = self._pulse(self._echo, 1, self._timeout)
        if us <= 0:
            return None
        d = us * cm_per_us / 2
        return d if self._min <= d <= self._max else None

    async def read(self, out):
        tc = out.get("temp_c")
        c = 331.3 * math.sqrt(1 + (20.0 if tc is None else tc) / 273.15) * 1e-4  # cm/us
        d = self._d
        n = 0
        for i in range(len(d)):
            if i:
                await asyncio.sleep_ms(self._gap)  # let the previous ping's echoes die out
            v = self.ping(c)
            if v is not None:
                d[n] = v
                n += 1
        if n * 2 <= len(d):
            raise OSError("bin: %d of %d pings answered (ranger absent or blocked)" % (n, len(d)))
        v = sorted(d[:n])
        m = v[n // 2] if n & 1 else (v[n // 2 - 1] + v[n // 2]) / 2
        f = (self._depth - m) * 100 / self._depth
        out["fill_pct"] = 0.0 if f < 0 else 100.0 if f > 100 else f
