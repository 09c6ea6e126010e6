# Emulated ESP32 machine functions used by few applications (loaded on first use).
# RAM: about 1.6 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import time

import _board as _b

_f = [160000000]


def lightsleep(ms=0):
    # RAM is kept, the CPU stops; the board's time-acceleration factor applies.
    time.sleep_ms(int(ms / _b.cfg().get("speed", 1.0)) if ms else 1)


def unique_id():
    return _b.mac()


def freq(hz=None):
    if hz is None:
        return _f[0]
    if hz not in (20000000, 40000000, 80000000, 160000000, 240000000):
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    _f[0] = hz


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


def time_pulse_us(pin, level, timeout_us=1000000):
    # The ultrasonic echo pin answers once per trigger pulse (falling edge on
    # the trig pin) with simdev.echo_device(cfg).echo_us().
    us = _b.cfg().get("ultrasonic")
    if us and pin._id == us.get("echo") and level == 1 and _b.trig:
        _b.trig = False
        t = _b.device("echo", lambda: _b.sim().echo_device(_b.cfg())).echo_us()
        if t > timeout_us:
            time.sleep_us(timeout_us)
            return -1
        time.sleep_us(t)
        return t
    # no pulse arrives: the real call waits for the whole timeout
    time.sleep_us(timeout_us)
    return -1 if pin.value() == level else -2
