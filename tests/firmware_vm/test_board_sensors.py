# The sensor drivers of firmware/sensors, built from a node configuration against the
# emulated board's machine module: the bus contract between drivers, board and simulated
# devices, with the devices' own truth (`.last`) to compare against.
import json

BOARD = {
    "node_id": "ang-0001",
    "seed": 7,
    "speed": 60.0,
    "zone": "centre-ville",
    "i2c": {"0": {"scl": 22, "sda": 21, "devices": {"118": "bme280"}}},
    "uart": {"1": "pms5003", "2": "sds011"},
    "adc": {"34": "soil", "35": "battery"},
    "ultrasonic": {"trig": 5, "echo": 18},
    "ble": "pedestrians",
}


def _machine():
    with open("board.json", "w") as f:
        json.dump(BOARD, f)
    import machine

    return machine


def _near(what, got, want, tol):
    if abs(got - want) > tol:
        raise AssertionError("%s: driver read %s, device simulated %s" % (what, got, want))


async def test_drivers_read_the_simulated_devices_through_the_board():
    m = _machine()
    from sensors.build import build

    import _board

    drivers = build(
        [
            {"kind": "bme280", "i2c": 0, "scl": 22, "sda": 21, "addr": 118},
            {"kind": "pms5003", "uart": 1, "tx": 17, "rx": 16},
            {"kind": "sds011", "uart": 2, "tx": 4, "rx": 2},
            {"kind": "bin", "trig": 5, "echo": 18, "depth_cm": 120},
            {"kind": "soil", "pin": 34, "dry": 52000, "wet": 24000},
            {"kind": "battery", "pin": 35, "ratio": 2.0},
        ],
        m,
    )
    out = {}
    for d in drivers:
        await d.read(out)
    devs = _board._devs
    t, rh, p = devs["i2c0.118"].last
    _near("temp_c", out["temp_c"], t, 0.5)
    _near("rh_pct", out["rh_pct"], rh, 1.0)
    _near("p_hpa", out["p_hpa"], p, 1.0)
    for key in ("pm25_ugm3", "pm10_ugm3"):
        if not 0 <= out[key] < 1000:
            raise AssertionError("%s out of range: %s" % (key, out[key]))
    _near("soil_pct", out["soil_pct"], devs["adc34"].last, 3.0)
    _near("bat_v", out["bat_v"], devs["adc35"].last, 0.05)
    _near("fill_pct", out["fill_pct"], devs["echo"].last[0], 5.0)


async def test_people_counter_scans_through_the_board_bluetooth():
    _machine()
    import bluetooth

    from sensors.build import build

    (people,) = build([{"kind": "people", "rssi_min": -85, "scan_ms": 2000}], None,
                      bluetooth.BLE())
    out = {}
    await people.read(out)
    if not isinstance(out["people_n"], int) or out["people_n"] < 1:
        raise AssertionError("no device counted: %r" % out)
