"""The node's flash image on the host: create it, and move files in and out of it.

The image is a real LittleFS v2 filesystem (2 MiB, 4096-byte blocks, the vfs partition of a
4 MiB ESP32). Files are moved by the MicroPython VM itself (`board/_flashtool.py`), so the
filesystem code is the one the node runs, limits and errors included (ENOSPC when full).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from tools.emulator.vm import BOARD_DIR, micropython_binary, vm_env

__all__ = [
    "BLOCK_SIZE",
    "FLASH_SIZE",
    "blank_image",
    "flash_path",
    "get_file",
    "list_files",
    "put_files",
]

FLASH_SIZE = 2 * 1024 * 1024
BLOCK_SIZE = 4096
# Host tooling, like mpremote: not bound by the node's heap.
_TOOL_HEAP = "256K"
_TOOL_TIMEOUT_S = 120.0


def blank_image(path: Path) -> None:
    """An erased flash chip: every byte 0xFF. The node formats it at first boot."""
    tmp = path.with_suffix(".tmp")
    # owner only: the flash will hold node.json, with the node's secret and the Wi-Fi key
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(b"\xff" * FLASH_SIZE)
    tmp.replace(path)


def flash_path(name: str) -> str:
    """A path inside the flash, relative to its root; refuses escapes and empty names."""
    p = PurePosixPath(name.lstrip("/"))
    if not p.parts or ".." in p.parts:
        raise ValueError(f"not a file path inside the flash: {name!r}")
    return str(p)


def _run_tool(node_dir: Path, *args: str) -> list[str]:
    image = node_dir / "flash.img"
    if not image.exists():
        raise FileNotFoundError(f"no flash image in {node_dir}: call create() first")
    cmd = [micropython_binary(), "-X", f"heapsize={_TOOL_HEAP}", str(BOARD_DIR / "_flashtool.py")]
    proc = subprocess.run(  # noqa: S603 - our VM and our script, arguments are paths
        [*cmd, args[0], str(image), *args[1:]],
        env=vm_env(node_dir),
        capture_output=True,
        text=True,
        timeout=_TOOL_TIMEOUT_S,
        check=False,
    )
    lines = proc.stdout.splitlines()
    for line in lines:
        if line.startswith("ERR "):
            _, code, msg = [*line.split(" ", 2), ""][:3]
            # OSError(errno, ...) becomes FileNotFoundError etc. by itself
            raise OSError(int(code), f"flash {args[0]}: {msg}")
    if proc.returncode != 0 or not lines or not lines[-1].startswith("OK"):
        raise RuntimeError(f"flash tool failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    return lines[:-1]


def put_files(node_dir: Path, files: Mapping[str, bytes]) -> None:
    """Write files into the flash (directories created as needed, existing files replaced)."""
    staged = {flash_path(name): data for name, data in files.items()}
    with tempfile.TemporaryDirectory(dir=node_dir, prefix="staging.") as tmp:
        for name, data in staged.items():
            target = Path(tmp, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        _run_tool(node_dir, "put", tmp)


def get_file(node_dir: Path, name: str) -> bytes:
    with tempfile.TemporaryDirectory(dir=node_dir, prefix="staging.") as tmp:
        out = Path(tmp, "out")
        _run_tool(node_dir, "get", flash_path(name), str(out))
        return out.read_bytes()


def list_files(node_dir: Path) -> list[str]:
    """Every file in the flash, as paths relative to its root, sorted."""
    return sorted(line.split(" ", 1)[1] for line in _run_tool(node_dir, "ls"))
