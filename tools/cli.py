"""``territoire``: the technician's and operator's command line.

Every command prints a message a person understands and exits non-zero on failure; no
traceback reaches the user (``main`` turns known errors into messages).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["app", "main"]

app = typer.Typer(
    help="Territoire: open, citizen-trusted sensing infrastructure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
gateway_app = typer.Typer(help="Run and manage a gateway.", no_args_is_help=True)
app.add_typer(gateway_app, name="gateway")
err = Console(stderr=True)


class CliError(Exception):
    """A failure to report as a message with exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@gateway_app.command("run")
def gateway_run(
    config: Annotated[Path, typer.Option("--config", "-c", help="gateway TOML file")],
    manage_broker: Annotated[
        bool, typer.Option(help="start a private Mosquitto (demo and tests)")
    ] = False,
) -> None:
    """Run the gateway until SIGTERM or Ctrl-C.

    Example: territoire gateway run --config /etc/territoire/gateway.toml
    """
    from gateway.config import ConfigError
    from gateway.main import run_gateway

    try:
        run_gateway(config, manage_broker=manage_broker or None)
    except ConfigError as exc:
        raise CliError(f"bad gateway configuration: {exc}", 2) from None


@app.command()
def demo(
    nodes: Annotated[int, typer.Option(min=1, max=200, help="emulated nodes")] = 24,
    duration: Annotated[
        float | None, typer.Option(min=1, help="seconds (default: until Ctrl-C)")
    ] = None,
    summary: Annotated[Path | None, typer.Option(help="write a JSON summary here")] = None,
    interval: Annotated[float, typer.Option(min=0.5, help="seconds between readings")] = 5.0,
) -> None:
    """Run the whole chain locally: Mosquitto, gateway and emulated nodes over Angers.

    Example: territoire demo --nodes 6 --duration 60 --summary demo.json
    """
    from tools.demo import DemoOptions, run_demo

    result = run_demo(
        DemoOptions(
            nodes=nodes,
            duration=duration,
            summary=summary,
            interval_s=interval,
            live=sys.stdout.isatty(),
        )
    )
    Console().print(
        f"[bold]demo finished[/]: {result['nodes_started']} nodes, "
        f"{result['readings_accepted']} readings accepted, "
        f"{result['readings_rejected']} rejected"
    )


def main() -> None:
    try:
        app()
    except CliError as exc:
        err.print(f"[red]error:[/] {exc}")
        sys.exit(exc.code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
