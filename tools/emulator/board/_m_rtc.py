# Emulated ESP32 machine.WDT and machine.RTC (loaded by machine on first use).
# RAM: about 2.0 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import time

import _board as _b


class WDT:
    # The host runner restarts the VM (reset cause WDT_RESET) when the last
    # feed is older than the timeout: the mtime of the file "wdt" is the
    # heartbeat, its content the timeout in ms.
    def __init__(self, id=0, timeout=5000):
        if timeout < 1:
            raise ValueError("WDT timeout too short")
        self._t = str(int(timeout)).encode()
        self.feed()

    def feed(self):
        _b.write("wdt", self._t)


class RTC:
    # memory(): RTC RAM (2 KB max), kept across reset, deep sleep and the
    # watchdog, lost on power cut (the host clears it at power-on).
    # datetime(): host clock plus the offset set by datetime(tuple); time.time()
    # in the VM stays the host clock.
    def __init__(self, id=0):
        pass

    def datetime(self, dt=None):
        if dt is None:
            ns = time.time_ns() + int(_b.read("rtc_off", b"0")) * 1000000000
            t = time.gmtime(ns // 1000000000)
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], ns // 1000 % 1000000)
        s = time.mktime((dt[0], dt[1], dt[2], dt[4], dt[5], dt[6], 0, 0))
        _b.write("rtc_off", str(s - time.time_ns() // 1000000000).encode())

    def init(self, dt):
        self.datetime(dt)

    def memory(self, data=None):
        if data is None:
            return _b.read("rtcmem", b"")
        if len(data) > 2048:
            raise ValueError("buffer too long")
        _b.write("rtcmem", data)
