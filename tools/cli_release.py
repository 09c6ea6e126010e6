"""``territoire release ...`` and ``territoire rollout ...``: the release manager's commands.

Errors are printed as one line on stderr with a non-zero exit (1 usage or input, 2 local
failure such as a wrong passphrase, 3 the fleet refused or is unreachable); no traceback.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.table import Table

from tools.fleet_api import API, FleetApiError, _check
from tools.release import (
    ARCH,
    ReleaseError,
    build,
    keygen,
    load_private_key,
    publish,
    register_key,
    sign,
)

__all__ = ["release_app", "rollout_app"]

release_app = typer.Typer(help="Build, sign and publish firmware releases.", no_args_is_help=True)
rollout_app = typer.Typer(help="Roll a release out to the nodes.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
PASSPHRASE_ENV = "TERRITOIRE_RELEASE_PASSPHRASE"  # noqa: S105 - a variable name
_GROUP = re.compile(r"^(?P<size>[0-9]{1,7}(\.[0-9]+)?%?)(:(?P<ok>[0-9.]+))?(:(?P<bad>[0-9.]+))?$")
_WINDOW = re.compile(r"^([0-9]{2}:[0-9]{2})-([0-9]{2}:[0-9]{2})$")

FleetOpt = Annotated[
    str, typer.Option("--fleet", envvar="TERRITOIRE_FLEET_URL", help="fleet base URL")
]
TokenOpt = Annotated[
    str,
    typer.Option(
        "--token", envvar="TERRITOIRE_FLEET_TOKEN", help="operator API token", show_default=False
    ),
]
PassFileOpt = Annotated[
    Path | None,
    typer.Option(help=f"file holding the key's passphrase (else ${PASSPHRASE_ENV}, else a prompt)"),
]


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _passphrase(passphrase_file: Path | None, *, confirm: bool) -> bytes:
    if passphrase_file is not None:
        try:
            return passphrase_file.read_text().rstrip("\n").encode()
        except (OSError, UnicodeError) as exc:
            fail(f"cannot read the passphrase file: {exc}", 2)
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env.encode()
    text: str = typer.prompt("key passphrase", hide_input=True, confirmation_prompt=confirm)
    return text.encode()


@release_app.command("keygen")
def keygen_cmd(
    out_path: Annotated[Path, typer.Option("--out", help="private key file (KEY.pem)")],
    passphrase_file: PassFileOpt = None,
) -> None:
    """Make an RSA-3072 release key, encrypted with a passphrase; keep it offline.

    Example: territoire release keygen --out /media/usb/territoire-release.pem
    """
    try:
        kid, pub = keygen(out_path, _passphrase(passphrase_file, confirm=True))
    except ReleaseError as exc:
        fail(str(exc), 2)
    out.print(f"release key [bold]{kid}[/] written to {out_path} (encrypted)")
    out.print(f"public key: {pub} (register it with: territoire release register-key {pub})")


@release_app.command("build")
def build_cmd(
    hw: Annotated[str, typer.Option("--hw", help=f"hardware target: {', '.join(ARCH)}")],
    version: Annotated[str, typer.Option(help="MAJOR.MINOR.PATCH")],
    out_path: Annotated[Path, typer.Option("--out", help="bundle file to write (.tar)")],
    secure_version: Annotated[
        int, typer.Option(min=0, max=65535, help="nodes refuse anything below their highest")
    ] = 0,
    expires_days: Annotated[int, typer.Option(min=1, max=3650)] = 90,
) -> None:
    """Compile firmware/ with mpy-cross into an unsigned release bundle.

    Example: territoire release build --hw esp32 --version 1.4.0 --out fw-1.4.0-esp32.tar
    """
    try:
        built = build(
            hardware=hw,
            version=version,
            secure_version=secure_version,
            expires_days=expires_days,
            out=out_path,
            now=int(time.time()),
        )
    except ReleaseError as exc:
        fail(str(exc))
    out.print(
        f"built {built.path}: {version} for {hw}, {built.files} files, {built.total_bytes} bytes"
        " (unsigned: run territoire release sign)"
    )


@release_app.command("sign")
def sign_cmd(
    bundle_path: Annotated[Path, typer.Argument(help="bundle from territoire release build")],
    key: Annotated[Path, typer.Option("--key", help="encrypted release key (KEY.pem)")],
    passphrase_file: PassFileOpt = None,
) -> None:
    """Sign a built bundle with the offline release key (in place).

    Example: territoire release sign fw-1.4.0-esp32.tar --key /media/usb/territoire-release.pem
    """
    try:
        private = load_private_key(key, _passphrase(passphrase_file, confirm=False))
        manifest = sign(bundle_path, private)
    except ReleaseError as exc:
        fail(str(exc), 2)
    out.print(
        f"signed {bundle_path}: {manifest.version} for {manifest.hardware} by key {manifest.kid},"
        f" manifest {manifest.digest[:16]}…"
    )


@release_app.command("publish")
def publish_cmd(
    bundle_path: Annotated[Path, typer.Argument(help="signed bundle")],
    fleet: FleetOpt,
    token: TokenOpt,
) -> None:
    """Upload a signed bundle to the fleet, which verifies it before keeping it.

    Example: territoire release publish fw-1.4.0-esp32.tar --fleet https://fleet.example
    """
    try:
        rel = publish(bundle_path, fleet=fleet, token=token)
    except ReleaseError as exc:
        fail(str(exc))
    except FleetApiError as exc:
        fail(str(exc), 3)
    out.print(f"published release [bold]{rel['id']}[/]: {rel['version']} for {rel['hardware']}")


@release_app.command("register-key")
def register_key_cmd(
    pub: Annotated[Path, typer.Argument(help="public key file (KEY.pub.pem)")],
    fleet: FleetOpt,
    token: TokenOpt,
    name: Annotated[str, typer.Option(help="what this key is")] = "release key",
) -> None:
    """Register a release public key with the fleet (admin token).

    Example: territoire release register-key territoire-release.pub.pem --name "2026 key"
    """
    try:
        key = register_key(pub, name=name, fleet=fleet, token=token)
    except ReleaseError as exc:
        fail(str(exc))
    except FleetApiError as exc:
        fail(str(exc), 3)
    out.print(f"release key [bold]{key['kid']}[/] registered")


def _api(fleet: str, token: str, method: str, path: str, what: str, **kw: Any) -> Any:
    try:
        with httpx.Client(
            base_url=fleet.rstrip("/"), timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            return _check(client.request(method, API + path, **kw), what)
    except httpx.HTTPError as exc:
        fail(f"{what}: fleet unreachable at {fleet} ({exc})", 3)
    except FleetApiError as exc:
        fail(str(exc), 3)


def parse_group(text: str) -> dict[str, Any]:
    """``10%`` or ``5`` (nodes), then optional ``:success`` and ``:error`` fractions."""
    m = _GROUP.match(text)
    if m is None:
        fail(f"group {text!r}: write SIZE[:SUCCESS[:ERROR]], e.g. 5:1:0 or 25%:0.9:0.05")
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


def _show(r: dict[str, Any]) -> None:
    window = r["window"]
    out.print(
        f"rollout [bold]{r['id']}[/] {r['name']!r}: {r['version']} for {r['hardware']}, "
        f"[bold]{r['status']}[/]"
        + (f" ({r['paused_reason']})" if r["paused_reason"] else "")
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
            fail("--window: write HH:MM-HH:MM, e.g. 01:00-05:00")
        body["window"] = {"start": m.group(1), "end": m.group(2)}
    _show(_api(fleet, token, "POST", "/rollouts", "start rollout", json=body))


@rollout_app.command("status")
def rollout_status(
    rollout_id: Annotated[int, typer.Argument(min=1)], fleet: FleetOpt, token: TokenOpt
) -> None:
    """Progress per group and per node (the version each node reports running)."""
    _show(_api(fleet, token, "GET", f"/rollouts/{rollout_id}", "rollout status"))


def _action(action: str) -> None:
    def command(
        rollout_id: Annotated[int, typer.Argument(min=1)], fleet: FleetOpt, token: TokenOpt
    ) -> None:
        _show(_api(fleet, token, "POST", f"/rollouts/{rollout_id}/{action}", f"{action} rollout"))

    command.__doc__ = {
        "pause": "Pause: no node gets a new offer until resumed.",
        "resume": "Resume a paused rollout; the failures seen so far are accepted.",
        "abort": "Abort for good: no node gets the release from this rollout any more.",
    }[action]
    rollout_app.command(action)(command)


for _name in ("pause", "resume", "abort"):
    _action(_name)
