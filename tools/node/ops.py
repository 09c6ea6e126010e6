"""What the ``territoire node`` commands do, step by step (the CLI module only parses options
and renders results). Progress bars go to stderr, so ``--json`` output on stdout stays clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
)

from gateway.config import ConfigError
from gateway.config_file import load_settings
from tools.fleet_client import ClaimedNode, claim
from tools.node.board import (
    MAX_FIRMWARE_BYTES,
    Board,
    BoardError,
    check_firmware_image,
    esptool_write,
)
from tools.node.emulated import EmulatedError, check_off, powered
from tools.node.kinds import KINDS
from tools.node.monitor import (
    Event,
    broker_login,
    gateway_credentials,
    provisioning_credentials,
)
from tools.node.monitor import monitor as watch
from tools.node.provisioning import (
    ProvisioningError,
    check_writable_dir,
    claim_code_from,
    load_provisioning,
    make_provisioning,
    sensors_from_json,
    write_private,
)
from tools.node.selftest import SelftestReport, parse_selftest, selftest_code
from tools.release.bundle import firmware_files
from tools.release.bundle_check import check_bundle, load_bundle_dir, shadowed_by

__all__ = ["EmulatedError", "flash", "monitor", "powered", "provision",
           "selftest"]

err = Console(stderr=True, highlight=False)
_MAX_SENSOR_FILE = 64 * 1024
_SELFTEST_EXTRA_S = 60.0  # sensors and Wi-Fi, on top of the wait for the gateway


def _progress(quiet: bool) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    TaskProgressColumn(), TextColumn("{task.fields[note]}"), console=err,
                    disable=quiet, transient=False)


def _task(progress: Progress, what: str, total: float | None, note: str = "") -> TaskID:
    return progress.add_task(what, total=total, note=note)


# -- provision ------------------------------------------------------------------------------


def provision(*, code: str, fleet: str, gateway_host: str, gateway_port: int, wifi_ssid: str,
              wifi_key: str, kind: str | None, sensors_file: Path | None, interval_s: int,
              out: Path | None, hw: str = "esp32") -> tuple[Path, dict[str, Any]]:
    """Check everything local first (a claim code is spent by the claim), claim, write."""
    claim_code = claim_code_from(code)
    if not fleet.startswith(("http://", "https://")) or len(fleet) > 300:
        raise ProvisioningError(f"--fleet must be the fleet's http(s) URL, not {fleet[:60]!r}")
    if kind is not None and kind not in KINDS:
        raise ProvisioningError(f"unknown node kind {kind!r}: one of {', '.join(KINDS)}")
    sensors = None
    if sensors_file is not None:
        try:
            with sensors_file.open("rb") as f:
                sensors = sensors_from_json(f.read(_MAX_SENSOR_FILE + 1))
        except OSError as exc:
            raise ProvisioningError(f"cannot read {sensors_file}: {exc.strerror}") from None
    if out is not None and out.exists():
        raise ProvisioningError(f"{out} exists: it may hold another node's secret; "
                                "choose another --out")
    # the file is written after the claim: a directory we cannot write would spend the code
    check_writable_dir(out.parent if out is not None else Path("nodes"), "the provisioning file")
    make = functools.partial(
        make_provisioning, fleet_url=fleet.rstrip("/"), gateway_host=gateway_host,
        gateway_port=gateway_port, wifi_ssid=wifi_ssid, wifi_key=wifi_key, kind=kind,
        sensors=sensors, interval_s=interval_s, hw=hw)
    # the same checks as after the claim, on a stand-in node: fail before spending the code
    make(ClaimedNode("ang-0000", 1, bytes(32), "zone", None, kind))
    with err.status("claiming the node with the fleet..."):
        # the interval goes with the claim: the node's gateway caps its readings from it
        claimed = claim(fleet.rstrip("/"), claim_code, interval_s)
    doc = make(claimed)
    path = out or Path("nodes") / f"{claimed.node_id}.json"
    write_private(path, json.dumps(doc, indent=1).encode() + b"\n")
    return path, doc


@contextlib.contextmanager
def _port(port: str | None, emulated: Path | None,
          doc: dict[str, Any] | None = None) -> Iterator[str]:
    if port is not None:
        yield port
        return
    if emulated is None:
        raise BoardError("no board given")
    with powered(emulated, doc) as node:
        yield node.serial_port


# -- flash ----------------------------------------------------------------------------------


def _bundle(bundle_dir: Path | None, arch: str, progress: Progress) -> dict[str, bytes]:
    task = _task(progress, "firmware bundle", None, str(bundle_dir or f"mpy-cross {arch}"))
    files = load_bundle_dir(bundle_dir) if bundle_dir else firmware_files(arch=arch)
    check_bundle(files, arch)
    progress.update(task, total=1, completed=1, note=f"{len(files)} files checked")
    return files


def _selftest_on(board: Board, timeout_s: float) -> SelftestReport:
    board.restart_raw()
    try:
        out = board.exec(selftest_code(int(timeout_s * 1000)),
                         timeout=timeout_s + _SELFTEST_EXTRA_S)
    except BoardError as exc:
        if "ImportError" in str(exc):
            raise BoardError(f"no Territoire firmware on {board.port} (flash it first: "
                             "territoire node flash --config FILE --port PORT)") from None
        raise
    return parse_selftest(out)


def _check_image(firmware: Path) -> None:
    try:
        with firmware.open("rb") as f:
            image = f.read(MAX_FIRMWARE_BYTES + 1)  # bounded: the check says why
    except OSError as exc:
        raise BoardError(f"cannot read {firmware}: {exc.strerror}") from None
    check_firmware_image(image, str(firmware))


def flash(*, config: Path, port: str | None, emulated: Path | None, firmware: Path | None,
          bundle_dir: Path | None, selftest: bool, quiet: bool) -> dict[str, Any]:
    doc = load_provisioning(config)
    node = doc["node"]
    if not node["sensors"]:
        raise ProvisioningError(f"{config} configures no sensor: provision with --kind or "
                                "--sensors")
    if firmware is not None:
        _check_image(firmware)
    if emulated is not None:
        check_off(emulated)
    target = "emu-x64" if emulated is not None else "esp32"
    if node["hw"] != target:
        # the node would refuse every release built for the board it runs on
        raise ProvisioningError(f"{config} is for {node['hw']} hardware, this board is "
                                f"{target}: provision it with --hw {target}")
    arch = "x64" if emulated is not None else "xtensawin"
    seconds: dict[str, float] = {}
    with _progress(quiet) as progress:
        t0 = time.monotonic()
        files = _bundle(bundle_dir, arch, progress)
        config_bytes = json.dumps(node, separators=(",", ":")).encode()
        seconds["bundle"] = time.monotonic() - t0
        with _port(port, emulated, doc) as dev:
            if firmware is not None:
                task = _task(progress, "MicroPython (esptool)", 100, firmware.name)
                t0 = time.monotonic()
                esptool_write(dev, firmware, lambda pct: progress.update(task, completed=pct))
                seconds["micropython"] = time.monotonic() - t0
            with Board(dev) as board:
                t0 = time.monotonic()
                board.restart_raw()
                board.remove_stale(shadowed_by(files))
                total = sum(map(len, files.values())) + len(config_bytes)
                task = _task(progress, f"copy to {dev}", total, f"{total // 1024} KB")
                done: dict[str, int] = {}

                def step(name: str, n: int) -> None:
                    done[name] = n
                    progress.update(task, completed=sum(done.values()))

                # the configuration last: a board interrupted halfway is not "provisioned"
                board.put_files(files, step)
                board.put_files({"node.json": config_bytes}, step)
                files["node.json"] = config_bytes
                bad = board.differing(files)
                if bad:
                    raise BoardError(f"read back differs for {', '.join(bad[:5])}: the flash "
                                     "or the cable is faulty; flash again")
                seconds["copy"] = time.monotonic() - t0
                report = None
                if selftest:
                    t0 = time.monotonic()
                    task = _task(progress, "self-test", None)
                    report = _selftest_on(board, 10.0)
                    progress.update(task, total=1, completed=1,
                                    note="passed" if report.passed else "failed")
                    seconds["selftest"] = time.monotonic() - t0
                if emulated is None:
                    board.hard_reset()  # a real board starts measuring now
    return {"node_id": node["id"], "port": port, "emulated": str(emulated) if emulated else None,
            "files": len(files), "bytes": total, "seconds": seconds, "report": report}


def selftest(*, port: str | None, emulated: Path | None, timeout_s: float) -> SelftestReport:
    with _port(port, emulated) as dev, Board(dev) as board, err.status(
        f"self-test on {dev}..."
    ):
        report = _selftest_on(board, timeout_s)
        if port is not None:
            # the self-test ran without main.py: reset so the node goes back to measuring
            # (an emulated node of --emulated is powered off after the test anyway)
            board.hard_reset()
        return report


# -- monitor --------------------------------------------------------------------------------


def monitor(*, node: str, gateway_config: Path, config: Path | None,
            show: Callable[[Event], None], count: int | None, duration: float | None,
            quiet: bool) -> int:
    try:
        settings = load_settings(gateway_config)
    except ConfigError as exc:
        raise ProvisioningError(f"gateway configuration: {exc}") from None
    if config is not None:
        creds = provisioning_credentials(load_provisioning(config))
        if creds.node_id != node:
            raise ProvisioningError(f"{config} is the provisioning file of {creds.node_id}, "
                                    f"not {node}")
    else:
        creds = gateway_credentials(settings, node)
    login = broker_login(settings)
    if not quiet:
        err.print(f"watching {node} on the broker {login[0]}:{login[1]} (Ctrl-C to stop)")
    return asyncio.run(watch(login, creds, show, count=count, duration=duration))
