# RAM cost of each sensor driver module (bytecode + qstrs, as .py source) and of one driver
# object with its buffers; the numbers quoted at the top of each module come from here.
# Each test runs in a fresh VM; asyncio (shared by all firmware) is loaded before measuring.
import gc

import asyncio  # noqa: F401  (loaded first: not charged to the driver)
import sensors  # noqa: F401


def _cost(name, budget):
    gc.collect()
    a = gc.mem_alloc()
    __import__(name)
    gc.collect()
    n = gc.mem_alloc() - a
    print("RAM %s import: %d bytes" % (name, n))
    if n > budget:
        raise AssertionError("%s costs %d bytes, budget %d" % (name, n, budget))
    return n


def _obj(label, make, budget):
    gc.collect()
    a = gc.mem_alloc()
    o = make()
    gc.collect()
    n = gc.mem_alloc() - a
    print("RAM %s object: %d bytes" % (label, n))
    if n > budget:
        raise AssertionError("%s object costs %d bytes, budget %d" % (label, n, budget))
    return o


class _Any:
    # accepts any bus call: for construction only
    def __getattr__(self, k):
        return lambda *a, **kw: 0


def test_ram_bme280():
    _cost("sensors.bme280", 4500)
    from sensors.bme280 import BME280

    _obj("BME280", lambda: BME280(_Any()), 512)


def test_ram_pm():
    _cost("sensors.pm", 5000)
    from sensors.pm import PMS5003

    _obj("PMS5003", lambda: PMS5003(_Any()), 512)


def test_ram_sound():
    _cost("sensors.sound", 4500)
    from sensors.sound import Sound

    _obj("Sound", lambda: Sound(_Any()), 2600)


def test_ram_people():
    _cost("sensors.people", 3500)
    from sensors.people import People

    _obj("People(cap=128)", lambda: People(lambda ms: ()), 2600)


def test_ram_ultrasonic():
    _cost("sensors.ultrasonic", 2500)
    from sensors.ultrasonic import Ultrasonic

    _obj("Ultrasonic", lambda: Ultrasonic(_Any(), _Any(), 120, _Any()), 512)


def test_ram_analog():
    _cost("sensors.analog", 3000)


def test_ram_build():
    _cost("sensors.build", 4500)


def test_ram_simulated_devices():
    # what the simulators add to an emulated node's heap when every kind is wired
    gc.collect()
    a = gc.mem_alloc()
    import simdev

    cfg = {"seed": 1, "zone": "centre-ville"}
    devs = [
        simdev.i2c_device("bme280", cfg),
        simdev.uart_device("pms5003", cfg),
        simdev.uart_device("sds011", cfg),
        simdev.adc_device("soil", cfg),
        simdev.adc_device("battery", cfg),
        simdev.i2s_device("mic", cfg),
        simdev.ble_source("pedestrians", cfg),
        simdev.echo_device(cfg),
    ]
    gc.collect()
    n = gc.mem_alloc() - a
    print("RAM all simulated devices (modules + objects): %d bytes" % n)
    # the emulation's own cost (added to an emulated node's heap, never on a real board); the
    # modules' file names are interned, so the figure grows with the checkout's path: margin
    if n > 30000:
        raise AssertionError(n)
    del devs
