# Analog sensors on the ESP32 ADC (11 dB attenuation, read_u16 / read_uv):
# - Soil: capacitive probe (v1.2 type: the voltage falls as the soil gets wetter), two-point
#   calibration: raw in air ("dry") and in water ("wet") -> soil_pct, clamped to 0..100.
#   A reading pinned at a rail means no probe (floating input) or a short: OSError.
# - Battery: voltage behind a divider (ratio = Vbat / Vpin); read_uv (eFuse-calibrated on
#   the ESP32) when the port has it, else read_u16 scaled by fs_uv.
# Both average `samples` readings to cut the ADC's noise.
# RAM: 2.3 KB after import (unix VM, .py; test_sensor_ram.py).
_RAIL = 256  # read_u16 within this of 0 or 65535: pinned


class Soil:
    METRICS = ("soil_pct",)

    def __init__(self, adc, dry, wet, samples=8):
        if dry == wet:
            raise ValueError("soil: dry and wet calibration are equal")
        self._adc = adc
        self._dry = dry
        self._wet = wet
        self._k = samples

    async def read(self, out):
        s = 0
        for _ in range(self._k):
            s += self._adc.read_u16()
        raw = s / self._k
        if raw < _RAIL or raw > 65535 - _RAIL:
            raise OSError("soil: ADC reads %d, at a rail (probe absent or shorted)" % raw)
        p = (raw - self._dry) * 100 / (self._wet - self._dry)
        out["soil_pct"] = 0.0 if p < 0 else 100.0 if p > 100 else p


class Battery:
    METRICS = ("bat_v",)

    def __init__(self, adc, ratio=2.0, samples=8, fs_uv=3100000, lo=0.5, hi=6.0):
        self._adc = adc
        self._ratio = ratio
        self._k = samples
        self._fs = fs_uv
        self._lo = lo
        self._hi = hi
        self._uv = hasattr(adc, "read_uv")

    async def read(self, out):
        a = self._adc
        s = 0
        for _ in range(self._k):
            s += a.read_uv() if self._uv else a.read_u16() * self._fs // 65535
        v = s / self._k * self._ratio / 1e6
        if not self._lo <= v <= self._hi:
            raise OSError("battery: %.2f V implausible (divider or wiring fault)" % v)
        out["bat_v"] = v
