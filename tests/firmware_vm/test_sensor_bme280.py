# BME280 driver against the simulated chip (register level), through a local I2C adapter.
import simdev
from sensors.bme280 import BME280

_H = 3600


class Bus:
    # the machine.I2C calls the driver makes; an address with no device NACKs (ENODEV)
    def __init__(self, devs):
        self.devs = devs

    def _d(self, a):
        d = self.devs.get(a)
        if d is None:
            raise OSError(19)
        return d

    def readfrom_mem_into(self, a, mem, buf):
        self._d(a).readfrom_mem_into(mem, buf)

    def writeto_mem(self, a, mem, buf):
        self._d(a).writeto_mem(mem, buf)


def _rig(seed, t0):
    now = [t0]
    dev = simdev.i2c_device(
        "bme280", {"seed": seed, "zone": "centre-ville", "clock": lambda: now[0]}
    )
    return now, dev, BME280(Bus({0x76: dev}), 0x76)


async def test_values_match_simulated_truth_over_three_days():
    worst = [0.0, 0.0, 0.0]
    for seed in (1, 7, 4242):
        now, dev, drv = _rig(seed, 20000 * 86400.0)
        for k in range(24):
            now[0] += 3 * _H + 17
            out = {}
            await drv.read(out)
            t, rh, p = dev.last
            for i, (got, want, tol) in enumerate(
                ((out["temp_c"], t, 0.5), (out["rh_pct"], rh, 1.0), (out["p_hpa"], p, 1.0))
            ):
                err = abs(got - want)
                worst[i] = max(worst[i], err)
                if err > tol:
                    raise AssertionError(
                        "seed %d step %d: %r vs truth %r" % (seed, k, out, dev.last)
                    )
    print("worst error: %.3f C  %.3f %%RH  %.4f hPa" % tuple(worst))


async def test_reading_follows_the_diurnal_cycle():
    now, dev, drv = _rig(7, 20000 * 86400.0 + 6 * _H)  # dawn
    dawn = {}
    await drv.read(dawn)
    now[0] += 9 * _H  # mid-afternoon
    noon = {}
    await drv.read(noon)
    if not noon["temp_c"] > dawn["temp_c"] + 3:
        raise AssertionError((dawn, noon))
    if not noon["rh_pct"] < dawn["rh_pct"]:
        raise AssertionError("humidity should fall as it warms: %r %r" % (dawn, noon))


async def test_wrong_chip_id_is_oserror_naming_the_sensor():
    now, dev, drv = _rig(1, 0.0)
    dev._r[0xD0] = 0x58  # a BMP280 (no humidity) answering at the address
    try:
        await drv.read({})
    except OSError as e:
        if "bme280@0x76" not in str(e) or "chip id 0x58" not in str(e):
            raise AssertionError(str(e))
    else:
        raise AssertionError("accepted a BMP280")


async def test_absent_device_is_oserror_then_found_when_plugged():
    dev = simdev.i2c_device("bme280", {"seed": 3, "clock": lambda: 50000.0})
    bus = Bus({})
    drv = BME280(bus, 0x77)
    out = {}
    try:
        await drv.read(out)
    except OSError as e:
        if "bme280@0x77" not in str(e) or "I2C error" not in str(e):
            raise AssertionError(str(e))
    else:
        raise AssertionError("no error without a device")
    if out:
        raise AssertionError("a failed read must store nothing: %r" % out)
    bus.devs[0x77] = dev
    await drv.read(out)
    if abs(out["temp_c"] - dev.last[0]) > 0.5:
        raise AssertionError((out, dev.last))


async def test_conversion_skipped_is_oserror():
    now, dev, drv = _rig(1, 0.0)
    await drv.read({})
    # a part that ignores ctrl_meas (stuck in sleep) leaves the reset values 0x80000 in place
    dev._convert = lambda: None
    dev._r[0xF7:0xFF] = b"\x80\x00\x00\x80\x00\x00\x80\x00"
    try:
        await drv.read({})
    except OSError as e:
        if "skipped" not in str(e):
            raise AssertionError(str(e))
    else:
        raise AssertionError("reset values accepted as a measurement")
