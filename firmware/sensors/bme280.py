# Bosch BME280 (temperature, humidity, pressure) over I2C, forced mode, x1 oversampling.
# Compensation: the datasheet's integer formulas (BST-BME280-DS002 section 4.2.3 and 8.2).
# The probe (chip id, soft reset, trimming) runs on the first read and again after any fault,
# so a sensor plugged in late or reset by a brown-out is picked up without a reboot.
# RAM: 3.4 KB after import, 0.2 KB per object (unix VM, .py; test_sensor_ram.py).
import asyncio
import struct

from micropython import const

_ID = const(0xD0)
_RESET = const(0xE0)
_CTRL_HUM = const(0xF2)
_STATUS = const(0xF3)
_CTRL_MEAS = const(0xF4)
_DATA = const(0xF7)
_CHIP_ID = const(0x60)
_SKIPPED = const(0x80000)


class BME280:
    METRICS = ("temp_c", "rh_pct", "p_hpa")

    def __init__(self, i2c, addr=0x76):
        self._i2c = i2c
        self._addr = addr
        self._b = bytearray(8)
        self._c = None  # trimming: T1..T3, P1..P9, H1..H6

    def _err(self, what):
        return OSError("bme280@0x%02x: %s" % (self._addr, what))

    async def _probe(self):
        i2c, a, b = self._i2c, self._addr, self._b
        i2c.readfrom_mem_into(a, _ID, memoryview(b)[:1])
        if b[0] != _CHIP_ID:
            raise self._err("chip id 0x%02x, expected 0x60" % b[0])
        i2c.writeto_mem(a, _RESET, b"\xb6")
        for _ in range(10):  # NVM copy takes ~2 ms after reset (status bit 0)
            await asyncio.sleep_ms(2)
            i2c.readfrom_mem_into(a, _STATUS, memoryview(b)[:1])
            if not b[0] & 1:
                break
        else:
            raise self._err("stuck copying calibration")
        t = bytearray(26)
        i2c.readfrom_mem_into(a, 0x88, t)
        c = struct.unpack_from("<HhhHhhhhhhhh", t, 0)
        h1 = t[25]
        i2c.readfrom_mem_into(a, 0xE1, memoryview(t)[:7])
        h2, h3 = struct.unpack_from("<hB", t, 0)
        e4 = t[3] - 256 if t[3] & 0x80 else t[3]
        e6 = t[5] - 256 if t[5] & 0x80 else t[5]
        h4 = e4 * 16 | (t[4] & 0x0F)
        h5 = e6 * 16 | (t[4] >> 4)
        h6 = t[6] - 256 if t[6] & 0x80 else t[6]
        if c[0] == 0 or c[3] == 0:
            raise self._err("blank calibration")
        self._c = c + (h1, h2, h3, h4, h5, h6)

    async def read(self, out):
        try:
            if self._c is None:
                await self._probe()
            await self._measure(out)
        except OSError as e:
            self._c = None  # probe again next time
            if e.args and isinstance(e.args[0], str):
                raise
            raise self._err("I2C error %s" % e)

    async def _measure(self, out):
        i2c, a, b = self._i2c, self._addr, self._b
        i2c.writeto_mem(a, _CTRL_HUM, b"\x01")  # humidity x1 (latched by ctrl_meas)
        i2c.writeto_mem(a, _CTRL_MEAS, b"\x25")  # osrs_t x1, osrs_p x1, forced mode
        await asyncio.sleep_ms(10)  # datasheet 9.3 ms max at x1/x1/x1
        for _ in range(10):
            i2c.readfrom_mem_into(a, _STATUS, memoryview(b)[:1])
            if not b[0] & 0x08:
                break
            await asyncio.sleep_ms(2)
        else:
            raise self._err("conversion timeout")
        i2c.readfrom_mem_into(a, _DATA, b)
        adc_p = b[0] << 12 | b[1] << 4 | b[2] >> 4
        adc_t = b[3] << 12 | b[4] << 4 | b[5] >> 4
        adc_h = b[6] << 8 | b[7]
        if adc_t == _SKIPPED or adc_p == _SKIPPED or adc_h == 0x8000:
            raise self._err("conversion skipped (raw 0x%05x 0x%05x 0x%04x)" % (adc_t, adc_p, adc_h))
        c = self._c
        # temperature: t_fine in 1/5120 degC, T in 0.01 degC
        v1 = (((adc_t >> 3) - (c[0] << 1)) * c[1]) >> 11
        v2 = (((((adc_t >> 4) - c[0]) * ((adc_t >> 4) - c[0])) >> 12) * c[2]) >> 14
        tf = v1 + v2
        temp = ((tf * 5 + 128) >> 8) / 100
        # pressure, 64-bit integer formula: Pa in Q24.8
        v1 = tf - 128000
        v2 = v1 * v1 * c[8] + ((v1 * c[7]) << 17) + (c[6] << 35)
        v1 = ((v1 * v1 * c[5]) >> 8) + ((v1 * c[4]) << 12)
        v1 = (((1 << 47) + v1) * c[3]) >> 33
        if v1 <= 0:
            raise self._err("pressure compensation diverged")
        p = 1048576 - adc_p
        p = (((p << 31) - v2) * 3125) // v1
        v1 = (c[11] * (p >> 13) * (p >> 13)) >> 25
        v2 = (c[10] * p) >> 19
        pres = (((p + v1 + v2) >> 8) + (c[9] << 4)) / 25600
        # humidity: %RH in Q22.10
        h1, h2, h3, h4, h5, h6 = c[12:]
        v = tf - 76800
        v = (((adc_h << 14) - (h4 << 20) - h5 * v + 16384) >> 15) * (
            (((((v * h6) >> 10) * (((v * h3) >> 11) + 32768)) >> 10) + 2097152) * h2 + 8192 >> 14
        )
        v -= ((((v >> 15) * (v >> 15)) >> 7) * h1) >> 4
        v = 0 if v < 0 else min(v, 419430400)
        rh = (v >> 12) / 1024
        if not (-40 <= temp <= 85 and 300 <= pres <= 1100):
            raise self._err("implausible %.2f C %.2f hPa" % (temp, pres))
        out["temp_c"] = temp
        out["rh_pct"] = rh
        out["p_hpa"] = pres
