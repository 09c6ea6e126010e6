# PMS5003 and SDS011 drivers against the simulated parts (frame level) and against scripted
# byte streams (garbage, corrupted frames, silence).
import struct

import simdev
from sensors.pm import PMS5003, SDS011


class Uart:
    # the machine.UART calls the drivers make, over a simulated part
    def __init__(self, dev):
        self.dev = dev
        self.sent = bytearray()

    def any(self):
        return self.dev.any()

    def readinto(self, buf, nbytes=None):
        if nbytes is not None:
            buf = memoryview(buf)[:nbytes]
        return self.dev.readinto(buf)

    def write(self, b):
        self.sent.extend(b)
        return self.dev.write(b)


class Script:
    # a part that answers each request with the next chunk of bytes (or nothing)
    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.q = bytearray()

    def any(self):
        return len(self.q)

    def readinto(self, buf, nbytes=None):
        if nbytes is not None:
            buf = memoryview(buf)[:nbytes]
        n = min(len(buf), len(self.q))
        if not n:
            return None
        buf[:n] = self.q[:n]
        self.q = self.q[n:]
        return n

    def write(self, b):
        # 7-byte PMS5003 or 19-byte SDS011 request: data read (E2 / cmd 4) gets the next chunk
        if (len(b) == 7 and b[2] == 0xE2) or (len(b) == 19 and b[2] == 4):
            if self.chunks:
                self.q.extend(self.chunks.pop(0))
        return len(b)


def pms_frame(pm25, pm10):
    f = bytearray(32)
    struct.pack_into(">BBH13H", f, 0, 0x42, 0x4D, 28, 1, pm25, pm10, 1, pm25, pm10, *([0] * 7))
    struct.pack_into(">H", f, 30, sum(f[:30]))
    return f


def sds_frame(pm25_x10, pm10_x10):
    f = bytearray(10)
    struct.pack_into("<BBHHBB", f, 0, 0xAA, 0xC0, pm25_x10, pm10_x10, 1, 2)
    f[8] = sum(f[2:8]) & 0xFF
    f[9] = 0xAB
    return f


def _cfg(t, **kw):
    c = {"seed": 5, "zone": "centre-ville", "clock": lambda: t}
    c.update(kw)
    return c


async def test_pms5003_passive_frames_match_simulated_truth():
    dev = simdev.uart_device("pms5003", _cfg(86400 * 300 + 8.3 * 3600))
    drv = PMS5003(Uart(dev), timeout_ms=500)
    for _ in range(3):
        out = {}
        await drv.read(out)
        want = (float(int(dev.last[0])), float(int(dev.last[1])))
        if (out["pm25_ugm3"], out["pm10_ugm3"]) != want:
            raise AssertionError((out, dev.last))
    if dev.active:
        raise AssertionError("driver did not put the part in passive mode")
    if drv.bad_frames:
        raise AssertionError("the mode-change reply is not a data frame, not a bad one")


async def test_pms5003_active_stream_is_read():
    dev = simdev.uart_device("pms5003", _cfg(86400 * 300 + 3 * 3600))
    drv = PMS5003(Uart(dev), passive=False, timeout_ms=2500)
    out = {}
    await drv.read(out)  # waits for the next streamed frame (~1 s)
    if not dev.active or out["pm25_ugm3"] != float(int(dev.last[0])):
        raise AssertionError((out, dev.last, dev.active))


async def test_sds011_query_frames_match_simulated_truth():
    dev = simdev.uart_device("sds011", _cfg(86400 * 300 + 18 * 3600))
    drv = SDS011(Uart(dev), timeout_ms=500)
    out = {}
    await drv.read(out)
    if (out["pm25_ugm3"], out["pm10_ugm3"]) != dev.last or dev.active:
        raise AssertionError((out, dev.last))


async def test_pms5003_bad_checksum_rejected_and_resynchronised():
    bad = pms_frame(99, 99)
    bad[13] ^= 0x01  # one bit flipped in PM2.5: checksum fails
    s = Script([b"\x00\x42\x13\x37" + bad + b"\xff\x4d" + pms_frame(12, 20)])
    drv = PMS5003(s, timeout_ms=500)
    out = {}
    await drv.read(out)
    if out != {"pm25_ugm3": 12.0, "pm10_ugm3": 20.0}:
        raise AssertionError(out)
    if drv.bad_frames != 1:
        raise AssertionError("bad frames counted: %d" % drv.bad_frames)


async def test_pms5003_passive_asks_again_after_a_corrupted_answer():
    bad = pms_frame(99, 99)
    bad[31] ^= 0xFF
    drv = PMS5003(Script([bad, pms_frame(7, 9)]), timeout_ms=500)
    out = {}
    await drv.read(out)
    if out["pm25_ugm3"] != 7.0:
        raise AssertionError(out)


async def test_sds011_bad_checksum_rejected_and_resynchronised():
    bad = sds_frame(555, 666)
    bad[8] ^= 0x40
    s = Script([b"\xab\xaa\xaa" + bad + b"\xaa\xc5\x02" + sds_frame(123, 234)])
    drv = SDS011(s, timeout_ms=500)
    out = {}
    await drv.read(out)
    if out != {"pm25_ugm3": 12.3, "pm10_ugm3": 23.4} or drv.bad_frames != 1:
        raise AssertionError((out, drv.bad_frames))


async def test_noisy_line_still_yields_true_values():
    for kind, cls in (("pms5003", PMS5003), ("sds011", SDS011)):
        dev = simdev.uart_device(kind, _cfg(86400 * 301 + 12 * 3600, uart_noise=0.5))
        drv = cls(Uart(dev), timeout_ms=1000)
        for _ in range(20):
            out = {}
            await drv.read(out)
            p25 = dev.last[0] if kind == "sds011" else float(int(dev.last[0]))
            if out["pm25_ugm3"] != p25:
                raise AssertionError((kind, out, dev.last))
        print(kind, "bad frames rejected under noise:", drv.bad_frames)
        if not drv.bad_frames:
            raise AssertionError("noise injection did not reach the driver")


async def test_silent_part_is_oserror_after_timeout():
    for cls, name in ((PMS5003, "pms5003"), (SDS011, "sds011")):
        drv = cls(Script([]), timeout_ms=150)
        try:
            await drv.read({})
        except OSError as e:
            if name not in str(e) or "150 ms" not in str(e):
                raise AssertionError(str(e))
        else:
            raise AssertionError("no timeout")


async def test_endless_garbage_is_bounded_oserror():
    class Garbage(Script):
        def any(self):
            return 32

        def readinto(self, buf, nbytes=None):
            if nbytes is not None:
                buf = memoryview(buf)[:nbytes]
            for i in range(len(buf)):
                buf[i] = 0x42 if i % 7 == 0 else 0x11  # header bytes, never a frame
            return len(buf)

    drv = PMS5003(Garbage([]), passive=False, timeout_ms=5000)
    try:
        await drv.read({})
    except OSError as e:
        if "no valid frame in" not in str(e):
            raise AssertionError(str(e))
    else:
        raise AssertionError("garbage accepted")
