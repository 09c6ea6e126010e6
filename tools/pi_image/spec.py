"""What an emulated Raspberry Pi image is made of, and how its cache is keyed: pure values.

The image is Raspberry Pi OS's base (Debian bookworm, arm64) with the gateway's pinned
dependencies as aarch64 wheels. Its cache key is a hash of everything that went into it, so a
change of pins, suite or builder code builds a new image and never reuses a stale one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["BOOKWORM", "ImageError", "Target", "cache_key", "to_prune"]


class ImageError(Exception):
    """The emulated Pi image cannot be built or used; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    suite: str  # Debian suite (Raspberry Pi OS's base)
    arch: str  # Debian architecture
    machine: str  # what platform.machine() says on it
    python: tuple[int, int]  # the suite's python3
    glibc: tuple[int, int]  # the suite's libc6: the newest manylinux tag its wheels may carry
    include: tuple[str, ...]  # Debian packages beyond the minimal base

    @property
    def python_tag(self) -> str:
        return f"cp{self.python[0]}{self.python[1]}"

    @property
    def python_exe(self) -> str:
        return f"/usr/bin/python{self.python[0]}.{self.python[1]}"


BOOKWORM = Target(
    suite="bookworm",
    arch="arm64",
    machine="aarch64",
    python=(3, 11),
    glibc=(2, 36),
    include=("python3", "python3-venv"),
)


def cache_key(target: Target, requirements: bytes, sources: Mapping[str, bytes]) -> str:
    """Hash of the target, the pinned requirements and the builder's own source files."""
    h = hashlib.sha256()
    h.update(repr(target).encode() + b"\0" + requirements + b"\0")
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + hashlib.sha256(sources[name]).digest())
    return h.hexdigest()[:16]


def to_prune(images: Iterable[tuple[str, float]], current: str, keep: int) -> list[str]:
    """Names of cached images to delete: all but the current one and the ``keep`` most
    recently built others (a neighbouring checkout may still use one of those)."""
    others = sorted((m, n) for n, m in images if n != current)
    return [n for _m, n in others[: max(0, len(others) - keep)]]
