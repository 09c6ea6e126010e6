# Emulated ESP32 `machine` module: shadows the unix VM's built-in one (which
# stays reachable as `umachine`). Devices behind the buses come from simdev,
# wired by the board description (see _board.py). Reset, deep sleep and the
# watchdog are carried out by the host runner (tools/emulator/node.py): the VM
# exits with a code it understands, or leaves a heartbeat it watches.
# On the board this module lives in ROM; here its bytecode is heap, so only
# the core is loaded at import and each peripheral class on first use.
# RAM: about 4-5 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import sys

import umachine
from micropython import const

import _board as _b

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
PIN_WAKE = 2
EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4
TOUCHPAD_WAKE = 5
ULP_WAKE = 6

# Exit codes the host runner turns into a restart (tools/emulator/node.py).
_EXIT_RESET = const(110)
_EXIT_DEEPSLEEP = const(111)
_EXIT_SOFT = const(112)
_GPIO = const(0xFF0EEFFFFF)  # ESP32 GPIO 0-19, 21-23, 25-27, 32-39

Signal = umachine.Signal
idle = umachine.idle
_lv = {}  # pin levels, shared by every Pin object like the GPIO matrix


def _boot():
    # "cause wake" of this boot, written by the host runner before each start
    b = _b.read("boot")
    return b.split() if b else (b"1", b"0")


def reset_cause():
    return int(_boot()[0])


def wake_reason():
    return int(_boot()[1])


def reset():
    sys.exit(_EXIT_RESET)


def soft_reset():
    sys.exit(_EXIT_SOFT)


def deepsleep(ms=0):
    # 0: no timer wake-up; the host wakes the node (EmulatedNode.wake()).
    _b.write("wake", str(int(ms)).encode())
    sys.exit(_EXIT_DEEPSLEEP)


class Pin(umachine.PinBase):
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_DOWN = 1
    PULL_UP = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if not isinstance(id, int) or id < 0 or not (_GPIO >> id) & 1:
            raise ValueError("invalid pin")
        self._id = id
        self._pull = -1
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if (mode == 3 or mode == 7) and self._id >= 34:
            raise ValueError("pin can only be input")
        if pull != -1:
            self._pull = pull
        if value is not None:
            self.value(value)

    def value(self, v=None):
        i = self._id
        if v is None:
            if i in _lv:
                return _lv[i]
            lv = _b.cfg().get("pins", {}).get(str(i))  # board-wired input level
            return lv if lv is not None else int(self._pull == 2)
        v = 1 if v else 0
        if not v and _lv.get(i):
            us = _b.cfg().get("ultrasonic")
            if us and us.get("trig") == i:
                _b.trig = True  # falling edge ends the trigger pulse
        _lv[i] = v

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3, *, priority=1, wake=None, hard=False):
        return None  # inputs are static in the emulation: no edge ever fires

    def __repr__(self):
        return "Pin(%d)" % self._id


_LAZY = {
    "I2C": "_m_i2c",
    "SoftI2C": "_m_i2c",
    "UART": "_m_uart",
    "ADC": "_m_adc",
    "I2S": "_m_i2s",
    "WDT": "_m_rtc",
    "Timer": "_m_timer",
    "RTC": "_m_rtc",
    "time_pulse_us": "_m_misc",
    "lightsleep": "_m_misc",
    "unique_id": "_m_misc",
    "freq": "_m_misc",
    "disable_irq": "_m_misc",
    "enable_irq": "_m_misc",
}


def __getattr__(name):
    m = _LAZY.get(name)
    if m is None:
        raise AttributeError(name)
    v = getattr(__import__(m), name)
    globals()[name] = v
    return v
