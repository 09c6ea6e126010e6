# Emulated `esp32` module: NVS and the OTA partition API.
# NVS lives in the node directory (one file per namespace, replaced atomically
# on commit()), apart from the LittleFS flash as on the chip. Uncommitted
# changes are lost at reset. Partition: see _e_part.py.
# RAM: about 2.5 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import struct

from micropython import const

import _board as _b

_NOT_FOUND = const(-4354)  # ESP_ERR_NVS_NOT_FOUND
_INVALID_NAME = const(-4358)  # ESP_ERR_NVS_INVALID_NAME
_KEY_TOO_LONG = const(-4361)  # ESP_ERR_NVS_KEY_TOO_LONG
_INVALID_LENGTH = const(-4364)  # ESP_ERR_NVS_INVALID_LENGTH
_ns = {}  # namespace -> {key: int | bytes}, shared by every handle


def _load(ns):
    d = {}
    b = _b.read("nvs." + ns)
    i = 0
    # records: type (1: i32, 2: blob), key length, value length, key, value
    while b and i + 4 <= len(b):
        t, kl, vl = struct.unpack_from("<BBH", b, i)
        i += 4
        k = b[i : i + kl].decode()
        v = b[i + kl : i + kl + vl]
        d[k] = struct.unpack("<i", v)[0] if t == 1 else v
        i += kl + vl
    return d


class NVS:
    def __init__(self, namespace):
        if not namespace or len(namespace) > 15:
            raise OSError(_INVALID_NAME, "ESP_ERR_NVS_INVALID_NAME")
        self._n = namespace
        if namespace not in _ns:
            _ns[namespace] = _load(namespace)
        self._d = _ns[namespace]

    @staticmethod
    def _key(key):
        if len(key) > 15:
            raise OSError(_KEY_TOO_LONG, "ESP_ERR_NVS_KEY_TOO_LONG")

    def _get(self, key, kind):
        v = self._d.get(key)
        if v is None or not isinstance(v, kind):
            raise OSError(_NOT_FOUND, "ESP_ERR_NVS_NOT_FOUND")
        return v

    def set_i32(self, key, value):
        self._key(key)
        if value < -0x80000000 or value > 0x7FFFFFFF:
            raise OverflowError("overflow converting long int to machine word")
        self._d[key] = int(value)

    def get_i32(self, key):
        return self._get(key, int)

    def set_blob(self, key, value):
        self._key(key)
        self._d[key] = bytes(value)

    def get_blob(self, key, buffer):
        v = self._get(key, bytes)
        if len(buffer) < len(v):
            raise OSError(_INVALID_LENGTH, "ESP_ERR_NVS_INVALID_LENGTH")
        buffer[: len(v)] = v
        return len(v)

    def erase_key(self, key):
        self._get(key, object)
        del self._d[key]

    def commit(self):
        out = bytearray()
        for k, v in self._d.items():
            kb = k.encode()
            if isinstance(v, int):
                out += struct.pack("<BBH", 1, len(kb), 4) + kb + struct.pack("<i", v)
            else:
                out += struct.pack("<BBH", 2, len(kb), len(v)) + kb + v
        _b.write("nvs." + self._n, out, True)


def __getattr__(name):
    # Partition loads on first use (its bytecode would otherwise be heap on every node)
    if name != "Partition":
        raise AttributeError(name)
    from _e_part import Partition

    globals()[name] = Partition
    return Partition
