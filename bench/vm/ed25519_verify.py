# Pure-MicroPython Ed25519 verification (RFC 8032, section 5.1.7), for the record in
# docs/ota.md: what the node would pay instead of RSA-3072. MicroPython has no SHA-512, so it
# is here too (FIPS 180-4), its constants derived with integer roots. Not used by the firmware.
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_M64 = (1 << 64) - 1


def _iroot(n, k):
    x = 1 << ((len(bin(n)) - 2 + k - 1) // k)  # MicroPython ints have no bit_length()
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x
        x = y


def _primes(n):
    out, c = [], 2
    while len(out) < n:
        if all(c % q for q in out):
            out.append(c)
        c += 1
    return out


_PR = _primes(80)
_K = [_iroot(q << 192, 3) & _M64 for q in _PR]
_H0 = [_iroot(q << 128, 2) & _M64 for q in _PR[:8]]


def _rotr(x, n):
    return ((x >> n) | (x << (64 - n))) & _M64


def sha512(msg):
    h = list(_H0)
    ml = len(msg)
    msg = bytes(msg) + b"\x80" + bytes((111 - ml) % 128) + (ml * 8).to_bytes(16, "big")
    for off in range(0, len(msg), 128):
        w = [int.from_bytes(msg[off + 8 * i : off + 8 * i + 8], "big") for i in range(16)]
        for i in range(16, 80):
            a, b = w[i - 15], w[i - 2]
            s0 = _rotr(a, 1) ^ _rotr(a, 8) ^ (a >> 7)
            s1 = _rotr(b, 19) ^ _rotr(b, 61) ^ (b >> 6)
            w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M64)
        a, b, c, d, e, f, g, hh = h
        for i in range(80):
            t1 = (hh + (_rotr(e, 14) ^ _rotr(e, 18) ^ _rotr(e, 41)) + ((e & f) ^ (~e & g))
                  + _K[i] + w[i]) & _M64
            t2 = ((_rotr(a, 28) ^ _rotr(a, 34) ^ _rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c))) & _M64
            hh, g, f, e, d, c, b, a = g, f, e, (d + t1) & _M64, c, b, a, (t1 + t2) & _M64
        h = [(x + y) & _M64 for x, y in zip(h, (a, b, c, d, e, f, g, hh))]
    return b"".join(x.to_bytes(8, "big") for x in h)


_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _x(y, sign):
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    if x2 % _P == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if (x & 1) != sign:
        x = _P - x
    return x


def _point(s):
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_GY = 4 * pow(5, _P - 2, _P) % _P
_G = (_x(_GY, 0), _GY, 1, _x(_GY, 0) * _GY % _P)


def verify(public, msg, sig):
    a = _point(public)
    r = _point(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    k = int.from_bytes(sha512(sig[:32] + public + msg), "little") % _L
    sb = _mul(s, _G)
    rka = _add(r, _mul(k, a))
    return (sb[0] * rka[2] - rka[0] * sb[2]) % _P == 0 and (sb[1] * rka[2] - rka[1] * sb[2]) % _P == 0
