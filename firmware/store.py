# Small durable values in flash: atomic replace (write a temporary file, then rename, which
# LittleFS does atomically) and two alternating copies with a CRC, so a power cut at any
# instant leaves a valid value and a corrupted copy is detected, never trusted.
# RAM: about 1 KB once imported.
import binascii
import os


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _encode_int(value):
    text = b"%d" % value
    return text + b" %08x\n" % binascii.crc32(text)


def _decode_int(raw):
    if raw is None:
        return None
    try:
        text, crc = raw.split()
        if int(crc, 16) != binascii.crc32(text):
            return None
        return int(text)
    except ValueError:
        return None


def load_int(path):
    """Highest valid value of the two copies, or None when neither is valid."""
    best = None
    for suffix in (".a", ".b"):
        v = _decode_int(read_file(path + suffix))
        if v is not None and (best is None or v > best):
            best = v
    return best


def save_int(path, value):
    # overwrite the older copy, so the newer one survives a power cut during this write
    a = _decode_int(read_file(path + ".a"))
    b = _decode_int(read_file(path + ".b"))
    suffix = ".a" if (a is None or (b is not None and a <= b)) else ".b"
    write_atomic(path + suffix, _encode_int(value))


def makedirs(path):
    try:
        os.mkdir(path)
    except OSError:
        pass  # already there (MicroPython's mkdir has no exist_ok)
