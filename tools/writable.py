"""Can a command write where it was told to? Asked before anything is spent (a claim code, an
enrollment token, a build), so that a bad ``--out`` fails first and leaves nothing behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["unwritable"]


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
