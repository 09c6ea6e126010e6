"""Owner-only files and directories of the data directory, and a secret kept in one file of it,
made once (keys, the broker passwords).

Every file the gateway makes there is 0600 and every directory 0700 whatever the umask: they
hold keys, sealed node secrets and the broker's users (docs/security.md, "Hostile node and
gateway hardening"). The process also sets its umask to 0077 at start (gateway/main.py), which
covers the files others make for it (SQLite's -wal and -shm, Mosquitto's log).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["load_or_create", "private_dir", "private_file", "tighten_tree"]


def private_dir(path: Path) -> Path:
    """``path``, made if missing, owner-only (0700) whatever the umask."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o777 != 0o700:
        path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """``path``, made empty if missing, owner-only (0600) whatever the umask: made before
    another library opens it (SQLite then gives its -wal and -shm files the same mode)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o777 != 0o600:
        path.chmod(0o600)
    return path


def tighten_tree(root: Path) -> int:
    """Every directory under ``root`` (itself included) 0700 and every file 0600; returns how
    many were changed. At start: a data directory written by an older gateway, or by hand
    under another umask, is made owner-only (symbolic links are left alone)."""
    changed = 0
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for path, mode in [(here, 0o700), *((here / d, 0o700) for d in dirnames),
                           *((here / f, 0o600) for f in filenames)]:
            try:
                st = path.lstat()
                if not path.is_symlink() and st.st_mode & 0o777 != mode:
                    path.chmod(mode)
                    changed += 1
            except FileNotFoundError:
                continue  # removed meanwhile (a temporary file)
    return changed


def load_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes; made by ``make`` and written owner-only and atomically when absent (a
    crash mid-write leaves no half secret)."""
    if path.exists():
        return path.read_bytes()
    value = make()
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(value)
    tmp.chmod(0o600)  # an older .tmp left by a crash keeps its mode through O_CREAT
    tmp.replace(path)
    return value
