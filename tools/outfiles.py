"""The files a command is told to write: can they be written (asked before anything is spent: a
claim code, an enrollment token, a build, so that a bad ``--out`` fails first and leaves nothing
behind), and writing them atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["unwritable", "write_atomic"]


def unwritable(directory: Path) -> str | None:
    """Why a new file cannot be made in ``directory`` (made if missing: the nearest existing
    ancestor is what is probed, and no directory is created), or None when it can.

    Probes with a real file rather than ``os.access``, which says yes to root whatever the
    filesystem says (a read-only mount, a file where a directory should be)."""
    where = directory.absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        return f"{where} is not a directory"
    try:
        fd, probe = tempfile.mkstemp(dir=where, prefix=".territoire-probe-")
    except OSError as exc:
        return f"cannot write in {where} ({exc.strerror})"
    os.close(fd)
    os.unlink(probe)
    return None


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """``data`` into ``path`` whole or not at all: a temporary file beside it (created 0600, so a
    secret is never readable by others on the way), synced, given ``mode``, then renamed over.
    An OSError (disk full, a directory gone) leaves no temporary file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
