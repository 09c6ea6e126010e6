"""Entry points of the gateway process: run, and enroll with the fleet.

``territoire gateway run|enroll`` on a workstation, ``python -m gateway run|enroll`` on the Pi
(gateway/__main__.py: only the gateway's own dependencies, requirements/gateway.txt).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import tracemalloc
from collections import Counter
from pathlib import Path

from gateway.config import ConfigError, Settings
from gateway.config_file import check_files, load_settings
from gateway.fleet_client import GatewayRefused, Identity, enroll
from gateway.service import Gateway
from protocol import gateway_files

__all__ = ["DataDirError", "GatewayRefused", "NotEnrolled", "enroll_gateway", "enroll_hint",
           "run_gateway"]


class NotEnrolled(Exception):
    """``gateway run`` with a fleet.url but no identity in the data directory: the fleet would
    refuse every request (401), so nothing starts."""


class DataDirError(OSError):
    """The data directory cannot be written (keys, database, broker files go there)."""


def enroll_hint(config: Path, prog: str = "territoire gateway") -> str:
    return f"{prog} enroll --config {config} --token TOKEN"


def _identity_exists(settings: Settings) -> bool:
    # the identity key is made by `gateway enroll`, before it sends the public key to the fleet
    return gateway_files.identity_key(settings.data_path).is_file()


def _log_memory() -> None:
    log = logging.getLogger("territoire.gateway")
    if not tracemalloc.is_tracing():
        # without tracing, the live objects by type still point at what grows
        counts = Counter(type(o).__name__ for o in gc.get_objects())
        log.warning("memory: live objects by type %s", counts.most_common(12))
        log.warning("memory: for allocation sites, start with PYTHONTRACEMALLOC=10")
        return
    for stat in tracemalloc.take_snapshot().statistics("traceback")[:8]:
        logging.getLogger("territoire.gateway").warning(
            "memory: %d KiB in %d blocks at %s", stat.size // 1024, stat.count,
            " <- ".join(str(f) for f in reversed(stat.traceback[-4:])),
        )


# what the gateway process creates is its own alone: SQLite's -wal and -shm, Mosquitto's log and
# configuration, whatever a library writes (the shipped unit also says UMask=0077)
PROCESS_UMASK = 0o077


def run_gateway(config: Path, *, manage_broker: bool | None = None) -> None:
    """Run until SIGTERM or SIGINT; raises gateway.config.ConfigError on a bad file."""
    os.umask(PROCESS_UMASK)
    settings = load_settings(config)
    check_files(settings)
    if settings.fleet.url and not _identity_exists(settings):
        raise NotEnrolled(f"this gateway is not enrolled with {settings.fleet.url} (no identity "
                          f"in {settings.data_dir})")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def main() -> None:
        gateway = Gateway(settings)
        manage = settings.broker.manage if manage_broker is None else manage_broker
        if manage:
            gateway.start_private_broker()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # memory diagnostics for operators: run with PYTHONTRACEMALLOC=10, send SIGUSR2
        loop.add_signal_handler(signal.SIGUSR2, _log_memory)
        try:
            await gateway.run(stop)
        finally:
            if gateway.broker is not None:
                gateway.broker.stop()

    asyncio.run(main())


def enroll_gateway(config: Path, token: str) -> tuple[str, str]:
    """Enroll with the fleet named in the configuration; returns (gateway id, fleet url).

    Raises ConfigError for a bad file, gateway.fleet_client.FleetError when refused."""
    os.umask(PROCESS_UMASK)
    settings = load_settings(config)
    if not settings.fleet.url:
        raise ConfigError("the configuration has no fleet.url")
    try:
        # the keys are made (or read) before the fleet is asked: an unwritable directory fails
        # here, and the one-time token is not spent
        identity = Identity.load(settings.data_path, settings.fleet.gateway_id or settings.name)
    except OSError as exc:
        raise DataDirError(f"cannot write the data directory {settings.data_dir}: "
                           f"{exc.strerror or exc}") from None
    asyncio.run(enroll(settings.fleet.url, identity, token.strip()))
    return identity.gateway_id, settings.fleet.url
