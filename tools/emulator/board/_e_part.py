# Emulated esp32.Partition (loaded by esp32 on first use): the OTA API over
# the state file "ota.json" in the node directory. The host runner plays the
# bootloader (tools/emulator/otadata.py): a partition made boot partition by
# set_boot() gets one trial boot ("pending"); if it has not called
# mark_app_valid_cancel_rollback() by the next boot it is "aborted" and the
# previous partition boots again. Image contents are not emulated (the app
# is the VM; the application's files live in the LittleFS flash).
# RAM: about 2.9 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import json

import _board as _b

# label, type, subtype, address, size (OTA layout; vfs is the 2 MiB LittleFS)
_TABLE = (
    ("nvs", 1, 2, 0x9000, 0x6000),
    ("otadata", 1, 0, 0xF000, 0x2000),
    ("phy_init", 1, 1, 0x11000, 0x1000),
    ("ota_0", 0, 0x10, 0x20000, 0x180000),
    ("ota_1", 0, 0x11, 0x1A0000, 0x180000),
    ("vfs", 1, 0x81, 0x320000, 0x200000),
)


def _ota():
    return json.loads(_b.read("ota.json", b'{"boot":"ota_0","run":"ota_0","st":{}}'))


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, id, block_size=4096):
        if id == 0 or id == 1:
            id = _ota()["boot" if id == 0 else "run"]
        for r in _TABLE:
            if r[0] == id:
                self._r = r
                return
        raise ValueError("partition not found")

    @staticmethod
    def find(type=0, subtype=0xFF, label=None):
        return [
            Partition(r[0])
            for r in _TABLE
            if r[1] == type and subtype in (0xFF, r[2]) and label in (None, r[0])
        ]

    def info(self):
        r = self._r
        return (r[1], r[2], r[3], r[4], r[0], False)

    def get_next_update(self):
        if self._r[1] != 0:
            raise OSError(-261, "ESP_ERR_NOT_FOUND")
        return Partition("ota_1" if self._r[0] == "ota_0" else "ota_0")

    def set_boot(self):
        # a freshly written image: the bootloader gives it one trial boot
        s = _ota()
        s["boot"] = self._r[0]
        s["st"][self._r[0]] = "new"
        _b.write("ota.json", json.dumps(s).encode(), True)

    @classmethod
    def mark_app_valid_cancel_rollback(cls):
        s = _ota()
        if s["st"].get(s["run"]) == "pending":
            s["st"][s["run"]] = "valid"
            _b.write("ota.json", json.dumps(s).encode(), True)

    def __eq__(self, other):
        return isinstance(other, Partition) and other._r is self._r

    def __repr__(self):
        r = self._r
        return "<Partition type=%d, subtype=%d, address=%d, size=%d, label=%s, encrypted=0>" % (
            r[1], r[2], r[3], r[4], r[0]
        )
