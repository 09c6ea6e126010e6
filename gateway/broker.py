"""Run Mosquitto as the gateway's child, with a configuration written by us.

In production the shipped unit runs the gateway with ``broker.manage = true``: its Mosquitto
runs as the gateway's user, reads the users and ACL the gateway writes and reloads them on the
gateway's SIGHUP (docs/gateway.md, "Mosquitto in production"). Tests and the demo start one on
a free port.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from gateway.secret_file import private_file

__all__ = ["BrokerError", "MosquittoProcess", "free_port"]


class BrokerError(RuntimeError):
    """The broker could not be started or did not answer."""


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port to listen on, chosen below the kernel's ephemeral range.

    A port from the ephemeral range (what binding port 0 gives) can be taken by any outgoing
    connection between now and the moment the server binds it; on a busy test machine it was.
    """
    low = min(20000, _ephemeral_range()[0] - 1000)
    high = _ephemeral_range()[0] - 1
    for _ in range(200):
        port = random.randint(low, high)  # noqa: S311  # spreading, not secrecy
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: try another
            return port
    raise BrokerError(f"no free port between {low} and {high}")


def _wait_listening(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.02)
    return False


class MosquittoProcess:
    """One private Mosquitto process in its own directory.

    ``extra_conf`` is appended to the listener configuration (ACLs, password file...).
    The port stays the same across ``kill`` / ``start`` so clients can reconnect.
    """

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "",
                 host: str = "127.0.0.1") -> None:
        self.workdir = workdir
        self.host = host  # 0.0.0.0 in production (--manage-broker): the nodes come over Wi-Fi
        self.port = port if port is not None else free_port()
        self.extra_conf = extra_conf
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"

    def write_config(self) -> None:
        # owner-only whatever the umask: under the gateway's data directory in production
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_file(self.log_path)  # Mosquitto appends to it, keeping its mode
        conf = (
            # run as whoever started us: Mosquitto started as root would otherwise switch to
            # the 'mosquitto' user and lose access to our private files
            f"user {getpass.getuser()}\n"
            f"listener {self.port} {self.host}\n"
            "persistence false\n"
            f"log_dest file {self.log_path}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "max_queued_messages 100000\n"
        )
        if "allow_anonymous" not in self.extra_conf:
            conf += "allow_anonymous true\n"
        tmp = self.conf_path.with_suffix(".tmp")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(conf + self.extra_conf)
        os.replace(tmp, self.conf_path)

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise BrokerError("mosquitto is not installed (run `make venv`, which installs it)")
        self.write_config()
        self.proc = subprocess.Popen(  # noqa: S603 - fixed binary, our own config file
            [binary, "-c", str(self.conf_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if not _wait_listening(self.port, time.monotonic() + timeout):
            err = b""
            if self.proc.poll() is not None and self.proc.stderr is not None:
                err = self.proc.stderr.read()
            self.stop()
            raise BrokerError(f"mosquitto did not listen on {self.port}: {err.decode()[-500:]}")

    def reload(self) -> None:
        """Re-read the configuration (password file and ACLs) without dropping clients."""
        self.write_config()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)

    def kill(self) -> None:
        """SIGKILL: what a crash looks like; in-flight messages are lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> MosquittoProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
