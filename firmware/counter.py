# Per-node monotonic message counter that survives reboots and power cuts without wearing the
# flash: values are reserved in blocks; only the end of the reserved block is written (one write
# per BLOCK readings). After a power cut the node restarts from the end of the last reserved
# block, so a value is never used twice (some values are skipped, which the gateway allows).
# RAM: under 1 KB once imported.
import store
from micropython import const

BLOCK = const(256)


class Counter:
    def __init__(self, path="ctr", block=BLOCK):
        self._path = path
        self._block = block
        ceiling = store.load_int(path)
        if ceiling is None:
            ceiling = 1  # a new node: counters start at 1
        self._next = ceiling
        self._ceiling = ceiling

    def next(self):
        if self._next >= self._ceiling:
            # reserve first, use after: the flash must be ahead of every value handed out
            store.save_int(self._path, self._next + self._block)
            self._ceiling = self._next + self._block
        v = self._next
        self._next += 1
        return v

    def peek(self):
        return self._next


def bump_boot(path="boots"):
    """Count this boot; return the new boot number (1 on the first boot)."""
    n = (store.load_int(path) or 0) + 1
    store.save_int(path, n)
    return n
