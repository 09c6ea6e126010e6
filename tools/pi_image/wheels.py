"""The gateway's dependencies for the Pi: pinned, fetched as aarch64 wheels, audited.

The audit is a function of file names: every pin must have a wheel that CPython 3.11 on
aarch64 (manylinux, the suite's glibc) can load, or a pure-Python one. A package with neither
fails the build, named, before anything is installed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from tools.pi_image.spec import ImageError, Target

__all__ = [
    "Pin", "audit", "download", "importable_modules", "install", "platform_tags", "read_pins",
    "supported_tags",
]


@dataclass(frozen=True)
class Pin:
    name: str  # as written in the requirements file
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with comments dropped and ``\\`` continuations joined (a hashed lock writes each
    pin over several lines), numbered by the line they start on."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        more = line.endswith("\\")
        line = line.removesuffix("\\").strip()
        pending = (pending[0], f"{pending[1]} {line}") if pending else (number, line)
        if not more:
            if pending[1].strip():
                out.append((pending[0], pending[1].strip()))
            pending = None
    if pending and pending[1].strip():
        out.append(pending)
    return out


def read_pins(text: str) -> dict[str, Pin]:
    """``name==version`` requirements by canonical name: a plain pin list or a hashed lock
    (``--hash=`` options are the only ones allowed; pip checks them). Anything looser than an
    exact pin is refused: the Pi must run what the tests ran."""
    pins: dict[str, Pin] = {}
    for number, line in _logical_lines(text):
        spec, *options = line.split()
        name, sep, version = (part.strip() for part in spec.partition("=="))
        bad = not sep or not name or any(c in name + version for c in "<>=!~;[ @")
        bad = bad or any(not o.startswith("--hash=") for o in options)
        try:
            Version(version)
        except InvalidVersion:
            bad = True
        if bad:
            raise ImageError(f"line {number}: {spec!r} is not an exact pin name==version")
        key = canonicalize_name(name)
        if key in pins:
            raise ImageError(f"line {number}: {name} is pinned twice")
        pins[key] = Pin(name, version)
    return pins


def platform_tags(target: Target) -> list[str]:
    """manylinux tags a wheel may carry to load on the target's glibc, newest first."""
    major, minor = target.glibc
    tags = [f"manylinux_{major}_{m}_{target.machine}" for m in range(minor, 16, -1)]
    return [*tags, f"manylinux2014_{target.machine}"]  # the legacy name of 2_17


def supported_tags(target: Target) -> frozenset[Tag]:
    plats = platform_tags(target)
    return frozenset([
        *cpython_tags(target.python, [target.python_tag], plats),
        *compatible_tags(target.python, target.python_tag, plats),
    ])


def audit(pins: Mapping[str, Pin], wheel_files: Iterable[str],
          supported: frozenset[Tag]) -> list[Pin]:
    """The pins that no given wheel file satisfies on the target (empty: all good)."""
    found: set[tuple[str, Version]] = set()
    for filename in wheel_files:
        try:
            name, version, _build, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue  # an sdist, or anything else pip left: not loadable as is
        if tags & supported:
            found.add((name, version))
    return [pin for key, pin in pins.items() if (key, Version(pin.version)) not in found]


def importable_modules(record_paths: Iterable[str], python_tag: str) -> list[str]:
    """What to import on the target to prove a wheel works there: its top-level packages and
    modules, and each compiled extension module its RECORD lists (their machine code must
    load on the target)."""
    ext_markers = (f".cpython-{python_tag[2:]}-", ".abi3.so")
    out = set()
    for path in record_paths:
        head, _, rest = path.partition("/")
        if head.endswith((".dist-info", ".data")) or head in ("..", "bin", "__pycache__"):
            continue
        if rest == "__init__.py" and head.isidentifier():
            out.add(head)
        elif not rest and path.endswith(".py") and path[:-3].isidentifier():
            out.add(path[:-3])
        if path.endswith(".so"):
            for marker in ext_markers:
                if marker in path:
                    out.add(path[: path.index(marker)].replace("/", "."))
                    break
    return sorted(out)


def _pip(args: list[str], log: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False,  # noqa: S603
                            timeout=900)
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n{result.stdout}{result.stderr}\n")
    return result


def _target_args(target: Target) -> list[str]:
    args = ["--only-binary=:all:", "--python-version", ".".join(map(str, target.python)),
            "--implementation", "cp"]
    for plat in platform_tags(target):
        args += ["--platform", plat]
    return args


def download(requirements: Path, dest: Path, target: Target, log: Path) -> list[Path]:
    """Fetch one wheel per pin for the target; every missing one is named in the error."""
    pins = read_pins(requirements.read_text())
    dest.mkdir(parents=True, exist_ok=True)
    base = ["download", "--no-deps", "--dest", str(dest), *_target_args(target)]
    result = _pip([*base, "-r", str(requirements)], log)
    if result.returncode != 0:
        # pip stops at the first failure: ask for each pin alone to name every missing one
        for pin in pins.values():
            _pip([*base, str(pin)], log)
    files = sorted(dest.glob("*.whl"))
    missing = audit(pins, (f.name for f in files), supported_tags(target))
    if missing:
        names = ", ".join(map(str, missing))
        raise ImageError(
            f"no wheel for the Pi (CPython {'.'.join(map(str, target.python))} on "
            f"{target.machine}, manylinux up to glibc {'.'.join(map(str, target.glibc))}) "
            f"and no pure-Python wheel: {names}"
        )
    if result.returncode != 0:
        raise ImageError(f"pip could not fetch the Pi's wheels:\n{result.stderr[-1500:]}")
    return files


def install(wheels: list[Path], site: Path, target: Target, log: Path) -> None:
    """Install the audited wheels (no resolution, no index) into the image's site dir."""
    result = _pip(["install", "--no-deps", "--no-index", "--target", str(site),
                   *_target_args(target), *map(str, wheels)], log)
    if result.returncode != 0:
        raise ImageError(f"pip could not install the Pi's wheels:\n{result.stderr[-1500:]}")
