# Emulated ESP32 `bluetooth` module: the observer role (scanning) only.
# Advertisements come from simdev.ble_source(kind, cfg) for the board's "ble" entry.
# Events are delivered SYNCHRONOUSLY from inside gap_scan(): every
# _IRQ_SCAN_RESULT (5) of the scan, then _IRQ_SCAN_DONE (6), before gap_scan
# returns; the scan takes no wall-clock time. As on the board, the addr and
# adv_data memoryviews point into buffers reused for the next event: a
# handler must copy what it keeps.
# RAM: about 1.8 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py).
import _board as _b

FLAG_READ = 0x0002
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
_addr = bytearray(6)
_adv = bytearray(31)  # legacy advertising payload at most 31 bytes
_st = [False, None]  # active, irq handler: BLE() is a singleton on the board


class BLE:
    def active(self, v=None):
        if v is not None:
            _st[0] = bool(v)
        return _st[0]

    def irq(self, handler):
        _st[1] = handler

    def config(self, *args, **kw):
        if args and args[0] == "mac":
            return (0, _b.mac(2))
        if args:
            raise ValueError("unknown config param")

    def gap_scan(self, duration_ms, interval_us=1280000, window_us=11250, active=False):
        if not _st[0]:
            raise OSError(1)  # EPERM: BLE not active
        h = _st[1]
        if duration_ms is None:  # stop scanning
            if h:
                h(6, ())
            return
        kind = _b.cfg().get("ble")
        res = ()
        if kind:
            src = _b.device("ble", lambda: _b.sim().ble_source(kind, _b.cfg()))
            res = src.scan(duration_ms or 1000)  # 0 = until stopped: one second's worth
        a = memoryview(_addr)
        d = memoryview(_adv)
        for t, addr, rssi, data in res:
            if h is None:
                break
            _addr[:] = addr
            n = min(len(data), 31)
            _adv[:n] = data[:n]
            h(5, (t, a, 0, rssi, d[:n]))
        if h and duration_ms:
            h(6, ())
