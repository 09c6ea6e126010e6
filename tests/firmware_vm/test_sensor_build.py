# build(): drivers from the node config's sensor list, with a local stand-in for `machine`
# whose buses reach the simulated devices; lazy imports; errors naming the culprit.
import gc
import sys

import simdev

_CFG = {"seed": 2, "zone": "centre-ville", "clock": lambda: 86400 * 30 + 9 * 3600.0}

SPECS = [
    {"kind": "bme280", "i2c": 0, "scl": 22, "sda": 21, "addr": 118},
    {"kind": "pms5003", "uart": 1, "tx": 17, "rx": 16},
    {"kind": "sds011", "uart": 2, "tx": 4, "rx": 5},
    {"kind": "mic", "i2s": 0, "sck": 14, "ws": 15, "sd": 32, "rate": 16000, "cal_db": 120.0,
     "bursts": 2},
    {"kind": "people", "rssi_min": -85, "scan_ms": 2000},
    {"kind": "bin", "trig": 5, "echo": 18, "depth_cm": 120},
    {"kind": "soil", "pin": 34, "dry": 52000, "wet": 24000},
    {"kind": "battery", "pin": 35, "ratio": 2.0},
]  # fmt: skip


class Machine:
    # the part of the machine API build() uses; records what was created
    made = []

    class Pin:
        IN = 1
        OUT = 3

        def __init__(self, i, mode=-1):
            self.i = i
            self.v = 0

        def value(self, v=None):
            if v is None:
                return self.v
            self.v = v

    class I2C:
        def __init__(self, i, scl, sda, freq):
            Machine.made.append(("I2C", i, scl.i, sda.i))
            self.dev = simdev.i2c_device("bme280", _CFG)

        def readfrom_mem_into(self, a, mem, buf):
            if a != 118:
                raise OSError(19)
            self.dev.readfrom_mem_into(mem, buf)

        def writeto_mem(self, a, mem, buf):
            self.dev.writeto_mem(mem, buf)

    class UART:
        def __init__(self, i, baudrate, tx, rx, timeout):
            Machine.made.append(("UART", i, baudrate, tx, rx))
            self.dev = simdev.uart_device({1: "pms5003", 2: "sds011"}[i], _CFG)

        def any(self):
            return self.dev.any()

        def readinto(self, buf, nbytes=None):
            return self.dev.readinto(memoryview(buf)[: len(buf) if nbytes is None else nbytes])

        def write(self, b):
            return self.dev.write(b)

    class I2S:
        RX = 1
        MONO = 0

        def __init__(self, i, sck, ws, sd, mode, bits, format, rate, ibuf):
            Machine.made.append(("I2S", i, bits, rate))
            self.dev = simdev.i2s_device("mic", _CFG)

        def readinto(self, buf):
            return self.dev.readinto(buf)

    class ADC:
        ATTN_11DB = 3

        def __init__(self, pin):
            Machine.made.append(("ADC", pin.i))
            self.dev = simdev.adc_device({34: "soil", 35: "battery"}[pin.i], _CFG)

        def atten(self, a):
            self.a = a

        def read_u16(self):
            return self.dev.read_u16()

        def read_uv(self):
            return self.dev.read_uv()

    echo = simdev.echo_device(_CFG)

    @staticmethod
    def time_pulse_us(pin, level, timeout_us):
        w = Machine.echo.echo_us()
        return -1 if w > timeout_us else w


def _ble():
    return simdev.ble_source("pedestrians", _CFG).scan


async def test_build_full_config_reads_every_metric():
    from sensors.build import build

    drivers = build(SPECS, Machine, ble=_ble())
    names = [type(d).__name__ for d in drivers]
    if names != ["BME280", "PMS5003", "SDS011", "Sound", "People", "Ultrasonic", "Soil",
                 "Battery"]:  # fmt: skip
        raise AssertionError(names)
    out = {}
    for d in drivers:
        await d.read(out)
        gc.collect()  # as the application does between sensors
    want = set()
    for d in drivers:
        want.update(d.METRICS)
    keys = ("temp_c", "rh_pct", "p_hpa", "pm25_ugm3", "pm10_ugm3", "laeq_db", "lamax_db",
            "people_n", "fill_pct", "soil_pct", "bat_v")  # fmt: skip
    if set(out) != want or want != set(keys):
        raise AssertionError(sorted(out))
    for k in keys:
        v = out[k]
        if not isinstance(v, int if k == "people_n" else float):
            raise AssertionError("%s is %r" % (k, v))
    print(out)
    print("heap with all 8 drivers and all simulated devices: %d used, %d free" %
          (gc.mem_alloc(), gc.mem_free()))  # fmt: skip
    if ("I2C", 0, 22, 21) not in Machine.made or ("I2S", 0, 32, 16000) not in Machine.made:
        raise AssertionError(Machine.made)


def test_only_configured_drivers_are_imported():
    from sensors.build import build

    build([SPECS[0], SPECS[-1]], Machine)
    loaded = [m for m in sys.modules if m.startswith("sensors.")]
    for m in ("sensors.sound", "sensors.people", "sensors.pm", "sensors.ultrasonic"):
        if m in loaded:
            raise AssertionError("%s imported without being configured" % m)
    if "sensors.bme280" not in loaded or "sensors.analog" not in loaded:
        raise AssertionError(loaded)


def test_two_sensors_on_one_i2c_bus_share_it():
    from sensors.build import build

    Machine.made = []
    a, b = build([SPECS[0], dict(SPECS[0], addr=119)], Machine)
    if a._i2c is not b._i2c or [m for m in Machine.made if m[0] == "I2C"] != [("I2C", 0, 22, 21)]:
        raise AssertionError(Machine.made)


def test_unknown_kind_or_missing_key_is_valueerror_naming_it():
    from sensors.build import build

    for specs, word in (([{"kind": "lidar", "pin": 3}], "lidar"),
                        ([{"kind": "soil", "pin": 34, "dry": 1}], "wet")):  # fmt: skip
        try:
            build(specs, Machine)
        except ValueError as e:
            if word not in str(e):
                raise AssertionError(str(e))
        else:
            raise AssertionError("accepted %r" % specs)
