# Emulated ESP32 machine.ADC (loaded by machine on first use).
# The source is simdev.adc_device(kind, cfg) for the board's "adc" entry of this pin.
# RAM: about 2.0 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
from micropython import const

import _board as _b

_ADC_PINS = const(0xFF0E00F015)  # ADC1: 32-39, ADC2: 0, 2, 4, 12-15, 25-27


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 9
    WIDTH_10BIT = 10
    WIDTH_11BIT = 11
    WIDTH_12BIT = 12

    def __init__(self, pin, *, atten=None):
        i = pin if isinstance(pin, int) else pin._id
        if i < 0 or i > 39 or not (_ADC_PINS >> i) & 1:
            raise ValueError("invalid Pin for ADC")
        kind = _b.cfg().get("adc", {}).get(str(i))
        self._d = None
        if kind:
            self._d = _b.device("adc%d" % i, lambda: _b.sim().adc_device(kind, _b.cfg()))
        self._w = 12
        self._a = 0 if atten is None else atten

    def init(self, *, atten=None):
        if atten is not None:
            self._a = atten

    def atten(self, a):
        self._a = a

    def width(self, w):
        if w < 9 or w > 12:
            raise ValueError("invalid width")
        self._w = w

    def read_u16(self):
        return self._d.read_u16() if self._d else 0  # a floating input reads low

    def read(self):
        return self.read_u16() >> (16 - self._w)

    def read_uv(self):
        return self._d.read_uv() if self._d else 0
