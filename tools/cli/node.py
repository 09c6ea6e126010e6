"""``territoire node ...``: the technician's workbench commands (docs/cli.md).

provision (claim with the fleet, write the provisioning file), flash (MicroPython, the firmware
bundle and the configuration onto a board on a serial port, or into an emulated node), selftest,
monitor, and emulate (an emulated node with its serial port, for training and tests).

Every failure ends in one message and an exit code of :class:`Code`; no traceback.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tools.cli.errors import Code, errors, fail

if TYPE_CHECKING:
    from tools.node.monitor import Event
    from tools.node.selftest import SelftestReport

__all__ = ["node_app"]

node_app = typer.Typer(
    help="Provision, flash, test and watch a sensor node (real board or emulated).",
    no_args_is_help=True,
)
out = Console(highlight=False)


def _target(port: str | None, emulated: Path | None) -> None:
    if (port is None) == (emulated is None):
        fail("give the board: --port /dev/ttyUSB0 (real board) or --emulated DIR",
              Code.BAD_INPUT)


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="provisioning file of the node "
                                         "(written by `node provision`)")]
PortOpt = Annotated[str | None, typer.Option(help="serial port of a real board, e.g. "
                                             "/dev/ttyUSB0")]
EmulatedOpt = Annotated[Path | None, typer.Option(help="directory of an emulated node "
                                                  "(created if missing)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON document (for scripts)")]
FleetOpt = Annotated[str | None, typer.Option("--fleet", envvar="TERRITOIRE_FLEET_URL",
                                              help="fleet base URL", show_default=False)]
TokenOpt = Annotated[str | None, typer.Option(
    "--token", envvar="TERRITOIRE_FLEET_TOKEN", show_default=False,
    help="operator API token (territoire login makes one)")]


@node_app.command("provision")
def provision(  # noqa: PLR0917 - a typer command: one parameter per option
    code: Annotated[str, typer.Option(help="claim code from the node's label: typed "
                                      "(7KQ2-M4XP-...) or the scanned QR content or link")],
    fleet: Annotated[str, typer.Option(envvar="TERRITOIRE_FLEET_URL",
                                       help="fleet service URL")],
    gateway_host: Annotated[str, typer.Option(help="address of the district's gateway "
                                              "(its MQTT broker), as the node will reach it")],
    wifi_ssid: Annotated[str, typer.Option(help="Wi-Fi network the node joins")],
    wifi_key: Annotated[str, typer.Option(envvar="TERRITOIRE_WIFI_KEY",
                                          help="Wi-Fi key (or env TERRITOIRE_WIFI_KEY)")] = "",
    gateway_port: Annotated[int, typer.Option(min=1, max=65535)] = 1883,
    kind: Annotated[str | None, typer.Option(help="standard node kind (weather, air, noise, "
                                             "people, bin, soil); default: the fleet's profile")
                    ] = None,
    sensors: Annotated[Path | None, typer.Option(help="JSON list of sensor specs, for a "
                                                 "custom wiring")] = None,
    interval: Annotated[int, typer.Option(min=5, max=86400,
                                          help="seconds between readings (whole seconds; the "
                                          "fleet keeps it and the node's gateway caps its "
                                          "readings from it)")] = 60,
    out_file: Annotated[Path | None, typer.Option("--out", help="provisioning file to write "
                                                  "(default nodes/<node id>.json)")] = None,
    show_secret: Annotated[bool, typer.Option(help="also print the node's secret")] = False,
    as_json: JsonOpt = False,
    hw: Annotated[str, typer.Option(help="the node's hardware: esp32 (a board) or emu-x64 "
                                    "(an emulated node); releases are built per hardware")
                  ] = "esp32",
) -> None:
    """Claim a node with its claim code and write its configuration (mode 0600) for `flash`.

    Example: territoire node provision --code 7KQ2-M4XP-9BNC-T0RE-W5AZ
    --fleet https://fleet.angers.example --gateway-host gw-centre.local --wifi-ssid capteurs
    """
    with errors():
        from tools.node import ops as node_ops

        path, doc = node_ops.provision(
            code=code, fleet=fleet, gateway_host=gateway_host, gateway_port=gateway_port,
            wifi_ssid=wifi_ssid, wifi_key=wifi_key, kind=kind, sensors_file=sensors,
            interval_s=interval, out=out_file, hw=hw,
        )
    node = doc["node"]
    if as_json:
        shown = {k: v for k, v in doc.items() if k != "node"}
        shown.update(file=str(path), zone=node["zone"], sensors=len(node["sensors"]))
        if show_secret:
            shown["secret"] = node["secret"]
        print(json.dumps(shown))
    else:
        out.print(f"node [bold]{node['id']}[/] claimed: zone {node['zone']}, gateway "
                  f"{doc['gateway_id'] or '-'}, {len(node['sensors'])} sensor(s) "
                  f"({doc['kind'] or 'custom'})")
        out.print(f"configuration written to {path} (owner only: it holds the node's secret)")
        if show_secret:
            out.print(f"secret: {node['secret']}")
        out.print(f"next: territoire node flash --config {path} --port /dev/ttyUSB0")
    if not node["sensors"]:
        fail(f"the fleet's profile {doc['profile_id']!r} is not a standard node kind: "
              f"{path} has no sensors; give them with --kind or --sensors", Code.BAD_INPUT)


@node_app.command("flash")
def flash(
    config: ConfigOpt,
    port: PortOpt = None,
    emulated: EmulatedOpt = None,
    micropython_firmware: Annotated[Path | None, typer.Option(
        help="MicroPython .bin for ESP32 to write first with esptool (erases the flash)")] = None,
    bundle: Annotated[Path | None, typer.Option(
        help="prebuilt firmware bundle directory (default: compile firmware/ now)")] = None,
    selftest: Annotated[bool, typer.Option(help="run the self-test after flashing")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Write the firmware bundle and the node's configuration to a board, then self-test it.

    Example: territoire node flash --config nodes/ang-0007.json --port /dev/ttyUSB0
    --micropython-firmware ESP32_GENERIC-v1.29.0.bin
    """
    _target(port, emulated)
    if micropython_firmware is not None and emulated is not None:
        fail("--micropython-firmware is for a real board: the emulated board runs the "
              "MicroPython unix VM", Code.BAD_INPUT)
    with errors():
        from tools.node import ops as node_ops

        result = node_ops.flash(config=config, port=port, emulated=emulated,
                                firmware=micropython_firmware, bundle_dir=bundle,
                                selftest=selftest, quiet=as_json)
    report: SelftestReport | None = result.pop("report")
    if as_json:
        result["selftest"] = None if report is None else report.as_json()
        print(json.dumps(result))
    else:
        out.print(f"flashed [bold]{result['node_id']}[/]: {result['files']} files, "
                  f"{result['bytes']} bytes in {result['seconds']['copy']:.1f} s")
        if report is not None:
            from tools.cli.render import render_selftest

            render_selftest(report)
    if report is not None and not report.passed:
        raise typer.Exit(int(Code.SELFTEST))


@node_app.command("selftest")
def selftest_cmd(
    node: Annotated[str, typer.Argument(help="node id expected on the board, e.g. ang-0007")],
    port: PortOpt = None,
    emulated: EmulatedOpt = None,
    timeout: Annotated[float, typer.Option(min=1, max=120, help="seconds to wait for the "
                                           "gateway's answer")] = 10.0,
    as_json: JsonOpt = False,
) -> None:
    """Run the node's self-test over its REPL: sensors, Wi-Fi, gateway, clock, heap, flash.

    Example: territoire node selftest ang-0007 --port /dev/ttyUSB0
    """
    _target(port, emulated)
    with errors():
        from tools.node import ops as node_ops

        report = node_ops.selftest(port=port, emulated=emulated, timeout_s=timeout)
    if report.node_id not in (None, node):
        fail(f"the board is {report.node_id}, not {node}", Code.BAD_INPUT)
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        from tools.cli.render import render_selftest

        render_selftest(report)
    if not report.passed:
        raise typer.Exit(int(Code.SELFTEST))


@node_app.command("monitor")
def monitor_cmd(
    node: Annotated[str, typer.Argument(help="node id, e.g. ang-0007")],
    gateway_config: Annotated[Path, typer.Option(help="the gateway's TOML (its broker "
                                                 "account and node registry)")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="the node's "
                                                "provisioning file, for its secret (default: "
                                                "the gateway's registry)")] = None,
    count: Annotated[int | None, typer.Option(min=1, max=1_000_000,
                                              help="stop after this many readings")] = None,
    duration: Annotated[float | None, typer.Option(min=1, help="stop after this many "
                                                   "seconds")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON line per message")] = False,
) -> None:
    """Show one node's readings live, decoded, with their verification and the gateway's acks.

    Example: territoire node monitor ang-0007 --gateway-config /etc/territoire/gateway.toml
    """

    from tools.cli.render import render_event

    def show(e: Event) -> None:
        render_event(e, as_json=as_json)

    with errors():
        from tools.node import ops as node_ops

        seen = node_ops.monitor(node=node, gateway_config=gateway_config, config=config,
                                show=show, count=count, duration=duration, quiet=as_json)
    if count is not None and seen < count:
        fail(f"saw {seen} of {count} readings from {node}", Code.FAILED)


@node_app.command("sign")
def sign(
    node: Annotated[str, typer.Argument(help="node id, e.g. ang-0007")],
    out_path: Annotated[Path, typer.Option("--out", help="the sign to write: FILE.pdf")],
    fleet: FleetOpt = None,
    token: TokenOpt = None,
) -> None:
    """Print the A5 sign for the node's site: what is measured, why, by whom, what is never
    collected, retention, and a QR code to the register of its zone and type (in French).

    Example: territoire node sign ang-0007 --out panneau-ang-0007.pdf
    """
    import re

    from fleet.models.common import SLUG_PATTERN
    from tools.cli.ops import fleet_client, out_file

    if not re.match(SLUG_PATTERN, node):
        fail(f"{node!r} is not a node id (3 to 32 of a-z, 0-9 and -)", Code.BAD_INPUT)
    with out_file(out_path, (".pdf",), "--out") as target, fleet_client(fleet, token) as c:
        pdf = c.request("GET", f"/nodes/{node}/sign", f"sign of node {node}").content
        if not pdf.startswith(b"%PDF-"):
            fail(f"sign of node {node}: the fleet did not send a PDF (check --fleet)",
                 Code.FLEET)
        target.write(pdf)
    out.print(f"sign of node [bold]{node}[/]: {out_path}")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@node_app.command("emulate")
def emulate(
    directory: Annotated[Path, typer.Argument(help="the emulated node's directory (from "
                                              "`node flash --emulated`)")],
    duration: Annotated[float | None, typer.Option(min=1, help="seconds (default: until "
                                                   "Ctrl-C)")] = None,
) -> None:
    """Power on an emulated node and show its serial port, for mpremote or `node selftest`.

    Example: territoire node emulate nodes/ang-0007.emu  (then: mpremote connect /dev/pts/N)
    """
    from tools.node import ops as node_ops

    with errors(), node_ops.powered(directory) as node:
        out.print(f"node {directory.name} is on; serial port [bold]{node.serial_port}[/] "
                  "(Ctrl-C to power off)", soft_wrap=True)
        stop = time.monotonic() + duration if duration is not None else None
        signal.signal(signal.SIGTERM, _interrupt)  # a service manager stops it like Ctrl-C
        with contextlib.suppress(KeyboardInterrupt):
            while stop is None or time.monotonic() < stop:
                time.sleep(0.2)
    out.print("powered off")

