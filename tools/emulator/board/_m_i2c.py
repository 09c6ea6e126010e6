# Emulated ESP32 machine.I2C and machine.SoftI2C (loaded by machine on first use).
# Devices come from simdev.i2c_device(kind, cfg) at the addresses of the board description.
# RAM: about 3-4 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
from micropython import const

import _board as _b

_ENODEV = const(19)


def _pid(p):
    return p if isinstance(p, int) else p._id


class I2C:
    def __init__(self, id=0, *, scl=None, sda=None, freq=400000, timeout=50000):
        if id not in (0, 1):
            raise ValueError("I2C(%s) doesn't exist" % id)
        self._bus = self._wire(str(id), scl, sda)
        self._ptr = {}

    @staticmethod
    def _wire(bid, scl, sda):
        buses = _b.cfg().get("i2c", {})
        if bid is None:  # SoftI2C: the bus is where its pins are
            for k, c in buses.items():
                if c.get("scl") == _pid(scl) and c.get("sda") == _pid(sda):
                    bid = k
        c = buses.get(bid)
        if c is None or (scl is not None and _pid(scl) != c.get("scl")):
            return {}
        if sda is not None and _pid(sda) != c.get("sda"):
            return {}  # miswired: nothing answers, as on the bench
        bus = {}
        for a, kind in c.get("devices", {}).items():
            bus[int(a)] = _b.device(
                "i2c%s.%s" % (bid, a), lambda: _b.sim().i2c_device(kind, _b.cfg())
            )
        return bus

    def _dev(self, addr):
        d = self._bus.get(addr)
        if d is None:
            raise OSError(_ENODEV)  # no ACK
        return d

    def scan(self):
        return sorted(self._bus)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        self._dev(addr).readfrom_mem_into(memaddr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        b = bytearray(nbytes)
        self._dev(addr).readfrom_mem_into(memaddr, b)
        return bytes(b)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._dev(addr).writeto_mem(memaddr, buf)

    def writeto(self, addr, buf, stop=True):
        # first byte: register pointer, the rest: data written from there on
        d = self._dev(addr)
        if len(buf):
            self._ptr[addr] = buf[0]
            if len(buf) > 1:
                d.writeto_mem(buf[0], memoryview(buf)[1:])
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._dev(addr).readfrom_mem_into(self._ptr.get(addr, 0), buf)

    def readfrom(self, addr, nbytes, stop=True):
        b = bytearray(nbytes)
        self.readfrom_into(addr, b)
        return bytes(b)


class SoftI2C(I2C):
    def __init__(self, scl, sda, *, freq=400000, timeout=50000):
        self._bus = self._wire(None, scl, sda)
        self._ptr = {}
