"""The MicroPython VM processes: where the VM and the emulated board are, how a VM is started.

Every VM runs in its own process group; none outlives the Python process: atexit kills the
groups still alive, and when the process dies without atexit (SIGKILL) the kernel delivers
the VM's parent-death signal, set by ``setpriv`` (util-linux) before it execs the VM.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

__all__ = [
    "BOARD_DIR",
    "heap_bytes",
    "kill_group",
    "measure_board_heap",
    "micropython_binary",
    "reaped",
    "spawn_vm",
    "vm_env",
]

# The board modules (machine, network, esp32, bluetooth, _boot...) that run inside the VM.
BOARD_DIR = Path(__file__).resolve().parent / "board"
_SETPRIV = shutil.which("setpriv")
# The parent-death signal goes with the *thread* that spawned the VM: spawn from a thread
# that lives as long as the VM should.
_ORPHAN_GUARD = [_SETPRIV, "--pdeathsig", "KILL"] if _SETPRIV else []
_SETPRIV_ARG0 = f"{_SETPRIV}\0".encode()
_GUARD_WAIT_S = 5.0
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def micropython_binary() -> str:
    """The `micropython` command of the venv this interpreter runs in, else the one on PATH."""
    local = Path(sys.executable).parent / "micropython"
    if local.exists():
        return str(local)
    found = shutil.which("micropython")
    if found is None:
        raise FileNotFoundError("micropython not found: run `make venv`")
    return found


def vm_env(node_dir: Path) -> dict[str, str]:
    """Environment of a node's VM: its node directory and only the board on the module path."""
    env = dict(os.environ)
    # without MICROPYPATH the VM would also search ~/.micropython/lib
    env["MICROPYPATH"] = f"{BOARD_DIR}:.frozen"
    env["TERRITOIRE_NODE_DIR"] = str(node_dir)
    env["TERRITOIRE_BOARD"] = str(node_dir / "board.json")
    return env


def spawn_vm(
    node_dir: Path, heapsize: str, console: IO[bytes] | int, *, repl: bool = False
) -> subprocess.Popen[bytes]:
    """Boot a node: the VM runs board/_boot.py with the node's heap, output to ``console``.

    With ``repl`` the console is a terminal (the node's serial port, serialport.py) that is also
    the VM's input, and the VM enters its REPL once main.py ends, as the board does."""
    cmd = [
        *_ORPHAN_GUARD,
        micropython_binary(),
        "-X",
        f"heapsize={heapsize}",
        *(["-i"] if repl else []),
        str(BOARD_DIR / "_boot.py"),
    ]
    env = vm_env(node_dir)
    if repl:
        env["TERRITOIRE_REPL"] = "1"
    proc = subprocess.Popen(  # noqa: S603 - our VM binary and our boot script
        cmd,
        cwd=node_dir,
        env=env,
        stdin=console if repl else subprocess.DEVNULL,
        stdout=console,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group
    )
    with _LIVE_LOCK:
        _LIVE.add(proc)
    _wait_guarded(proc)
    return proc


def _wait_guarded(proc: subprocess.Popen[bytes]) -> None:
    """Return once setpriv has set the parent-death signal and exec'd the VM.

    Popen returns when setpriv starts; a runner killed before setpriv's prctl() would leave
    the VM without the signal. Its command line changes at the exec that follows the prctl.
    """
    if not _ORPHAN_GUARD:
        return
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    deadline = time.monotonic() + _GUARD_WAIT_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if not cmdline.read_bytes().startswith(_SETPRIV_ARG0):
                return
        except OSError:  # no /proc: nothing to wait for
            return
        time.sleep(0.001)


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, sig)


def reaped(proc: subprocess.Popen[bytes]) -> None:
    """Forget a VM that has exited and been waited for."""
    with _LIVE_LOCK:
        _LIVE.discard(proc)


@atexit.register
def _kill_all() -> None:
    with _LIVE_LOCK:
        for proc in list(_LIVE):
            kill_group(proc)
            proc.wait()
        _LIVE.clear()


def heap_bytes(heapsize: str) -> int:
    """The VM's ``-X heapsize`` value in bytes: "100K", "1M" or a plain number."""
    m = re.fullmatch(r"(\d+)([KkMm]?)", heapsize)
    if m is None:
        raise ValueError(f"heap size {heapsize!r}: expected digits with an optional K or M")
    return int(m[1]) * {"": 1, "k": 1024, "m": 1024 * 1024}[m[2].lower()]


# The probe measures what the emulation keeps resident; its simulators also allocate while they
# run (a BLE scan's result list grows with the simulated crowd), work a real board's radio and
# buses do outside the heap. This margin covers those transients (HIL heap reports do not
# count it as emulation, so the firmware's figure is never understated).
EMULATION_TRANSIENT_MARGIN = 8192


def measure_board_heap(board: Mapping[str, Any]) -> int:
    """Heap the emulation takes for this board description (board modules + simulated devices).

    None of it exists on a real ESP32's heap; see board/_probe.py. Runs in a scratch node
    directory, so no state file of a real node is touched.
    """
    with tempfile.TemporaryDirectory(prefix="board-probe.") as tmp:
        d = Path(tmp)
        (d / "board.json").write_text(json.dumps(dict(board)))
        proc = subprocess.run(  # noqa: S603 - our VM and our probe script
            [micropython_binary(), "-X", "heapsize=4M", str(BOARD_DIR / "_probe.py")],
            cwd=d,
            env=vm_env(d),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    found = re.search(r"^BOARD_HEAP (\d+)$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"board heap probe failed: {proc.stdout}{proc.stderr}")
    return int(found[1])
