# Territoire wire protocol v1, node side (docs/protocol.md). MicroPython only.
# A message is BODY + b" " + MAC, BODY compact JSON, MAC = base64url(HMAC-SHA256(secret, BODY))
# without padding (43 chars). Bodies are built into one preallocated buffer.
# RAM: about 3.5 KB once imported (measured with gc.mem_alloc, heapsize 100K).
import binascii
import hashlib
import json
from micropython import const

MAC_LEN = const(43)
MAX_MSG = const(1024)
WINDOW = const(1024)  # replay window of the gateway: never send further ahead of the oldest unacked

# wire precision of each metric (protocol/metrics.py holds the same table for CPython)
DECIMALS = {
    "temp_c": 2,
    "rh_pct": 1,
    "p_hpa": 1,
    "pm25_ugm3": 1,
    "pm10_ugm3": 1,
    "laeq_db": 1,
    "lamax_db": 1,
    "people_n": 0,
    "fill_pct": 0,
    "soil_pct": 1,
    "people_sat": 0,  # a flag, not a metric: protocol/metrics.py FLAGS
}


# stable metric numbering for compact storage in the flash outbox (append only, never reorder)
KEYS = (
    "temp_c",
    "rh_pct",
    "p_hpa",
    "pm25_ugm3",
    "pm10_ugm3",
    "laeq_db",
    "lamax_db",
    "people_n",
    "fill_pct",
    "soil_pct",
    "people_sat",
)


def fmt(decimals, value):
    if decimals == 0:
        return "%d" % round(value)
    return "%.*f" % (decimals, value)


def b64url(raw):
    out = bytearray(binascii.b2a_base64(raw, newline=False))
    n = len(out)
    while n and out[n - 1] == 61:  # '='
        n -= 1
    for i in range(n):
        c = out[i]
        if c == 43:  # '+'
            out[i] = 45  # '-'
        elif c == 47:  # '/'
            out[i] = 95  # '_'
    return bytes(out[:n])


class Signer:
    """HMAC-SHA256 with a node secret; pads precomputed once (MicroPython has no hmac module)."""

    def __init__(self, secret):
        if len(secret) > 64:
            secret = hashlib.sha256(secret).digest()
        ipad = bytearray(64)
        opad = bytearray(64)
        for i in range(64):
            b = secret[i] if i < len(secret) else 0
            ipad[i] = b ^ 0x36
            opad[i] = b ^ 0x5C
        self._ipad = bytes(ipad)
        self._opad = bytes(opad)

    def mac(self, body):
        h = hashlib.sha256(self._ipad)
        h.update(body)
        inner = h.digest()
        h = hashlib.sha256(self._opad)
        h.update(inner)
        return h.digest()

    def mac_b64(self, body):
        return b64url(self.mac(body))

    def verify(self, body, mac_b64):
        # constant time: compare every byte whatever the first difference
        good = self.mac_b64(body)
        if len(mac_b64) != len(good):
            return False
        diff = 0
        for i in range(len(good)):
            diff |= good[i] ^ mac_b64[i]
        return diff == 0


def split(msg):
    """(body, mac) of a signed message, or None when it has no signature suffix."""
    n = len(msg)
    if n > MAX_MSG or n < MAC_LEN + 3 or msg[n - MAC_LEN - 1] != 32:
        return None
    return msg[: n - MAC_LEN - 1], msg[n - MAC_LEN :]


class Encoder:
    """Builds bodies into one buffer, then appends the signature in place."""

    def __init__(self, node_id, key_id, signer):
        self._buf = bytearray(MAX_MSG)
        self._mv = memoryview(self._buf)
        self._n = 0
        self.node_id = node_id
        self.key_id = key_id
        self.signer = signer

    def _put(self, s):
        b = s.encode() if isinstance(s, str) else s
        end = self._n + len(b)
        if end > MAX_MSG - MAC_LEN - 1:
            raise ValueError("message too long")
        self._mv[self._n : end] = b
        self._n = end

    def _head(self, kind, t):
        self._n = 0
        self._put('{"y":"')
        self._put(kind)
        self._put('","n":"')
        self._put(self.node_id)
        self._put('","k":%d' % self.key_id)
        if kind == "r":
            return
        self._put(',"t":%d' % t)

    def _finish(self):
        body = self._mv[: self._n]
        mac = self.signer.mac_b64(body)
        self._put(b" ")
        self._put(mac)
        return self._mv[: self._n]

    def reading(self, counter, t, fw, measures, bat=None):
        """Signed reading; measures is a sequence of (key, value). Returns a memoryview valid
        until the next call (copy it with bytes() to keep it)."""
        self._head("r", t)
        self._put(',"c":%d,"t":%d,"fw":"' % (counter, t))
        self._put(fw)
        self._put('"')
        if bat is not None:
            self._put(',"bat":' + fmt(2, bat))
        self._put(',"m":{')
        first = True
        for key, value in measures:
            if not first:
                self._put(",")
            first = False
            self._put('"')
            self._put(key)
            self._put('":')
            self._put(fmt(DECIMALS[key], value))
        self._put("}}")
        return self._finish()

    def state(self, t, status, boot, extra=()):
        """Signed state message; extra is a sequence of (key, value) JSON-encodable pairs."""
        self._head("s", t)
        self._put(',"st":"')
        self._put(status)
        self._put('","boot":%d' % boot)
        for key, value in extra:
            self._put(',"')
            self._put(key)
            self._put('":')
            self._put(json.dumps(value, separators=(",", ":")))
        self._put("}")
        return self._finish()


    def ota_request(self, t, h, o, n):
        """Signed OTA request: bytes [o, o + n) of the object whose SHA-256 hex is h."""
        self._head("q", t)
        self._put(',"h":"')
        self._put(h)
        self._put('","o":%d,"l":%d}' % (o, n))
        return self._finish()

    def ota_progress(self, t, ver, st, why=""):
        """Signed OTA progress report (docs/protocol.md, "Over-the-air updates")."""
        self._head("p", t)
        self._put(',"ver":"')
        self._put(ver)
        self._put('","st":"')
        self._put(st)
        self._put('","why":"')
        self._put(why)
        self._put('"}')
        return self._finish()


def decode_cmd(msg, node_id, signer):
    """The body of an authentic gateway command for this node (offer "o", chunk "d"), or None."""
    n = len(msg)
    if n > MAX_MSG or n < MAC_LEN + 3 or msg[n - MAC_LEN - 1] != 32:
        return None
    mv = memoryview(msg)  # a chunk is ~900 bytes: verify and parse it in place, no copies
    if not signer.verify(mv[: n - MAC_LEN - 1], mv[n - MAC_LEN :]):
        return None
    try:
        obj = json.loads(mv[: n - MAC_LEN - 1])  # type: ignore[type-var]  # any buffer
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("n") != node_id or obj.get("y") not in ("o", "d"):
        return None
    return obj


def decode_ack(msg, node_id, signer):
    """(t, ok counters, refused [(counter, reason)]) of an authentic ack for this node, or None."""
    parts = split(msg)
    if parts is None:
        return None
    body, mac = parts
    if not signer.verify(body, mac):
        return None
    try:
        obj = json.loads(body)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("y") != "a" or obj.get("n") != node_id:
        return None
    t, ok, no = obj.get("t"), obj.get("ok"), obj.get("no")
    if not isinstance(t, int) or not isinstance(ok, list) or not isinstance(no, list):
        return None
    return t, ok, no
