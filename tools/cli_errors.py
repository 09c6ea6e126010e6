"""Exit codes of the node commands, and the one place where known failures become a message
and an exit code (docs/cli.md, "Exit codes")."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import IntEnum
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["Code", "errors", "fail"]

err = Console(stderr=True, highlight=False)


class Code(IntEnum):
    """Exit codes (docs/cli.md, "Exit codes")."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    FLEET = 3
    BOARD = 4
    SELFTEST = 5
    INTERRUPTED = 130


def fail(message: str, code: Code) -> NoReturn:
    # one line whatever the terminal's width; the message as written (a path may hold [...])
    err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(int(code))


@contextlib.contextmanager
def errors() -> Iterator[None]:
    """Known failures become a message and an exit code."""
    # imported here: `territoire --help` stays fast (no gateway, emulator or mpremote import)
    from tools import node_ops
    from tools.board import BoardError
    from tools.bundle import BundleError
    from tools.fleet_api import FleetApiError
    from tools.node_monitor import MonitorError
    from tools.provisioning import ProvisioningError

    try:
        yield
    except ProvisioningError as exc:
        fail(str(exc), Code.BAD_INPUT)
    except FleetApiError as exc:
        fail(node_ops.fleet_message(exc), Code.FLEET)
    except (BoardError, node_ops.EmulatedError) as exc:
        fail(str(exc), Code.BOARD)
    except BundleError as exc:
        fail(f"firmware bundle: {exc}", Code.BAD_INPUT)
    except MonitorError as exc:
        fail(str(exc), Code.FAILED)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(int(Code.INTERRUPTED)) from None
