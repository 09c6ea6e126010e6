# Emulated ESP32 board: what machine, network, esp32 and bluetooth share.
# Every piece of per-node state lives in the node directory on the host
# (env TERRITOIRE_NODE_DIR, default: the current directory), so it survives
# the VM process like the chip's NVS, RTC RAM and flash survive a reset.
# The board description is the JSON file named by env TERRITOIRE_BOARD
# (default: <node dir>/board.json).
# RAM: about 2.2 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import os

_d = os.getenv("TERRITOIRE_NODE_DIR") or os.getcwd()
if _d[0] != "/":
    # _boot.py changes directory to /flash: keep host paths absolute
    _d = os.getcwd() + "/" + _d
DIR = _d
_cfg = None
_devs = {}
trig = False  # ultrasonic trigger pulse seen since the last echo (machine)


def cfg():
    global _cfg
    if _cfg is None:
        import json

        try:
            with open(os.getenv("TERRITOIRE_BOARD") or DIR + "/board.json") as f:
                _cfg = json.load(f)
        except OSError:
            _cfg = {}
    return _cfg


def path(name):
    return DIR + "/" + name


def read(name, default=None):
    try:
        with open(DIR + "/" + name, "rb") as f:
            return f.read()
    except OSError:
        return default


def write(name, data, atomic=False):
    p = DIR + "/" + name
    t = p + ".tmp" if atomic else p
    with open(t, "wb") as f:
        f.write(data)
    if atomic:
        os.rename(t, p)  # rename(2): the old or the new file, never half of one


def device(key, make):
    # One simulated chip per bus position for the life of the VM: recreating a
    # bus object does not power-cycle the chip behind it.
    d = _devs.get(key)
    if d is None:
        d = _devs[key] = make()
    return d


def sim():
    import simdev

    return simdev


def mac(n=0):
    # Base MAC derived from the node id (stable across runs); like the ESP32,
    # STA = base, AP = base + 1, Bluetooth = base + 2.
    import hashlib

    m = bytearray(hashlib.sha256(str(cfg().get("node_id", "node")).encode()).digest()[:6])
    m[0] &= 0xFC  # unicast, globally administered
    m[5] = (m[5] + n) & 0xFF
    return bytes(m)
