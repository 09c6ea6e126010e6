"""Entry point of the gateway process (``territoire gateway run --config FILE``)."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from gateway.config import load_settings
from gateway.service import Gateway

__all__ = ["run_gateway"]


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
        try:
            await gateway.run(stop)
        finally:
            if gateway.broker is not None:
                gateway.broker.stop()

    asyncio.run(main())
