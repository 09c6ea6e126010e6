"""Content-addressed cache of release objects on the gateway's disk (docs/ota.md).

An object is stored under its SHA-256 hex, written to a temporary file in the same directory,
flushed and renamed, so a power cut leaves the whole object or none of it; an object is stored
only if its bytes hash to its name. The cache is bounded by ``max_bytes``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = ["CacheFull", "ObjectCache"]

_NAME = re.compile(r"^[0-9a-f]{64}$")


class CacheFull(Exception):
    """Storing the object would exceed the configured cache size."""


class ObjectCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data directory is owner-only
        for stale in root.glob("*.tmp"):  # a write cut short by a crash
            stale.unlink(missing_ok=True)
        self.sizes = {p.name: p.stat().st_size for p in root.iterdir() if _NAME.match(p.name)}

    def _path(self, h: str) -> Path:
        if not _NAME.match(h):  # never a path a caller could steer
            raise ValueError("not an object name")
        return self.root / h

    def has(self, h: str) -> bool:
        return h in self.sizes

    @property
    def size(self) -> int:
        return sum(self.sizes.values())

    def put(self, h: str, data: bytes) -> None:
        """Store ``data`` as object ``h``; ValueError when it does not hash to ``h``."""
        if hashlib.sha256(data).hexdigest() != h:
            raise ValueError(f"object {h[:12]} does not match its hash")
        if h in self.sizes:
            return
        if self.size + len(data) > self.max_bytes:
            raise CacheFull(f"cache holds {self.size} bytes, limit {self.max_bytes}")
        path = self._path(h)
        tmp = path.with_name(h + ".tmp")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        self.sizes[h] = len(data)

    def read(self, h: str, offset: int, length: int) -> bytes:
        with self._path(h).open("rb") as f:
            f.seek(offset)
            return f.read(length)

    def read_all(self, h: str) -> bytes:
        return self._path(h).read_bytes()

    def prune(self, keep: Iterable[str]) -> int:
        """Delete every object not in ``keep``; returns bytes freed."""
        wanted = set(keep)
        freed = 0
        for h in [h for h in self.sizes if h not in wanted]:
            self._path(h).unlink(missing_ok=True)
            freed += self.sizes.pop(h)
        return freed
