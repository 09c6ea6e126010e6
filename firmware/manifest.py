# Signed release manifests, node side (docs/ota.md; the format is protocol/manifest.py's).
# The node checks the RSA-3072 PKCS#1 v1.5 SHA-256 signature itself with the release public
# keys of its configuration (n, e): one modular exponentiation with e = 65537, then compares
# the whole expected encoding, so there is no padding parser to fool. Then the node's rules:
# hardware, expiry, downgrade, secure version, in protocol/manifest.py's order.
# Pure functions of bytes and values, plus digest_file() which streams a file through SHA-256.
# RAM: about 2 KB once imported; verifying a 3 KB manifest peaks at about 12 KB (docs/ota.md).
import binascii
import gc
import hashlib
import json

from micropython import const

MAX_BYTES = const(8192)
MAX_FILES = const(48)
MAX_FILE = const(65536)
MAX_TOTAL = const(393216)
_SIG = const(384)
# DER DigestInfo of SHA-256 (RFC 8017, 9.2 note 1)
_DI = b"\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"
_NAME = "abcdefghijklmnopqrstuvwxyz0123456789_"
_HEX = "0123456789abcdef"


def hexdigest(h):
    return binascii.hexlify(h.digest()).decode()


def digest_file(path, buf=None):
    """SHA-256 hex of a file, streamed; None when it cannot be read."""
    h = hashlib.sha256()
    mv = memoryview(buf or bytearray(512))
    try:
        with open(path, "rb") as f:
            while True:
                n = f.readinto(mv)
                if not n:
                    break
                h.update(mv[:n])
    except OSError:
        return None
    return hexdigest(h)


def key_id(n):
    return binascii.hexlify(hashlib.sha256(n.to_bytes(_SIG, "big")).digest()[:8]).decode()


def load_keys(cfg_keys):
    """{kid: (n, e)} from node.json's "release_keys": [{"n": hex, "e": int}, ...]."""
    keys = {}
    for k in cfg_keys or ():
        if len(k["n"]) == _SIG * 2 and k["n"][0] in "89abcdef":  # 3072 bits exactly
            n = int(k["n"], 16)
            keys[key_id(n)] = (n, k["e"])
    return keys


def _b64url(text):
    t = bytearray(text)
    for i in range(len(t)):
        if t[i] == 45:  # '-'
            t[i] = 43
        elif t[i] == 95:  # '_'
            t[i] = 47
    t.extend(b"=" * (-len(t) % 4))
    return binascii.a2b_base64(t)


def rsa_ok(body, sig, n, e):
    """PKCS#1 v1.5 SHA-256: s^e mod n must equal the one valid encoding of SHA-256(body)."""
    s = int.from_bytes(sig, "big")
    if s >= n:
        return False
    gc.collect()  # the exponentiation wants a few 770-byte blocks in one piece each
    em = pow(s, e, n).to_bytes(_SIG, "big")
    want = b"\x00\x01" + b"\xff" * (_SIG - 3 - len(_DI) - 32) + b"\x00" + _DI
    return em == want + hashlib.sha256(body).digest()


def parse_version(v):
    try:
        p = v.split(".")
        if len(p) == 3:
            t = (int(p[0]), int(p[1]), int(p[2]))
            if min(t) >= 0 and max(t) <= 9999:
                return t
    except (AttributeError, ValueError):
        pass  # not a version: None below
    return None


def _path_ok(p):
    if not isinstance(p, str) or p in ("boot.py", "main.py"):
        return False
    stem, dot, ext = p.rpartition(".")
    if not dot or ext not in ("mpy", "py", "json"):
        return False
    parts = stem.split("/")
    if len(parts) > 2:
        return False
    for part in parts:
        if not 1 <= len(part) <= 24:
            return False
        for c in part:
            if c not in _NAME:
                return False
    return True


def _hex64(h):
    if not isinstance(h, str) or len(h) != 64:
        return False
    for c in h:
        if c not in _HEX:
            return False
    return True


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _shape(m):
    if not isinstance(m, dict) or m.get("v") != 1:
        return False
    if parse_version(m.get("ver")) is None or not isinstance(m.get("hw"), str):
        return False
    if not (_int(m.get("sv")) and _int(m.get("exp")) and _int(m.get("made"))):
        return False
    files = m.get("files")
    if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES:
        return False
    total = 0
    seen = set()
    for f in files:
        if not (isinstance(f, list) and len(f) == 3 and _path_ok(f[0]) and _int(f[1])
                and 0 < f[1] <= MAX_FILE and _hex64(f[2])) or f[0] in seen:
            return False
        seen.add(f[0])
        total += f[1]
    return total <= MAX_TOTAL


def verify(data, keys, hw, running, min_sv, now):
    """(manifest dict, None) or (None, refusal reason) for a signed manifest's bytes."""
    if len(data) > MAX_BYTES:
        return None, "too_large"
    # BODY "\n" KID " " SIG "\n", read in place: no copy of the body is made
    nl = data.find(b"\n")
    if nl < 0 or data.find(b"\n", nl + 1) != len(data) - 1:
        return None, "malformed"
    body = memoryview(data)[:nl]
    kid, _, sig = bytes(data[nl + 1 : -1]).partition(b" ")
    try:
        kid = kid.decode()
        sig = _b64url(sig)
    except (UnicodeError, ValueError):
        return None, "malformed"
    if len(sig) != _SIG or len(kid) != 16:
        return None, "malformed"
    key = keys.get(kid)
    if key is None:
        return None, "unknown_key"
    if not rsa_ok(body, sig, key[0], key[1]):
        return None, "bad_signature"
    del sig
    gc.collect()
    try:
        m = json.loads(body)  # type: ignore[type-var]  # MicroPython parses any buffer
    except ValueError:
        return None, "malformed"
    if not _shape(m):
        return None, "malformed"
    return m, check(m, hw, running, min_sv, now)


def check(m, hw, running, min_sv, now):
    """The node's rules beyond the signature (protocol/manifest.py check_installable)."""
    if m["hw"] != hw:
        return "wrong_hw"
    if not now:
        return "no_time"
    if m["exp"] <= now:
        return "expired"
    if parse_version(m["ver"]) <= (parse_version(running) or (0, 0, 0)):
        return "downgrade"
    if m["sv"] < min_sv:
        return "secver"
    return None
