"""How the node commands show a self-test report and a monitored message (rich, on stdout)."""

from __future__ import annotations

import json
import time

from rich.console import Console
from rich.table import Table

from tools.node.monitor import Event
from tools.node.selftest import SelftestReport

__all__ = ["render_event", "render_selftest"]

out = Console(highlight=False)


def render_selftest(report: SelftestReport) -> None:
    table = Table(title=f"self-test of {report.node_id or 'the node'}", expand=False)
    for col in ("check", "result", "detail"):
        table.add_column(col)
    style = {"ok": "green", "warn": "yellow", "fail": "red"}
    for c in report.checks:
        table.add_row(c.name, f"[{style.get(c.status, 'red')}]{c.status}[/]", c.detail)
    out.print(table)
    if report.passed:
        out.print("[green]self-test passed[/]")
    elif not report.finished:
        out.print("[red]self-test did not finish[/] (see the checks above)")
    else:
        failed = [c.name for c in report.checks if c.status == "fail"]
        out.print(f"[red]self-test failed:[/] {', '.join(failed)}")
        if "config" in failed:
            out.print("the node is not provisioned: flash it with its provisioning file "
                      "(territoire node flash --config FILE ...)")


def render_event(e: Event, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(e.as_json()), flush=True)
        return
    ok = e.verdict in ("valid", "duplicate")
    mark = "[green]valid[/]" if e.verdict == "valid" else (
        "[yellow]duplicate[/]" if ok else f"[red]{e.verdict}[/]")
    when = time.strftime("%H:%M:%S", time.localtime(e.t)) if e.t else "--:--:--"
    values = " ".join(f"{k}={v:g}" for k, v in e.values.items())
    counter = f"#{e.counter}" if e.counter is not None else ""
    out.print(f"{when} {e.kind:7} {counter:>7} {mark} {values} {e.detail}".rstrip())
