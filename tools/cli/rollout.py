"""``territoire rollout ...``: start a rollout, follow it (``status --watch``), pause, resume,
abort.

Errors are one line on stderr with an exit code of docs/cli.md (2 bad input, 3 the fleet refused
or is unreachable, 1 a watch that reached its --timeout); no traceback.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer
from rich.table import Table

from tools.cli.errors import Code, fail, fleet_message
from tools.cli.release import FleetOpt, TokenOpt, out
from tools.fleet_client import FleetApiError, FleetClient

__all__ = ["changes", "parse_group", "rollout_app", "snapshot"]

FINISHED = ("completed", "aborted")  # a watch ends there: nothing changes any more

rollout_app = typer.Typer(help="Roll a release out to the nodes.", no_args_is_help=True)
_GROUP = re.compile(r"^(?P<size>[0-9]{1,7}(\.[0-9]+)?%?)(:(?P<ok>[0-9.]+))?(:(?P<bad>[0-9.]+))?$")
_WINDOW = re.compile(r"^([0-9]{2}:[0-9]{2})-([0-9]{2}:[0-9]{2})$")


def _api(fleet: str, token: str, method: str, path: str, what: str, **kw: Any) -> Any:
    # not errors(): a Ctrl-C during a look ends `status --watch` (exit 0), not the command
    try:
        with FleetClient(fleet, token) as client:
            return client.call(method, path, what, **kw)
    except FleetApiError as exc:
        fail(fleet_message(exc), Code.FLEET)


def parse_group(text: str) -> dict[str, Any]:
    """``10%`` or ``5`` (nodes), then optional ``:success`` and ``:error`` fractions."""
    m = _GROUP.match(text)
    if m is None:
        fail(
            f"group {text!r}: write SIZE[:SUCCESS[:ERROR]], e.g. 5:1:0 or 25%:0.9:0.05",
            Code.BAD_INPUT,
        )
    size = m.group("size")
    group: dict[str, Any] = {
        "success": float(m.group("ok") or 1),
        "error": float(m.group("bad") or 0),
    }
    if size.endswith("%"):
        group["percent"] = float(size[:-1])
    else:
        group["count"] = int(float(size))
    return group


def _status(r: Mapping[str, Any]) -> str:
    """``paused (operator)``; the reason is kept after an abort, but only a pause has one."""
    reason = r["paused_reason"] if r["status"] == "paused" else None
    return str(r["status"]) + (f" ({reason})" if reason else "")


def _show(r: dict[str, Any]) -> None:
    window = r["window"]
    out.print(
        f"rollout [bold]{r['id']}[/] {r['name']!r}: {r['version']} for {r['hardware']}, "
        f"[bold]{_status(r)}[/]"
        + f", {r['members']} nodes, window "
        + (f"{window['start']}-{window['end']}" if window else "always")
        + ("" if r["in_window"] else " (closed now)")
    )
    groups = Table(
        "group",
        "open",
        "nodes",
        "confirmed",
        "trial",
        "in progress",
        "failed",
        "pending",
        "success",
        "error",
    )
    for g in r["groups"]:
        groups.add_row(
            str(g["index"] + 1),
            "yes" if g["open"] else "no",
            str(g["total"]),
            str(g["confirmed"]),
            str(g["trial"]),
            str(g["in_progress"]),
            str(g["failed"]),
            str(g["pending"]),
            f"{g['success']:.0%}",
            f"{g['error']:.0%}",
        )
    out.print(groups)
    if r.get("nodes"):
        nodes = Table("node", "group", "state", "running (reported)", "last status", "why")
        for n in r["nodes"]:
            nodes.add_row(
                n["node_id"],
                str(n["group"] + 1),
                n["outcome"],
                n["running"] or "—",
                n["status"] or "—",
                n["why"] or "",
            )
        out.print(nodes)


@rollout_app.command("start")
def rollout_start(
    *,
    release: Annotated[int, typer.Option(min=1, help="release id (territoire release publish)")],
    name: Annotated[str, typer.Option(help="what this rollout is")],
    group: Annotated[list[str], typer.Option(help="SIZE[:SUCCESS[:ERROR]], in order")],
    fleet: FleetOpt,
    token: TokenOpt,
    zone: Annotated[list[str] | None, typer.Option(help="only nodes of these zones")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="only nodes with one of these tags")] = None,
    profile: Annotated[list[str] | None, typer.Option(help="only nodes of these profiles")] = None,
    percent: Annotated[float, typer.Option(min=0.01, max=100, help="share of the target")] = 100,
    window: Annotated[str | None, typer.Option(help="daily HH:MM-HH:MM, Europe/Paris")] = None,
) -> None:
    """Start rolling a release out, group after group.

    Example: territoire rollout start --release 3 --name "1.4.0 centre" --zone centre-ville
             --group 2:1:0 --group 25%:0.9:0.1 --group 100%:0.95:0.05 --window 01:00-05:00
    """
    body: dict[str, Any] = {
        "name": name,
        "release_id": release,
        "target": {
            "zones": zone or [],
            "tags": tag or [],
            "profiles": profile or [],
            "percent": percent,
        },
        "groups": [parse_group(g) for g in group],
    }
    if window is not None:
        m = _WINDOW.match(window)
        if m is None:
            fail("--window: write HH:MM-HH:MM, e.g. 01:00-05:00", Code.BAD_INPUT)
        body["window"] = {"start": m.group(1), "end": m.group(2)}
    _show(_api(fleet, token, "POST", "/rollouts", "start rollout", json=body))


def snapshot(r: Mapping[str, Any]) -> dict[str, str]:
    """What ``status --watch`` compares from one look to the next: {what: its state}."""
    snap = {
        "status": _status(r),
        "offered now": f"{r['targets_now']} nodes",
    }
    for g in r["groups"]:
        snap[f"group {g['index'] + 1}"] = (
            ("open" if g["open"] else "waiting")
            + f", {g['confirmed']}/{g['total']} confirmed, {g['trial']} on trial,"
            f" {g['in_progress']} in progress, {g['failed']} failed"
        )
    for n in r.get("nodes") or ():
        snap[f"node {n['node_id']}"] = (
            f"{n['outcome']}, running {n['running'] or '—'}"
            + (f", last status {n['status']}" if n["status"] else "")
            + (f" ({n['why']})" if n["why"] else "")
        )
    return snap


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """One line per thing that changed (or appeared) between two snapshots."""
    return [f"{what}: {state}" for what, state in after.items() if before.get(what) != state]


class _CtrlC:
    """Ctrl-C as a flag while watching, in the main thread: a KeyboardInterrupt raised in the
    middle of an HTTP request can leave the client's connection pool locked, and closing it
    then waits for ever (seen on a loaded machine). The look under way ends, then the watch."""

    def __init__(self) -> None:
        self.pressed = False
        self._old: Any = None

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._press)
        return self

    def _press(self, _signum: int, _frame: object) -> None:
        self.pressed = True

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def watch(
    fetch: Callable[[], dict[str, Any]],
    *,
    interval_s: float,
    timeout_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Show the rollout, then print what changes every ``interval_s`` until it is completed or
    aborted, ``timeout_s`` passed (0: no limit) or Ctrl-C; returns how it ended."""
    deadline = clock() + timeout_s if timeout_s else None
    with _CtrlC() as ctrl_c:
        try:
            r = fetch()
            _show(r)
            last = snapshot(r)
            while r["status"] not in FINISHED:
                if deadline is not None and clock() >= deadline:
                    return "timeout"
                waited = 0.0
                while waited < interval_s and not ctrl_c.pressed:
                    step = min(0.1, interval_s - waited)  # a Ctrl-C is seen within 0.1 s
                    sleep(step)
                    waited += step
                if ctrl_c.pressed:
                    return "interrupted"
                r = fetch()
                now = snapshot(r)
                for line in changes(last, now):
                    out.print(f"{time.strftime('%H:%M:%S')} {line}", highlight=False,
                              soft_wrap=True)
                last = now
                if ctrl_c.pressed:
                    return "interrupted"
        except KeyboardInterrupt:  # outside the main thread, or before the flag was set up
            return "interrupted"
    return str(r["status"])


@rollout_app.command("status")
def rollout_status(
    rollout_id: Annotated[int, typer.Argument(min=1)],
    fleet: FleetOpt,
    token: TokenOpt,
    watch_: Annotated[
        bool, typer.Option("--watch", help="keep watching: print what changes, until it ends")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.5, max=3600, help="seconds between looks, with --watch")
    ] = 10,
    timeout: Annotated[
        float,
        typer.Option(
            min=0, max=7 * 86400, help="with --watch: give up after that, exit 1 (0: never)"
        ),
    ] = 0,
) -> None:
    """Progress per group and per node (the version each node reports running).

    With --watch, keeps looking every --interval seconds and prints each change (status, a
    group's counts, a node's state) until the rollout is completed or aborted; Ctrl-C stops
    watching (exit 0), the rollout goes on.

    Example: territoire rollout status 7 --watch --interval 30
    """
    path, what = f"/rollouts/{rollout_id}", "rollout status"
    if not watch_:
        _show(_api(fleet, token, "GET", path, what))
        return
    ended = watch(
        lambda: _api(fleet, token, "GET", path, what), interval_s=interval, timeout_s=timeout
    )
    if ended == "timeout":
        fail(f"rollout {rollout_id} still unfinished after {timeout:g} s of watching", Code.FAILED)
    if ended == "interrupted":
        out.print(f"stopped watching rollout {rollout_id} (it goes on)", highlight=False)
    else:
        out.print(f"rollout {rollout_id} {ended}", highlight=False)


_ACTIONS = {
    "pause": "Pause: no node gets a new offer until resumed.",
    "resume": "Resume a paused rollout; the failures seen so far are accepted.",
    "abort": "Abort for good: no node gets the release from this rollout any more.",
}


def _action(action: str) -> None:
    def command(
        rollout_id: Annotated[int, typer.Argument(min=1)], fleet: FleetOpt, token: TokenOpt
    ) -> None:
        _show(_api(fleet, token, "POST", f"/rollouts/{rollout_id}/{action}", f"{action} rollout"))

    command.__doc__ = f"{_ACTIONS[action]}\n\nExample: territoire rollout {action} 7\n"
    rollout_app.command(action)(command)


for _name in ("pause", "resume", "abort"):
    _action(_name)
