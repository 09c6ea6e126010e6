# The node's flash: a LittleFS v2 filesystem on a block device backed by the
# host file flash.img (2 MiB, 4096-byte blocks: the size of the vfs partition
# of a 4 MiB ESP32). Writes go straight to the file (no cache in the VM), so
# killing the VM at any instant is a power cut at block-write granularity.
# RAM: about 1.6 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import os

from micropython import const

_BS = const(4096)


class Flash:
    def __init__(self, f, blocks):
        self.f = f
        self.n = blocks

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * _BS + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.f.seek(n * _BS + off)
        self.f.write(buf)

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.n
        if op == 5:  # block size
            return _BS
        return 0  # init, deinit, sync, erase (LittleFS needs no erased state)


def blank(bd):
    # a never-formatted image: both superblock copies still erased (0xFF) or zero
    b = bytearray(16)
    for n in (0, 1):
        bd.readblocks(n, b)
        if b != b"\xff" * 16 and b != bytes(16):
            return False
    return True


def mount(img, point="/flash", fmt=True):
    f = open(img, "r+b")
    bd = Flash(f, f.seek(0, 2) // _BS)
    try:
        v = os.VfsLfs2(bd)
    except OSError as e:
        if not blank(bd):
            if not fmt:
                raise
            # what the ESP32's _boot.py does with an unreadable filesystem
            print("flash: mount failed (%s), formatting" % e)
        os.VfsLfs2.mkfs(bd)
        v = os.VfsLfs2(bd)
    os.mount(v, point)
