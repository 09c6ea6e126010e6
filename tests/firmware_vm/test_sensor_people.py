# People counter: distinct counting, anonymisation within the window (privacy rule 2),
# nothing on flash, bounded memory, both scan sources, and the simulated pedestrians.
import os
import time

import simdev
from sensors import people as people_mod
from sensors.people import People


def _addr(i):
    return bytes((0x40 | (i >> 8) & 0x3F, i & 0xFF, 1, 2, 3, 4))


class Scans:
    # a scan callable serving prepared advertisement lists, one per scan
    def __init__(self, *scans):
        self.scans = list(scans)

    def __call__(self, duration_ms):
        return self.scans.pop(0) if self.scans else []


def _adv(addrs, rssi=-60):
    return [(1, a, rssi, b"\x02\x01\x06") for a in addrs]


def _hashes(p):
    t = p._table
    out = set()
    for o in range(0, len(t), 8):
        h = bytes(t[o : o + 8])
        if h != bytes(8):
            out.add(h)
    return out


async def test_n_distinct_addresses_count_n():
    p = People(Scans(_adv([_addr(i) for i in range(37)])))
    out = {}
    await p.read(out)
    if out != {"people_n": 37}:
        raise AssertionError(out)


async def test_same_address_twice_counts_once():
    a = [_addr(1), _addr(2), _addr(1), _addr(1), _addr(2)]
    p = People(Scans(_adv(a)))
    out = {}
    await p.read(out)
    if out["people_n"] != 2:
        raise AssertionError(out)


async def test_weak_signals_below_rssi_min_are_ignored():
    adv = _adv([_addr(1), _addr(2)], -60) + _adv([_addr(3), _addr(4), _addr(5)], -90)
    p = People(Scans(adv), rssi_min=-85)
    out = {}
    await p.read(out)
    if out["people_n"] != 2:
        raise AssertionError(out)


async def test_same_device_in_two_windows_is_not_linkable():
    a = [_addr(i) for i in range(20)]
    p = People(Scans(), scan_ms=0)
    for x in a:
        p.feed(x, -50)
    first = _hashes(p)
    await p.read({})
    for x in a:
        p.feed(x, -50)
    second = _hashes(p)
    if len(first) != 20 or len(second) != 20:
        raise AssertionError((len(first), len(second)))
    if first & second:
        raise AssertionError("a hash repeats across windows: devices are linkable")


async def test_salt_is_overwritten_and_dropped_at_window_end():
    p = People(Scans(_adv([_addr(1)])))
    salt = p._salt
    if len(salt) != 16 or salt == bytearray(16):
        raise AssertionError("salt is not 16 random bytes")
    await p.read({})
    if salt != bytearray(16):
        raise AssertionError("old salt still readable in RAM: %r" % salt)
    if p._salt is salt:
        raise AssertionError("the window's salt object was kept")
    if _hashes(p):
        raise AssertionError("hashes of the closed window are still in the table")


async def test_window_closes_even_when_the_scan_fails():
    def broken(ms):
        raise OSError("radio off")

    p = People(broken)
    p.feed(_addr(1), -50)
    salt = p._salt
    try:
        await p.read({})
    except OSError:
        pass
    else:
        raise AssertionError("scan failure not reported")
    if salt != bytearray(16) or _hashes(p):
        raise AssertionError("a failed read left the window's salt or hashes behind")


async def test_nothing_is_written_to_flash_and_no_file_is_opened():
    before = sorted(os.listdir("."))

    def trap(*a, **k):
        raise AssertionError("people.py opened a file: %r" % (a,))

    people_mod.open = trap  # module globals are searched before builtins
    try:
        p = People(Scans(_adv([_addr(i) for i in range(50)]), _adv([_addr(1)])))
        await p.read({})
        await p.read({})
    finally:
        del people_mod.open
    if sorted(os.listdir(".")) != before:
        raise AssertionError("files appeared: %r" % os.listdir("."))
    with open(people_mod.__file__) as f:
        src = f.read()
    for word in ("open(", "write(", "print(", "import io", "import vfs"):
        if word in src:
            raise AssertionError("people.py contains %r" % word)


async def test_tiny_cap_works():
    p = People(Scans(_adv([_addr(1), _addr(2)])), cap=1)
    out = {}
    await p.read(out)
    if out != {"people_n": 1, "people_sat": 1} or p.overflow != 1:
        raise AssertionError((out, p.overflow))


async def test_table_is_bounded_and_overflow_counted():
    p = People(Scans(_adv([_addr(i) for i in range(20)])), cap=8)
    if len(p._table) != 8 * 16:
        raise AssertionError("table size %d" % len(p._table))
    out = {}
    await p.read(out)
    if out != {"people_n": 8, "people_sat": 1} or p.overflow != 12:
        raise AssertionError((out, p.overflow))
    out = {}
    await p.read(out)  # the next window starts empty and unsaturated
    if out != {"people_n": 0}:
        raise AssertionError(out)


async def test_a_full_table_is_saturated_only_when_one_more_device_comes():
    p = People(Scans(_adv([_addr(i) for i in range(8)] * 2)), cap=8)
    out = {}
    await p.read(out)
    if out != {"people_n": 8}:  # exactly cap devices: a true count, not a lower bound
        raise AssertionError(out)


async def test_salt_never_outlives_max_window_even_without_read():
    p = People(Scans(), scan_ms=0, max_window_s=0)
    salts = []
    for i in range(3):
        salts.append(p._salt)
        time.sleep_ms(3)
        p.feed(_addr(i), -50)
    for s in salts:
        if s != bytearray(16):
            raise AssertionError("the salt of a window older than max_window_s survived")
    out = {}
    await p.read(out)
    # three windows of one device each: the reading is their largest count, not their sum
    # (a sum would count a device seen in two of them twice)
    if out["people_n"] != 1:
        raise AssertionError(out)


async def test_ble_object_source_with_scan_events():
    class BLE:
        # the emulated board delivers events synchronously from gap_scan; a real ESP32 later
        def __init__(self, adv):
            self.adv = adv
            self.on = False

        def active(self, on=None):
            self.on = on

        def irq(self, h):
            self.h = h

        def gap_scan(self, ms, interval_us=0, window_us=0):
            if ms is None:
                return
            for a in self.adv:
                self.h(5, (1, memoryview(a), 0, -55, memoryview(b"")))
            self.h(6, None)

    ble = BLE([_addr(i) for i in range(5)] * 3)
    p = People(ble, scan_ms=100)
    out = {}
    await p.read(out)
    if not ble.on or out["people_n"] != 5:
        raise AssertionError((ble.on, out))


async def test_a_scan_across_the_window_end_counts_each_device_in_one_window():
    # the window's end (max_window_s=0) passes during the first scan: the scan stays in the
    # window it started in, so device 1, heard before and after, counts once in all
    def straddling(ms):
        yield (1, _addr(1), -50, b"")
        time.sleep_ms(5)
        yield (1, _addr(1), -50, b"")
        yield (1, _addr(2), -50, b"")

    scans = [straddling, lambda ms: ()]
    p = People(lambda ms: scans.pop(0)(ms), scan_ms=1000, max_window_s=0)
    counts = []
    for _ in range(2):
        out = {}
        await p.read(out)
        counts.append(out["people_n"])
    if counts != [2, 0]:
        raise AssertionError("devices 1 and 2 across two windows: %r" % counts)


async def test_a_result_the_radio_delivers_after_the_scan_counts_in_no_window():
    class LateBLE:
        # like the ESP32, where results are scheduled callbacks: one still queued when the scan
        # is over runs after read() has closed the window
        def active(self, on=None):
            pass

        def irq(self, h):
            self.h = h

        def gap_scan(self, ms, interval_us=0, window_us=0):
            if ms is not None:
                if self.first:
                    self.h(5, (1, memoryview(_addr(1)), 0, -55, memoryview(b"")))
                self.first = False
                self.h(6, None)

    ble = LateBLE()
    ble.first = True
    p = People(ble, scan_ms=100)
    counts = []
    for _ in range(2):
        out = {}
        await p.read(out)
        counts.append(out["people_n"])
        ble.h(5, (1, memoryview(_addr(1)), 0, -55, memoryview(b"")))  # the late result
    if counts != [1, 0]:
        raise AssertionError(counts)
    p._irq(5, (1, memoryview(_addr(2)), 0, -55, memoryview(b"")))
    if p._n:
        raise AssertionError("a result outside any scan was counted")


async def test_simulated_pedestrians_counted_exactly_and_busier_at_rush_hour():
    now = [0.0]
    sim = simdev.ble_source(
        "pedestrians", {"seed": 3, "zone": "centre-ville", "clock": lambda: now[0], "record": 1}
    )
    p = People(sim.scan, rssi_min=-85, scan_ms=10000)
    counts = {}
    for hour in (3.0, 8.3):
        now[0] = 86400 * 50 + hour * 3600
        out = {}
        await p.read(out)
        want = len(set(a for _, a, rssi, _ in sim.last if rssi >= -85))
        if out["people_n"] != want:
            raise AssertionError((hour, out, want))
        counts[hour] = want
    print("pedestrians seen: night %d, morning rush %d" % (counts[3.0], counts[8.3]))
    if not counts[8.3] > counts[3.0] + 5:
        raise AssertionError(counts)
