# MQTT 3.1.1 client for MicroPython asyncio (ESP32 and the unix VM), written from the OASIS
# MQTT 3.1.1 specification; section numbers in the comments refer to it.
# RAM (unix VM, measured by tests/test_mqtt_session_vm.py): 9.4 KB once imported, from
# source or .mpy alike; compiling the source needs about 65 KB free for a moment, so boards
# run the .mpy. An MQTTClient holds 2 x max_packet of buffers plus 1.8 KB (5.9 KB at the
# default 2048), 1.4 KB more while connected; a QoS 1 publish leaves about 2 KB of garbage.
# The resilient layer (MQTTSession) is in mqttsession.py so each module compiles on its own.
#
# MQTTClient raises OSError on any link failure or timeout and never reconnects. Any OSError
# or timeout inside an operation closes the link, so there is no half-dead state. Timeouts
# of the hot path (publish, acks, stalled writes) are enforced by the watchdog task rather
# than by asyncio.wait_for, which would allocate about 1 KB per message.
import asyncio
import sys
from errno import EACCES, EAGAIN, ECONNREFUSED, ECONNRESET, EINPROGRESS, ENOBUFS, ENOTCONN
from errno import ETIMEDOUT
from time import ticks_diff, ticks_ms

from micropython import const

# Packet types with their fixed flags (2.2.1, 2.2.2).
_CONNECT = const(0x10)
_CONNACK = const(0x20)
_PUBLISH = const(0x30)
_PUBACK = const(0x40)
_SUBSCRIBE = const(0x82)
_SUBACK = const(0x90)
_PINGREQ = const(0xC0)
_PINGRESP = const(0xD0)
_DISCONNECT = const(0xE0)

_EPROTO = const(71)  # absent from MicroPython's errno; 71 on Linux and on ESP-IDF alike
_INFLIGHT = const(4)  # QoS 1 PUBLISH / SUBSCRIBE awaiting their ack; more callers wait a slot
_FREE = const(0)  # packet identifiers are never 0 (2.3.1)
_PENDING = const(0xFF)  # no ack yet (SUBACK codes are 0, 1, 2, 0x80)
_BUSY_MS = const(20)

# Platform quirks, in this one table: the errnos a non-blocking socket may raise while the
# link is fine ("try again"). Every other OSError means the link is dead. ESP-IDF numbers
# errnos its own way (119 EINPROGRESS, 118 EHOSTUNREACH, 116 ETIMEDOUT, 113 ECONNABORTED,
# 104 ECONNRESET); lwIP raises 118 and ETIMEDOUT transiently on busy sockets (seen by
# peterhinch/mqtt_as), while 113 and 104 are a dead link. On Linux 113 is EHOSTUNREACH.
if sys.platform == "esp32":
    _BUSY = (EAGAIN, EINPROGRESS, ETIMEDOUT, 118)
else:
    _BUSY = (EAGAIN, EINPROGRESS)


def _b(s):
    return s.encode() if isinstance(s, str) else s


class MQTTClient:
    def __init__(self, client_id, host, port=1883, *, user=None, password=None, keepalive=30,
                 will=None, max_packet=2048, timeout_ms=5000, bufs=None):
        if password is not None and user is None:
            raise ValueError("password needs user")  # 3.1.2.9
        self.client_id = _b(client_id)
        self.host = host
        self.port = port
        self._user = _b(user)
        self._pw = _b(password)
        self._ka = keepalive
        self._tmo = timeout_ms
        self._will = None
        n = 12 + len(self.client_id)  # CONNECT remaining length (3.1)
        if will:
            if not 0 <= will[3] <= 2:
                raise ValueError("will qos")
            self._will = (_b(will[0]), _b(will[1]), will[2], will[3])
            n += 4 + len(self._will[0]) + len(self._will[1])
        for x in (self._user, self._pw):
            if x is not None:
                n += 2 + len(x)
        if n + 5 > max_packet:
            raise ValueError("CONNECT too large")
        self._clen = n
        # received packet bodies (remaining length <= max_packet) and outgoing packets. A node
        # passes the pair it allocated at boot: hours later its heap may hold 40 KB free and
        # no 2 KB in one piece. A closed client never touches them again (_live() first).
        if bufs is None:
            bufs = (bytearray(max_packet), bytearray(max_packet))
        self._rbuf, self._obuf = bufs
        if len(self._rbuf) != max_packet or len(self._obuf) != max_packet:
            raise ValueError("bufs")
        self._rmv = memoryview(self._rbuf)
        self._omv = memoryview(self._obuf)
        self._lock = asyncio.Lock()  # one writer at a time, and it owns _obuf
        # the in-flight table: packet id, ack code, start time and wake-up event per slot
        self._pids = [_FREE] * _INFLIGHT
        self._res = bytearray(_INFLIGHT)
        self._t0 = [0] * _INFLIGHT
        self._evs = [asyncio.Event() for _ in range(_INFLIGHT)]
        self._freed = asyncio.Event()
        self._pong = asyncio.Event()
        self._down = asyncio.Event()
        self._pid = 0
        self._cb = None
        self._s = None  # the stream while a socket is open
        self._up = False  # CONNACK accepted and link alive
        self._err = None
        self._rtask = self._ktask = self._ptask = self._writer = None
        self._rx = self._tx = 0
        self._wt = None  # when the write in progress began

    def set_callback(self, cb):
        self._cb = cb

    def is_connected(self):
        return self._up

    async def wait_lost(self):
        """Return once the link is down: the exception that ended it, None after disconnect()."""
        await self._down.wait()
        return self._err

    async def connect(self, clean=True):
        await self._drop(None)
        self._down.clear()
        try:
            await self._timed(self._connect(clean))
        except Exception:
            self._down.set()  # also when no socket was ever opened
            raise
        self._up = True
        self._err = None
        self._rx = self._tx = ticks_ms()
        self._rtask = asyncio.create_task(self._reader())
        self._ktask = asyncio.create_task(self._watchdog())

    async def publish(self, topic, msg, qos=1, retain=False):
        if qos != 0 and qos != 1:
            raise ValueError("qos")
        topic = _b(topic)
        msg = _b(msg)
        if len(topic) + 9 > len(self._obuf):
            raise ValueError("topic too long")
        i = -1
        try:
            if qos:
                i = self._take()
                if i < 0:
                    i = await self._slot()
            await self._lock.acquire()
            try:
                self._live()
                lm = len(msg)
                o = self._hdr(_PUBLISH | qos << 1 | (1 if retain else 0),
                              2 + len(topic) + 2 * qos + lm)
                o = self._str(o, topic)
                if qos:
                    o = self._u16(o, self._pids[i])
                small = o + lm <= len(self._obuf)
                if small:  # one write: a split packet would wait on Nagle's algorithm
                    self._obuf[o:o + lm] = msg
                    o += lm
                await self._write(self._omv[:o])
                if not small:
                    await self._write(msg)
            finally:
                self._lock.release()
            if qos:
                await self._acked(i)
        except OSError as e:
            await self._drop(e)
            raise e
        finally:
            if i >= 0:
                self._release(i)

    async def subscribe(self, topic, qos=1):
        if qos != 0 and qos != 1:
            raise ValueError("qos")  # we never take QoS 2 PUBLISH (no PUBREC/PUBREL here)
        topic = _b(topic)
        if len(topic) + 12 > len(self._obuf):
            raise ValueError("topic too long")
        rc = await self._timed(self._subscribe(topic, qos))
        if rc & 0x80:
            raise OSError(EACCES, rc)  # 3.9.3: the broker refused the subscription

    async def ping(self):
        self._pong.clear()
        await self._timed(self._ping())

    async def disconnect(self):
        if self._rtask is not None:
            # stop reading first: the broker's close after DISCONNECT is not a link failure
            self._rtask.cancel()
            self._rtask = None
        if self._up:
            try:
                await self._timed(self._send2(_DISCONNECT))
            except OSError:
                pass  # the link died first: closing it is all that is left to do
        await self._drop(None)

    async def close(self):
        """Close the socket without DISCONNECT, as a crash would: the broker sends the will."""
        await self._drop(None)

    # ------------------------------------------------------------------ internals

    def _live(self):
        if not self._up:
            raise OSError(ENOTCONN)

    def _gone(self):
        # what a caller waiting on the link gets once it died: the cause's errno
        e = self._err
        return OSError(e.errno if isinstance(e, OSError) else ENOTCONN)

    async def _timed(self, coro):
        # Bound a rare operation by timeout_ms; any failure inside it closes the link.
        try:
            return await asyncio.wait_for_ms(coro, self._tmo)
        except asyncio.TimeoutError:
            e = OSError(ETIMEDOUT)
        except OSError as x:
            e = x
        await self._drop(e)
        raise e

    async def _drop(self, err):
        s = self._s
        if s is None:
            return
        self._s = None
        self._up = False
        self._err = err
        cur = asyncio.current_task()
        for t in (self._rtask, self._ktask, self._ptask, self._writer):
            if t is not None and t is not cur:
                t.cancel()  # a stalled writer gets its CancelledError turned into OSError
        self._rtask = self._ktask = self._ptask = None
        for e in self._evs:
            e.set()  # wake every waiter: each finds its ack missing and raises
        self._freed.set()
        self._pong.set()
        self._down.set()
        try:
            await s.wait_closed()
        except OSError:
            pass  # the socket is gone either way

    def _hdr(self, t, n):
        # Fixed header (2.2): type and flags, then the remaining length, 7 bits a byte.
        b = self._obuf
        b[0] = t
        o = 1
        while True:
            c = n & 0x7F
            n >>= 7
            b[o] = c | 0x80 if n else c
            o += 1
            if not n:
                return o

    def _str(self, o, s):
        # UTF-8 string / binary data: 2-byte big-endian length, then the bytes (1.5.3).
        n = len(s)
        b = self._obuf
        b[o] = n >> 8
        b[o + 1] = n & 0xFF
        b[o + 2:o + 2 + n] = s
        return o + 2 + n

    def _u16(self, o, v):
        self._obuf[o] = v >> 8
        self._obuf[o + 1] = v & 0xFF
        return o + 2

    async def _write(self, buf):
        s = self._s
        self._writer = asyncio.current_task()
        self._wt = ticks_ms()
        try:
            while True:
                try:
                    s.write(buf)
                    break
                except OSError as e:
                    if e.errno not in _BUSY:
                        raise
                await asyncio.sleep_ms(_BUSY_MS)
            await s.drain()
        except asyncio.CancelledError:
            if self._s is s:
                raise  # cancelled by its own caller
            raise self._gone() from None  # the watchdog dropped the link during the write
        finally:
            self._writer = self._wt = None
        self._tx = ticks_ms()

    async def _fill(self, n):
        # Read exactly n bytes into the start of the receive buffer.
        got = 0
        mv = self._rmv
        while got < n:
            try:
                k = await self._s.readinto(mv[got:n])
            except OSError as e:
                if e.errno not in _BUSY:
                    raise
                await asyncio.sleep_ms(_BUSY_MS)
                continue
            if k == 0:
                raise OSError(ECONNRESET)  # the broker closed the connection
            if k:
                got += k

    async def _read_packet(self):
        # Every packet is at least 2 bytes: the type, then the remaining length (2.2.3).
        await self._fill(2)
        b = self._rbuf[0]
        c = self._rbuf[1]
        n = c & 0x7F
        shift = 7
        while c & 0x80:
            if shift > 21:
                raise OSError(_EPROTO)  # at most 4 length bytes
            await self._fill(1)
            c = self._rbuf[0]
            n |= (c & 0x7F) << shift
            shift += 7
        if n > len(self._rbuf):
            raise OSError(ENOBUFS)  # bounded input: the body is never read
        if n:
            await self._fill(n)
        self._rx = ticks_ms()
        return b, n

    async def _connect(self, clean):
        self._s, _ = await asyncio.open_connection(self.host, self.port)
        flags = 0x02 if clean else 0  # 3.1.2.3 to 3.1.2.9
        w = self._will
        if w:
            flags |= 0x04 | (w[3] << 3) | (0x20 if w[2] else 0)
        if self._user is not None:
            flags |= 0x80
        if self._pw is not None:
            flags |= 0x40
        o = self._hdr(_CONNECT, self._clen)
        o = self._str(o, b"MQTT")
        b = self._obuf
        b[o] = 4  # protocol level 3.1.1
        b[o + 1] = flags
        o = self._u16(o + 2, self._ka)
        o = self._str(o, self.client_id)
        if w:
            o = self._str(o, w[0])
            o = self._str(o, w[1])
        if self._user is not None:
            o = self._str(o, self._user)
        if self._pw is not None:
            o = self._str(o, self._pw)
        await self._write(self._omv[:o])
        t, n = await self._read_packet()
        if t != _CONNACK or n != 2:
            raise OSError(_EPROTO)
        rc = self._rbuf[1]
        if rc:
            # 3.2.2.3: 1 protocol version, 2 client id, 3 server unavailable,
            # 4 bad user name or password, 5 not authorized
            raise OSError(ECONNREFUSED, rc)

    def _take(self):
        # Claim a free in-flight slot with a fresh packet id, or return -1.
        for i in range(_INFLIGHT):
            if self._pids[i] == _FREE:
                p = self._pid
                while True:
                    p = p % 65535 + 1
                    if p not in self._pids:
                        break
                self._pid = self._pids[i] = p
                self._res[i] = _PENDING
                self._t0[i] = ticks_ms()
                self._evs[i].clear()
                return i
        return -1

    async def _slot(self):
        while True:
            self._live()
            i = self._take()
            if i >= 0:
                return i
            self._freed.clear()
            await self._freed.wait()

    def _release(self, i):
        self._pids[i] = _FREE
        self._freed.set()

    async def _acked(self, i):
        await self._evs[i].wait()
        if self._res[i] == _PENDING:
            raise self._gone()  # woken by _drop: the link died before the ack
        return self._res[i]

    async def _subscribe(self, topic, qos):
        i = await self._slot()
        try:
            await self._lock.acquire()
            try:
                self._live()
                o = self._hdr(_SUBSCRIBE, 5 + len(topic))
                o = self._u16(o, self._pids[i])
                o = self._str(o, topic)
                self._obuf[o] = qos
                await self._write(self._omv[:o + 1])
            finally:
                self._lock.release()
            return await self._acked(i)
        finally:
            self._release(i)

    async def _send2(self, t, pid=-1):
        # A packet of 2 bytes (PINGREQ, DISCONNECT) or 4 bytes (PUBACK with its id).
        await self._lock.acquire()
        try:
            self._live()
            o = self._hdr(t, 0 if pid < 0 else 2)
            if pid >= 0:
                o = self._u16(o, pid)
            await self._write(self._omv[:o])
        finally:
            self._lock.release()

    async def _ping(self):
        await self._send2(_PINGREQ)
        await self._pong.wait()
        self._live()

    async def _pingreq(self):
        try:
            await self._send2(_PINGREQ)
        except OSError as e:
            await self._drop(e)

    async def _reader(self):
        try:
            while True:
                b, n = await self._read_packet()
                t = b & 0xF0
                if t == _PUBLISH:
                    await self._on_publish(b, n)
                elif t == _PUBACK or t == _SUBACK:
                    self._on_ack(t, n)
                elif t == _PINGRESP:
                    self._pong.set()
                else:
                    raise OSError(_EPROTO)
        except Exception as e:  # a callback that raised ends the link too (no PUBACK)
            if not isinstance(e, OSError):
                sys.print_exception(e)
            await self._drop(e)

    def _on_ack(self, t, n):
        rb = self._rbuf
        if n != (2 if t == _PUBACK else 3):
            raise OSError(_EPROTO)  # 3.4.1, 3.9.1 (one topic per SUBSCRIBE)
        pid = rb[0] << 8 | rb[1]
        for i in range(_INFLIGHT):
            if self._pids[i] == pid:
                self._res[i] = rb[2] if n == 3 else 0
                self._evs[i].set()
                return
        # an unknown id is ignored: nothing waits for it

    async def _on_publish(self, b, n):
        qos = (b >> 1) & 3
        rb = self._rbuf
        p = 2 + (rb[0] << 8 | rb[1])
        if qos > 1 or p + 2 * qos > n:
            raise OSError(_EPROTO)  # we subscribe at QoS <= 1, so never get QoS 2 (3.8.4)
        topic = bytes(self._rmv[2:p])
        pid = rb[p] << 8 | rb[p + 1] if qos else 0
        msg = bytes(self._rmv[p + 2 * qos:n])
        if self._cb is not None:
            self._cb(topic, msg)
        if qos:  # acknowledged only once the callback returned
            await self._send2(_PUBACK, pid)

    async def _watchdog(self):
        # Closes the link with ETIMEDOUT when no packet arrived for 1.5 x keepalive, when a
        # write is stuck or an ack is missing for timeout_ms. Pings when quiet for half the
        # keepalive (3.1.2.10), from a task of its own so that the watchdog never blocks.
        ka = self._ka * 1000
        tmo = self._tmo
        tick = (min(ka, tmo) if ka else tmo) >> 2
        while True:
            await asyncio.sleep_ms(tick)
            now = ticks_ms()
            late = ka and ticks_diff(now, self._rx) > ka + (ka >> 1)
            if self._wt is not None and ticks_diff(now, self._wt) > tmo:
                late = True
            for i in range(_INFLIGHT):
                if (self._pids[i] != _FREE and self._res[i] == _PENDING
                        and ticks_diff(now, self._t0[i]) > tmo):
                    late = True
            if late:
                await self._drop(OSError(ETIMEDOUT))
                return
            quiet = ticks_diff(now, self._rx) >= ka >> 1 or ticks_diff(now, self._tx) >= ka >> 1
            if ka and quiet and (self._ptask is None or self._ptask.done()):
                self._ptask = asyncio.create_task(self._pingreq())


def __getattr__(name):
    # `mqtt.MQTTSession` loads mqttsession.py on first use, as asyncio loads its parts
    if name == "MQTTSession" or name == "backoff_ms":
        import mqttsession

        return getattr(mqttsession, name)
    raise AttributeError(name)
