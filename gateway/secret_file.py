"""A secret kept in one file of the data directory, made once (keys, the broker password)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = ["load_or_create"]


def load_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes; made by ``make`` and written owner-only and atomically when absent (a
    crash mid-write leaves no half secret)."""
    if path.exists():
        return path.read_bytes()
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(value)
    tmp.chmod(0o600)
    tmp.replace(path)
    return value
