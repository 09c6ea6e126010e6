# People counter from BLE advertisements, anonymised on the node (privacy rule 2).
# - A counting window runs from one read() to the next (and never longer than max_window_s).
# - Its salt is 16 random bytes in RAM only, in a bytearray that is overwritten with zeros and
#   dropped when the window closes; the next window gets a new one.
# - An advertiser's address is hashed at once: sha256(salt + addr), first 8 bytes. Only those
#   hashes are kept, in a fixed table (no per-device allocation), wiped at the window's end.
#   Without the salt no hash can be recomputed, so nothing links a device across windows.
# - Only the count of distinct hashes leaves (people_n). Addresses are never stored, logged,
#   written to flash or returned; this module opens no file.
# - At most `cap` distinct devices per window: a full table is not grown, the window is marked
#   saturated (people_n = cap, a lower bound, and people_sat = 1 in the reading); sightings not
#   counted are tallied in `overflow`.
# - One device counts at most once per reading (the sensitivity the gateway's noise assumes,
#   docs/privacy.md): a scan belongs wholly to the window in which it started (a window too old
#   is closed before a scan, never during one), advertisements arriving outside a scan are
#   dropped, and windows closed by max_window_s combine into the reading by their largest count.
# Source: a bluetooth.BLE object (gap_scan + irq: events 5 scan result, 6 scan done) or a
# callable scan(duration_ms) -> iterable of (addr_type, addr, rssi, adv_data).
# Limits: a phone that rotates its random address inside a window counts twice.
# RAM: 3.1 KB after import; a People object 2.5 KB at cap=128 (table: 16 bytes per cap); a
# scan allocates only short-lived garbage (one sha256 per advertisement), whatever the crowd
# (unix VM, .py; test_sensor_ram.py, test_sensor_people.py).
import asyncio
import hashlib
import os
import time

from micropython import const

_IRQ_SCAN_RESULT = const(5)
_IRQ_SCAN_DONE = const(6)
_HASH = const(8)  # bytes kept of each sha256
_ZERO = bytes(64)


class People:
    METRICS = ("people_n",)  # and the flag people_sat = 1, only in a saturated window

    def __init__(self, source, rssi_min=-85, cap=128, scan_ms=5000, max_window_s=900):
        if cap < 1 or cap > 4096:
            raise ValueError("people: cap %d outside 1..4096" % cap)
        slots = 8  # 64 bytes at least: the table is wiped in 64-byte strides
        while slots < 2 * cap:  # load factor <= 1/2, power of two for masking
            slots <<= 1
        self._mask = slots - 1
        self._table = bytearray(slots * _HASH)
        self._cap = cap
        self._rssi = rssi_min
        self._scan_ms = scan_ms
        self._max_ms = max_window_s * 1000
        self._n = 0  # distinct hashes in the window
        self._sat = False  # the table filled in this window: _n is a lower bound
        self._carry = 0  # largest count of the windows closed by max_window_s since read()
        self._carry_sat = False
        self.overflow = 0  # sightings not counted because the table was full
        self._salt = None
        self._done = True  # no scan under way: BLE results are dropped
        self._ble = None
        self._scan = None
        if hasattr(source, "gap_scan"):
            self._ble = source
            source.active(True)
            source.irq(self._irq)
        elif callable(source):
            self._scan = source
        else:
            raise ValueError("people: source must be a BLE object or a scan callable")
        self._new_window()

    def _new_window(self):
        self._salt = bytearray(os.urandom(16))
        self._t0 = time.ticks_ms()

    def _end_window(self):
        # destroy the window: overwrite salt and hashes, then drop the salt
        s = self._salt
        for i in range(len(s)):
            s[i] = 0
        self._salt = None
        t = memoryview(self._table)
        for i in range(0, len(t), 64):
            t[i : i + 64] = _ZERO
        n = self._n
        self._n = 0
        return n

    def _roll(self):
        # read() is late: the salt must not outlive its window. The closed window's count is
        # kept as a candidate for the reading (by max, not sum: one device, one count)
        if time.ticks_diff(time.ticks_ms(), self._t0) > self._max_ms:
            sat = self._sat
            self._sat = False
            n = self._end_window()
            if n > self._carry:
                self._carry = n
            self._carry_sat |= sat
            self._new_window()

    def feed(self, addr, rssi):
        # one advertisement: hash its address into the current window, keep nothing else
        if rssi < self._rssi:
            return
        if self._done:
            self._roll()  # fed outside a scan (tests, a caller of its own): checked here
        h = hashlib.sha256(self._salt)
        h.update(addr)
        d = h.digest()
        t = self._table
        m = self._mask
        i = (d[0] << 8 | d[1]) & m
        while True:
            o = i * _HASH
            j = 0
            while j < _HASH and t[o + j] == 0:
                j += 1
            if j == _HASH:
                break  # empty slot: a new device
            j = 0
            while j < _HASH and t[o + j] == d[j]:
                j += 1
            if j == _HASH:
                return  # seen in this window
            i = (i + 1) & m
        if self._n >= self._cap:
            self._sat = True  # full: the count stays at cap, marked, never grown
            self.overflow += 1
            return
        for j in range(_HASH):
            t[o + j] = d[j]
        if not d[0] | d[1] | d[2] | d[3] | d[4] | d[5] | d[6] | d[7]:
            t[o] = 1  # an all-zero hash would read as an empty slot (p = 2^-64)
        self._n += 1

    def _irq(self, event, data):
        if event == _IRQ_SCAN_RESULT:
            if not self._done:  # a result queued past the scan's end belongs to no window
                self.feed(data[1], data[3])  # (addr_type, addr, adv_type, rssi, adv_data)
        elif event == _IRQ_SCAN_DONE:
            self._done = True

    async def scan(self, duration_ms):
        # one scan of duration_ms, wholly into the window current when it starts
        self._roll()
        self._done = False
        if self._scan is not None:
            try:
                for r in self._scan(duration_ms):
                    self.feed(r[1], r[2])
            finally:
                self._done = True
            await asyncio.sleep_ms(0)
            return
        try:
            self._ble.gap_scan(duration_ms, 30000, 30000)
        except OSError as e:
            self._done = True
            raise OSError("people: BLE scan failed: %s" % e)
        t = time.ticks_ms()
        while not self._done:
            if time.ticks_diff(time.ticks_ms(), t) > duration_ms + 2000:
                self._done = True  # first: whatever the radio still delivers is dropped
                self._ble.gap_scan(None)
                raise OSError("people: BLE scan did not finish")
            await asyncio.sleep_ms(50)

    async def read(self, out):
        try:
            if self._scan_ms:
                await self.scan(self._scan_ms)
        finally:  # the window ends even when the scan failed: its salt and hashes go
            sat = self._sat or self._carry_sat  # a full window's count, cap, is the largest
            n = self._end_window()
            if self._carry > n:
                n = self._carry
            self._carry = 0
            self._sat = self._carry_sat = False
            self._new_window()
        out["people_n"] = n
        if sat:
            out["people_sat"] = 1
