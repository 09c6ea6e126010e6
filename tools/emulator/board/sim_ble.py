# Simulated BLE advertisers in range of the node: pedestrians walking by with phones.
# Arrivals follow sim_env.people_per_min (rush-hour peaks); each phone stays in range 15-90 s
# (simulated), is reported once or twice per scan, under a random resolvable address that it
# rotates now and then (~15 min, like real phones); two fixed beacons stay in range all day.
# cfg["crowd"] = N adds N devices in range at every scan (a stadium's exit, a market: the
# tests' and benchmarks' crowd), their addresses made from their index, nothing kept per device.
# Phones are kept in flat arrays (no object per phone): the simulator lives in the node's heap.
import array

import sim_env

_MAX = 64  # phones in range at once
_ADV = b"\x02\x01\x1a\x03\x03\x6f\xfd"  # flags + a 16-bit service UUID


class Pedestrians:
    def __init__(self, cfg):
        self._cfg = cfg
        self._rng = sim_env.Rng(sim_env.seed(cfg) ^ 0xB1E)
        self._addr = bytearray(6 * _MAX)
        self._in = array.array("i", [0] * _MAX)  # arrival, whole seconds after self._t0
        self._out = array.array("i", [0] * _MAX)  # departure
        self._rssi = bytearray(_MAX)  # -dBm
        self._n = 0
        self._t = None  # simulated time of the last scan
        self._t0 = 0.0
        self._beacons = bytearray(12)
        self._rand(self._beacons, 0)
        self._rand(self._beacons, 6)
        self.last = None  # the advertisements of the last scan, with cfg['record'] (tests)

    def _rand(self, buf, o):
        r = self._rng
        for i in range(6):
            buf[o + i] = r.u32() & 0xFF
        buf[o + 5] = (buf[o + 5] & 0x3F) | 0x40  # random resolvable private address

    def scan(self, duration_ms):
        c = self._cfg
        r = self._rng
        t = sim_env.now(c)
        start = t - duration_ms / 1000 * c.get("speed", 1.0)
        if self._t is None or self._t < t - 90:
            # first scan, or a long pause: whoever arrived in the last 90 s may still be here
            self._t = t - 90
            self._n = 0
            self._t0 = self._t
        dt = t - self._t
        self._t = t
        # who left before this scan began: drop (compact the arrays)
        t0 = self._t0
        k = 0
        for i in range(self._n):
            if self._out[i] + t0 >= start:
                if k != i:
                    self._addr[6 * k : 6 * k + 6] = self._addr[6 * i : 6 * i + 6]
                    self._in[k], self._out[k], self._rssi[k] = (
                        self._in[i],
                        self._out[i],
                        self._rssi[i],
                    )
                k += 1
        self._n = k
        # who arrived since the last scan
        lam = sim_env.people_per_min(c, t) * dt / 60
        for _ in range(r.poisson(lam)):
            if self._n >= _MAX:
                break
            i = self._n
            a = r.uniform(t - dt, t) - t0
            self._rand(self._addr, 6 * i)
            self._in[i] = int(a)
            self._out[i] = int(a + r.uniform(15, 90))
            self._rssi[i] = int(r.uniform(55, 96))
            self._n += 1
        # one advertisement at a time, as the radio delivers them: a list of a rush hour's
        # (a hundred tuples, ~10 KB) would be emulation weighing on the node's own heap
        rec = [] if c.get("record") else None  # the tests' truth (self.last)
        self.last = rec
        mv = memoryview(self._addr)
        for i in range(self._n):
            if self._in[i] + t0 > t:
                continue
            if r.uniform() < dt / 900:
                self._rand(self._addr, 6 * i)  # the phone rotated its address
            a = bytes(mv[6 * i : 6 * i + 6])
            for _ in range(1 + (r.u32() & 3 == 0)):
                adv = (1, a, -self._rssi[i] + int(r.uniform(-4, 4)), _ADV)
                if rec is not None:
                    rec.append(adv)
                yield adv
        b = self._beacons
        for adv in ((1, bytes(b[:6]), -70 + int(r.uniform(-3, 3)), _ADV),
                    (1, bytes(b[6:]), -93 + int(r.uniform(-3, 3)), _ADV)):
            if rec is not None:
                rec.append(adv)
            yield adv
        # the crowd: one reused address buffer (the radio's is reused too), not in self.last
        a = bytearray(6)
        a[0] = 0xC0 | b[0] & 0x3F  # static random address
        a[1] = b[1]
        a[5] = 0x5A
        for i in range(c.get("crowd", 0)):
            a[2] = i >> 16 & 0xFF
            a[3] = i >> 8 & 0xFF
            a[4] = i & 0xFF
            yield (1, a, -60 - (i & 15), _ADV)
