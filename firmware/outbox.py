# Offline buffer in flash: a bounded ring of segment files holding fixed-size records, drained
# oldest first. A record leaves only when the gateway has acknowledged its counter (end to end,
# after durable storage): acknowledged counters are remembered in RAM and a segment file is
# deleted once every record in it is acknowledged. How far every reading is acknowledged (the
# ack floor: each counter up to it) is saved after each ack message (flush_acks), so a reboot
# does not send the acknowledged readings of a segment still on flash again; acknowledgements
# past a gap (out of order) live in RAM only, and the gateway recognises a resent reading by
# its counter.
# When the ring is full the oldest segment is evicted; evicted unacknowledged readings are
# counted in a persistent counter and reported in the node's state message.
# Record (64 bytes): magic, n, boot, counter, t, uptime, battery, n x (metric index, value), crc32.
# RAM: about 2.5 KB once imported, plus the acknowledged set (4 bytes per counter, bounded).
import binascii
import os
import struct

import proto
import store
from micropython import const

_REC = const(64)
_HEAD = "<BBHIIIf"
_HEAD_LEN = const(20)
_VAL = "<Bf"
_VAL_LEN = const(5)
_MAXV = const(8)
_MAGIC = const(0xA7)
_NAN = float("nan")


class Outbox:
    def __init__(self, dirname="ob", max_segments=256, per_segment=64):
        self._dir = dirname
        self._max = max_segments
        self._per = per_segment
        self._rec = bytearray(_REC)
        self._mv = memoryview(self._rec)
        self._acked = set()
        self._head = None
        store.makedirs(dirname)
        segs = []
        for name in os.listdir(dirname):
            if name.isdigit():
                segs.append(int(name))
        segs.sort()
        self._segs = segs
        self.evicted = store.load_int(dirname + "/evicted") or 0
        self._floor = self._top = store.load_int(dirname + "/ackf") or 0
        self._count = 0
        for s in segs:
            self._count += self._size(s) // _REC
        if self._floor:
            self._count -= self._below_floor()
            self._collect()

    def _path(self, seg):
        return "%s/%08d" % (self._dir, seg)

    def _size(self, seg):
        try:
            return os.stat(self._path(seg))[6]
        except OSError:
            return 0

    def __len__(self):
        """Readings held and not yet acknowledged in this boot (an upper bound after a reboot)."""
        return self._count

    def append(self, counter, boot, up, t, bat, values):
        """Store one reading durably. values: sequence of (metric key, number), at most 8."""
        rec = self._rec
        n = len(values)
        if n > _MAXV:
            raise ValueError("too many values")
        if counter <= self._floor:  # a floor from another life of the counter: drop it
            self._floor = 0  # (store keeps the highest copy: both go; a cut now resends all)
            for x in ("a", "b"):
                try:
                    os.remove(self._dir + "/ackf." + x)
                except OSError:
                    pass  # that copy was never written
        for i in range(_REC):
            rec[i] = 0
        struct.pack_into(
            _HEAD, rec, 0, _MAGIC, n, boot & 0xFFFF, counter, t, up, _NAN if bat is None else bat
        )
        off = _HEAD_LEN
        for key, value in values:
            struct.pack_into(_VAL, rec, off, proto.KEYS.index(key), value)
            off += _VAL_LEN
        struct.pack_into("<I", rec, _REC - 4, binascii.crc32(self._mv[: _REC - 4]))
        seg = self._segs[-1] if self._segs else None
        size = self._size(seg) if seg is not None else 0
        # a full segment, or one whose size is not whole records, is closed: start another
        if seg is None or size >= self._per * _REC or size % _REC:
            if len(self._segs) >= self._max:
                self._evict()
            seg = (self._segs[-1] + 1) if self._segs else 1
            self._segs.append(seg)
        with open(self._path(seg), "ab") as f:
            f.write(rec)
        self._count += 1

    def _evict(self):
        seg = self._segs.pop(0)
        lost = 0
        for rec in self._records(seg):
            if not self._done(rec[1]):
                lost += 1
            else:
                self._acked.discard(rec[1])
        os.remove(self._path(seg))
        self._count -= lost
        if lost:
            self.evicted += lost
            store.save_int(self._dir + "/evicted", self.evicted)

    def _decode(self):
        rec = self._rec
        if rec[0] != _MAGIC:
            return None
        if struct.unpack_from("<I", rec, _REC - 4)[0] != binascii.crc32(self._mv[: _REC - 4]):
            return None
        _, n, boot, counter, t, up, bat = struct.unpack_from(_HEAD, rec, 0)
        if n > _MAXV:
            return None
        values = []
        off = _HEAD_LEN
        for _ in range(n):
            idx, v = struct.unpack_from(_VAL, rec, off)
            if idx >= len(proto.KEYS):
                return None
            values.append((proto.KEYS[idx], v))
            off += _VAL_LEN
        if bat != bat:  # NaN: no battery
            bat = None
        return (boot, counter, t, up, bat, values)

    def _records(self, seg):
        try:
            f = open(self._path(seg), "rb")
        except OSError:
            return
        with f:
            while f.readinto(self._rec) == _REC:
                r = self._decode()
                if r is not None:  # a corrupt record is skipped, never sent
                    yield r

    def pending(self, limit, skip=None):
        """Up to `limit` unacknowledged readings, oldest first, as tuples
        (boot, counter, t, uptime, battery, values); `skip` is a container of counters to leave out
        (for instance those already in flight)."""
        out = []
        for seg in self._segs:
            for r in self._records(seg):
                c = r[1]
                if c > self._top:
                    self._top = c
                if self._done(c) or (skip is not None and c in skip):
                    continue
                out.append(r)
                if len(out) >= limit:
                    return out
        return out

    def ack(self, counter):
        """The gateway stored (or definitively refused) this reading: let it go. Call it only for
        counters obtained from pending() in this boot."""
        if self._done(counter):
            return
        self._acked.add(counter)
        self._count -= 1
        self._collect()

    def _below_floor(self):
        # records acknowledged before the reboot: a prefix of the outbox (counters only grow)
        n = 0
        for seg in self._segs:
            for r in self._records(seg):
                if r[1] > self._floor:
                    return n
                n += 1
        return n

    def _done(self, c):
        return c <= self._floor or c in self._acked

    def flush_acks(self):
        """Save the ack floor if it moved (once per ack message: one small flash write)."""
        p = self.pending(1)
        f = p[0][1] - 1 if p else self._top
        if f > self._floor:
            self._floor = f
            store.save_int(self._dir + "/ackf", f)

    def drop_acknowledged(self):
        """Delete every segment whose records are all acknowledged, the tail included (before a
        deep sleep: the acknowledgements, in RAM, do not survive it)."""
        self._collect(True)

    def _head_counters(self, seg):
        size = self._size(seg)
        cache = self._head
        if cache is not None and cache[0] == seg and cache[1] == size:
            return cache[2]
        counters = [r[1] for r in self._records(seg)]
        self._head = (seg, size, counters)
        return counters

    def _collect(self, tail=False):
        # delete head segments whose every record is acknowledged; the tail segment stays until
        # it is full (unless ``tail``), so a steady node appends 64 times per file created
        while self._segs:
            seg = self._segs[0]
            if not tail and len(self._segs) == 1 and self._size(seg) < self._per * _REC:
                return
            counters = self._head_counters(seg)
            for c in counters:
                if not self._done(c):
                    return
            os.remove(self._path(seg))
            self._segs.pop(0)
            self._head = None
            for c in counters:
                self._acked.discard(c)
