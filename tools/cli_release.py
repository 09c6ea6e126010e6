"""``territoire release ...``: the release manager's commands (``territoire rollout ...`` is
in ``tools/cli_rollout.py``).

Errors are printed as one line on stderr with a non-zero exit (1 usage or input, 2 local
failure such as a wrong passphrase, 3 the fleet refused or is unreachable); no traceback.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from tools.fleet_api import FleetApiError
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

__all__ = ["FleetOpt", "TokenOpt", "err", "fail", "out", "release_app"]

release_app = typer.Typer(help="Build, sign and publish firmware releases.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
PASSPHRASE_ENV = "TERRITOIRE_RELEASE_PASSPHRASE"  # noqa: S105 - a variable name

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
