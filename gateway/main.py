"""Entry points of the gateway process: run, and enroll with the fleet.

``territoire gateway run|enroll`` on a workstation, ``python -m gateway run|enroll`` on the Pi
(gateway/__main__.py: only the gateway's own dependencies, requirements/gateway.txt).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import tracemalloc
from collections import Counter
from pathlib import Path

from gateway.config import ConfigError, load_settings
from gateway.fleet_client import Identity, enroll
from gateway.service import Gateway

__all__ = ["enroll_gateway", "run_gateway"]


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


def run_gateway(config: Path, *, manage_broker: bool | None = None) -> None:
    """Run until SIGTERM or SIGINT; raises gateway.config.ConfigError on a bad file."""
    settings = load_settings(config)
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
    settings = load_settings(config)
    if not settings.fleet.url:
        raise ConfigError("the configuration has no fleet.url")
    identity = Identity.load(settings.data_path, settings.fleet.gateway_id or settings.name)
    asyncio.run(enroll(settings.fleet.url, identity, token.strip()))
    return identity.gateway_id, settings.fleet.url
