# Wall-clock time of the node. The RTC counts seconds from power-on; the node knows the real
# time only once it has been told (by an authenticated acknowledgement from the gateway, or by
# NTP on a real board). Until then now() is 0 and readings are stamped later (docs/protocol.md,
# "Time"). The offset is kept in RTC memory, which survives deep sleep but not a power cut.
# RAM: under 1 KB once imported.
import struct
import time

_MAGIC = b"TCLK"


class Clock:
    def __init__(self, rtc=None):
        self._rtc = rtc
        self._t0 = time.time()
        self._offset = None
        if rtc is not None:
            try:
                mem = rtc.memory()
                if len(mem) >= 12 and mem[:4] == _MAGIC:
                    self._offset = struct.unpack("<d", mem[4:12])[0]
            except (OSError, ValueError, AttributeError):
                self._offset = None

    def synced(self):
        return self._offset is not None

    def now(self):
        """Unix time in seconds, or 0 when the node does not know it."""
        if self._offset is None:
            return 0
        return int(time.time() + self._offset)

    def uptime(self):
        return int(time.time() - self._t0)

    def sync(self, unix_time):
        """Set from a trusted source; small drifts are corrected too."""
        offset = unix_time - time.time()
        if self._offset is not None and abs(offset - self._offset) < 1:
            return
        self._offset = offset
        if self._rtc is not None:
            try:
                self._rtc.memory(_MAGIC + struct.pack("<d", offset))
            except (OSError, AttributeError):
                pass  # RTC memory is an optimisation for deep sleep, not a requirement

    def stamp(self, t, up):
        """Timestamp of a reading taken at uptime `up` in this boot with stamp `t` (0 = unknown)."""
        if t or self._offset is None:
            return t
        return int(self._t0 + up + self._offset)
