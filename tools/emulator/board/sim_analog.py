# Simulated analog parts: capacitive soil probe and battery divider on ADC pins, and the
# ultrasonic bin-level sensor's echo. ADC at 11 dB attenuation: 0..3.1 V full scale.
# Board description keys (optional): "soil_cal": [dry_u16, wet_u16] (default 52000, 24000),
# "battery_ratio" (divider, default 2.0), "bin_depth_cm" (default 120).
import math

import sim_env

_FS_UV = 3100000  # read_uv at read_u16() == 65535


class _Adc:
    def __init__(self, cfg):
        self._cfg = cfg
        self._rng = sim_env.Rng(sim_env.seed(cfg) ^ 0xADC)
        self.last = None

    def read_uv(self):
        return int(self._volts() * 1e6)

    def read_u16(self):
        return max(0, min(65535, int(self._volts() * 1e6 * 65535 / _FS_UV)))


class Soil(_Adc):
    def _volts(self):
        c = self._cfg
        dry, wet = c.get("soil_cal", (52000, 24000))
        pct = sim_env.soil_pct(c, sim_env.now(c))
        self.last = pct
        raw = dry - (dry - wet) * pct / 100 + self._rng.uniform(-150, 150)
        return raw * _FS_UV / 65535 / 1e6


class Battery(_Adc):
    def _volts(self):
        c = self._cfg
        v = sim_env.bat_v(c, sim_env.now(c))
        self.last = v
        return v / c.get("battery_ratio", 2.0) + self._rng.uniform(-0.002, 0.002)


class Echo:
    # HC-SR04 / JSN-SR04T echo pulse (us) for the bin below the sensor; now and then a ping
    # is lost (the part then holds echo high ~38 ms) or hits a stray reflector
    def __init__(self, cfg):
        self._cfg = cfg
        self._rng = sim_env.Rng(sim_env.seed(cfg) ^ 0xEC0)
        self.last = None  # (fill_pct, distance_cm)

    def echo_us(self):
        c = self._cfg
        r = self._rng
        t = sim_env.now(c)
        depth = c.get("bin_depth_cm", 120)
        fill = sim_env.fill_pct(c, t)
        d = depth * (1 - fill / 100)
        if d < 3:
            d = 3.0  # overflowing: the lid is a few cm above the rubbish
        self.last = (fill, d)
        u = r.uniform()
        if u < 0.05:
            return 38000
        if u < 0.10:
            d = r.uniform(5, d)
        sound = 331.3 * math.sqrt(1 + sim_env.temp_c(c, t) / 273.15) * 1e-4  # cm/us
        return int(2 * (d + r.uniform(-0.3, 0.3)) / sound)
