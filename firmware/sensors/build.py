# Sensor drivers from the node configuration's sensor list. `machine` is injected (the real
# module on the board, the emulated one in the VM); a driver module is imported only when a
# sensor of its kind is configured, so unused drivers cost no RAM. One bus object per I2C id,
# shared by the sensors on it. Unknown kind or a missing key: ValueError naming it.
#   {"kind": "bme280", "i2c": 0, "scl": 22, "sda": 21, "addr": 118}
#   {"kind": "pms5003" | "sds011", "uart": 1, "tx": 17, "rx": 16, "passive": true}
#   {"kind": "mic", "i2s": 0, "sck": 14, "ws": 15, "sd": 32, "rate": 16000, "cal_db": 120.0}
#   {"kind": "people", "rssi_min": -85, "scan_ms": 5000, "cap": 256}
#   {"kind": "bin", "trig": 5, "echo": 18, "depth_cm": 120, "min_cm": 2}
#   {"kind": "soil", "pin": 34, "dry": 52000, "wet": 24000}
#   {"kind": "battery", "pin": 35, "ratio": 2.0}
# RAM: 1.9 KB after import (unix VM, .py; test_sensor_ram.py); drivers extra.
import gc


def _adc(machine, pin):
    a = machine.ADC(machine.Pin(pin))
    a.atten(machine.ADC.ATTN_11DB)  # 0..3.1 V
    return a


def _one(s, machine, buses, ble):
    k = s["kind"]
    if k == "bme280":
        from sensors.bme280 import BME280

        b = s["i2c"]
        i2c = buses.get(b)
        if i2c is None:
            i2c = buses[b] = machine.I2C(
                b, scl=machine.Pin(s["scl"]), sda=machine.Pin(s["sda"]), freq=100000
            )
        return BME280(i2c, s.get("addr", 0x76))
    if k == "pms5003" or k == "sds011":
        u = machine.UART(s["uart"], baudrate=9600, tx=s["tx"], rx=s["rx"], timeout=0)
        if k == "pms5003":
            from sensors.pm import PMS5003 as C
        else:
            from sensors.pm import SDS011 as C
        return C(u, s.get("passive", True))
    if k == "mic":
        from sensors.sound import Sound

        rate = s.get("rate", 16000)
        i2s = machine.I2S(
            s["i2s"], sck=machine.Pin(s["sck"]), ws=machine.Pin(s["ws"]),
            sd=machine.Pin(s["sd"]), mode=machine.I2S.RX, bits=32,
            format=machine.I2S.MONO, rate=rate, ibuf=8192,
        )  # fmt: skip
        return Sound(i2s, rate, s.get("cal_db", 120.0), bursts=s.get("bursts", 10))
    if k == "people":
        from sensors.people import People

        if ble is None:
            import bluetooth

            ble = bluetooth.BLE()
        return People(ble, s.get("rssi_min", -85), s.get("cap", 128), s.get("scan_ms", 5000))
    if k == "bin":
        from sensors.ultrasonic import Ultrasonic

        P = machine.Pin
        return Ultrasonic(
            P(s["trig"], P.OUT), P(s["echo"], P.IN), s["depth_cm"], machine.time_pulse_us,
            min_cm=s.get("min_cm", 2.0),
        )  # fmt: skip
    if k == "soil":
        from sensors.analog import Soil

        return Soil(_adc(machine, s["pin"]), s["dry"], s["wet"])
    if k == "battery":
        from sensors.analog import Battery

        return Battery(_adc(machine, s["pin"]), s.get("ratio", 2.0))
    raise ValueError("sensor kind %r unknown" % k)


def build(specs, machine, ble=None):
    # -> list of drivers in config order (order matters: "bin" uses the temp_c read before it)
    buses = {}
    out = []
    for s in specs:
        try:
            out.append(_one(s, machine, buses, ble))
        except KeyError as e:
            raise ValueError("sensor %r: missing key %s" % (s.get("kind"), e))
        gc.collect()  # an import leaves compiler garbage: free it before the next buffer
    return out
