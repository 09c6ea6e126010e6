# Simulated devices behind the emulated board's buses (the contract machine.py calls).
# Each family lives in its own sim_*.py, imported only when a board wires one: the code runs
# inside the node's 100 KB heap. cfg is the whole board description (seed, speed, zone, ...).
#   i2c_device(kind, cfg)  -> .readfrom_mem_into(memaddr, buf), .writeto_mem(memaddr, buf)
#   uart_device(kind, cfg) -> .write(buf) -> int, .readinto(buf) -> int | None, .any() -> int
#   adc_device(kind, cfg)  -> .read_u16() -> int, .read_uv() -> int
#   i2s_device(kind, cfg)  -> .readinto(buf) -> int
#   ble_source(kind, cfg)  -> .scan(duration_ms) -> (addr_type, addr, rssi, adv_data), one at a time
#   echo_device(cfg)       -> .echo_us() -> int
# Every device keeps `.last`: the simulated truth behind its latest output (BLE: with
# cfg['record'], as a list of a scan's advertisements would weigh on the node's heap).
# RAM: simdev + sim_env ~8 KB; every kind wired (modules + objects) ~25 KB of the node's heap,
# which a real ESP32 does not spend (tests/firmware_vm/test_sensor_ram.py).


def _unknown(bus, kind):
    return ValueError("simdev: no simulated %s device %r" % (bus, kind))


def i2c_device(kind, cfg):
    if kind == "bme280":
        from sim_bme280 import BME280Sim

        return BME280Sim(cfg)
    raise _unknown("i2c", kind)


def uart_device(kind, cfg):
    if kind == "pms5003":
        from sim_pm import PMS5003Sim

        return PMS5003Sim(cfg)
    if kind == "sds011":
        from sim_pm import SDS011Sim

        return SDS011Sim(cfg)
    raise _unknown("uart", kind)


def adc_device(kind, cfg):
    if kind == "soil":
        from sim_analog import Soil

        return Soil(cfg)
    if kind == "battery":
        from sim_analog import Battery

        return Battery(cfg)
    raise _unknown("adc", kind)


def i2s_device(kind, cfg):
    if kind == "mic":
        from sim_audio import MicSim

        return MicSim(cfg)
    raise _unknown("i2s", kind)


def ble_source(kind, cfg):
    if kind == "pedestrians":
        from sim_ble import Pedestrians

        return Pedestrians(cfg)
    raise _unknown("ble", kind)


def echo_device(cfg):
    from sim_analog import Echo

    return Echo(cfg)
