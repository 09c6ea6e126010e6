"""The CLI's exit codes and the one place where known failures become a one-line message and an
exit code (docs/cli.md, "Exit codes"): every command fails through :func:`fail`, and the
failures of the parts it drives (the fleet, a board, a file) through :func:`errors`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from enum import IntEnum
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from tools.fleet_client import FleetApiError

__all__ = ["Code", "errors", "fail", "fleet_message"]

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


def fleet_message(exc: FleetApiError) -> str:
    """The fleet's refusal, with what to check when it is the address or the token."""
    if exc.status_code is None:
        return f"{exc} (check --fleet and the network)"
    if exc.status_code == 401:
        return (f"{exc} (the token is wrong, expired or revoked: "
                "make one with territoire login)")
    return str(exc)


@contextlib.contextmanager
def errors() -> Iterator[None]:
    """Known failures become a message and an exit code."""
    # imported here: `territoire --help` stays fast (no gateway, emulator or mpremote import)
    from tools.fleet_client import FleetApiError
    from tools.node.board import BoardError
    from tools.node.emulated import EmulatedError
    from tools.node.monitor import MonitorError
    from tools.node.provisioning import ProvisioningError
    from tools.release.bundle import BundleError
    from tools.release.manage import ReleaseError

    try:
        yield
    except (ProvisioningError, ReleaseError) as exc:
        fail(str(exc), Code.BAD_INPUT)
    except FleetApiError as exc:
        fail(fleet_message(exc), Code.FLEET)
    except (BoardError, EmulatedError) as exc:
        fail(str(exc), Code.BOARD)
    except BundleError as exc:
        fail(f"firmware bundle: {exc}", Code.BAD_INPUT)
    except MonitorError as exc:
        fail(str(exc), Code.FAILED)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(int(Code.INTERRUPTED)) from None
