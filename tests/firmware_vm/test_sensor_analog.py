# Soil moisture and battery voltage drivers: calibration, clamping, faults, simulated parts.
import simdev
from sensors.analog import Battery, Soil


class Adc:
    def __init__(self, u16=0, uv=None):
        self.u16 = u16
        self.uv = uv

    def read_u16(self):
        return self.u16


class AdcUv(Adc):
    def read_uv(self):
        return self.uv


async def _soil(raw, dry=52000, wet=24000):
    out = {}
    await Soil(Adc(raw), dry, wet).read(out)
    return out["soil_pct"]


async def test_soil_two_point_calibration_and_clamping():
    for raw, want in ((52000, 0.0), (24000, 100.0), (38000, 50.0), (60000, 0.0), (20000, 100.0)):
        got = await _soil(raw)
        if abs(got - want) > 1e-6:
            raise AssertionError((raw, got, want))
    if abs(await _soil(30000, dry=20000, wet=40000) - 50.0) > 1e-6:  # rising-type probe
        raise AssertionError("inverted calibration")


async def test_soil_probe_at_a_rail_is_oserror():
    for raw in (0, 65535):
        try:
            await _soil(raw)
        except OSError as e:
            if "soil" not in str(e):
                raise AssertionError(str(e))
        else:
            raise AssertionError("rail reading %d accepted" % raw)


async def test_battery_uses_read_uv_and_divider():
    out = {}
    await Battery(AdcUv(u16=1, uv=1850000), ratio=2.0).read(out)
    if abs(out["bat_v"] - 3.70) > 1e-6:
        raise AssertionError(out)
    out = {}
    await Battery(Adc(u16=65535), ratio=1.0, fs_uv=3100000).read(out)  # no read_uv
    if abs(out["bat_v"] - 3.10) > 1e-3:
        raise AssertionError(out)


async def test_battery_implausible_voltage_is_oserror():
    try:
        await Battery(AdcUv(uv=0)).read({})
    except OSError as e:
        if "battery" not in str(e):
            raise AssertionError(str(e))
    else:
        raise AssertionError("0 V accepted")


async def test_simulated_soil_and_battery_read_their_truth():
    now = [86400 * 200 + 5 * 3600.0]
    cfg = {"seed": 4, "clock": lambda: now[0]}
    soil = Soil(simdev.adc_device("soil", cfg), 52000, 24000)
    bat = Battery(simdev.adc_device("battery", cfg), 2.0)
    sd, bd = soil._adc, bat._adc
    for h in range(0, 96, 6):
        now[0] = 86400 * 200 + h * 3600.0
        out = {}
        await soil.read(out)
        await bat.read(out)
        if abs(out["soil_pct"] - sd.last) > 1.5 or abs(out["bat_v"] - bd.last) > 0.02:
            raise AssertionError((h, out, sd.last, bd.last))
