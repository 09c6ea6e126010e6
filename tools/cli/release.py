"""``territoire release ...``: the release manager's commands (``territoire rollout ...`` is
in ``tools/cli/rollout.py``).

Errors are printed as one line on stderr with an exit code of docs/cli.md ("Exit codes"): 2 bad
input (fix the command or the file: unknown hardware, an existing or unwritable --out, a wrong
passphrase, a private key given for a public one...), 3 the fleet refused or is unreachable;
no traceback. Local checks come before anything is generated, compiled, written or sent.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tools.cli.errors import Code, errors, fail
from tools.release.bundle import FIRMWARE_DIR
from tools.release.manage import (
    ARCH,
    build,
    check_key_paths,
    keygen,
    load_private_key,
    publish,
    read_notes,
    register_key,
    sign,
)

__all__ = ["FleetOpt", "TokenOpt", "out", "release_app"]

release_app = typer.Typer(help="Build, sign and publish firmware releases.", no_args_is_help=True)
out = Console()
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
NotesOpt = Annotated[
    str | None,
    typer.Option("--notes", help="the release's changelog in plain words (shown publicly)"),
]
NotesFileOpt = Annotated[
    Path | None, typer.Option("--notes-file", help="a UTF-8 file holding the changelog")
]


def _passphrase(passphrase_file: Path | None, *, confirm: bool) -> bytes:
    if passphrase_file is not None:
        try:
            return passphrase_file.read_text().rstrip("\n").encode()
        except (OSError, UnicodeError) as exc:
            fail(f"cannot read the passphrase file: {exc}", Code.BAD_INPUT)
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

    Writes KEY.pem and, beside it, KEY.pub.pem (the public key to register); never overwrites.

    Example: territoire release keygen --out /media/usb/territoire-release.pem
    """
    with errors():
        check_key_paths(out_path)  # before asking for a passphrase
        kid, pub = keygen(out_path, _passphrase(passphrase_file, confirm=True))
    out.print(f"release key [bold]{kid}[/] written to {out_path} (encrypted)")
    out.print(f"public key: {pub} (register it with: territoire release register-key {pub})")


@release_app.command("build")
def build_cmd(  # noqa: PLR0917 - a typer command: one parameter per option
    hw: Annotated[str, typer.Option("--hw", help=f"hardware target: {', '.join(ARCH)}")],
    version: Annotated[str, typer.Option(help="MAJOR.MINOR.PATCH")],
    out_path: Annotated[Path, typer.Option("--out", help="bundle file to write (.tar)")],
    secure_version: Annotated[
        int, typer.Option(min=0, max=65535, help="nodes refuse anything below their highest")
    ] = 0,
    expires_days: Annotated[int, typer.Option(min=1, max=3650)] = 90,
    source: Annotated[
        Path,
        typer.Option(
            "--source",
            help="firmware tree to compile (a copy of firmware/)",
            show_default="the repository's firmware/",
        ),
    ] = FIRMWARE_DIR,
    force: Annotated[bool, typer.Option(help="replace an existing --out bundle")] = False,
    notes: NotesOpt = None,
    notes_file: NotesFileOpt = None,
) -> None:
    """Compile a firmware tree with mpy-cross into an unsigned release bundle.

    --notes (or --notes-file) is the changelog in plain words, carried in the bundle and shown
    on the fleet's public release log (at most 4000 characters; shown as text, never HTML).

    esp32 compiles with mpy-cross -march=xtensawin, emu-x64 (the emulated board) with -march=x64.
    Prints the tree and every file built; refuses an existing --out unless --force.

    Example: territoire release build --hw esp32 --version 1.4.0 --out fw-1.4.0-esp32.tar
    """
    with errors():
        text = read_notes(notes, notes_file)
        built = build(
            hardware=hw,
            version=version,
            secure_version=secure_version,
            expires_days=expires_days,
            out=out_path,
            now=int(time.time()),
            root=source,
            force=force,
            notes=text,
        )
    out.print(f"source: {built.source}", highlight=False, soft_wrap=True)
    for path, size in built.sizes:
        out.print(f"  {path:<28} {size:>7} bytes", highlight=False, soft_wrap=True)
    out.print(
        f"built {built.path}: {version} for {hw} (mpy-cross -march={built.arch}), "
        f"{built.files} files, {built.total_bytes} bytes (unsigned: run territoire release sign)",
        highlight=False,
        soft_wrap=True,
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
    with errors():
        private = load_private_key(key, _passphrase(passphrase_file, confirm=False))
        manifest = sign(bundle_path, private)
    out.print(
        f"signed {bundle_path}: {manifest.version} for {manifest.hardware} by key {manifest.kid},"
        f" manifest {manifest.digest[:16]}…"
    )


@release_app.command("publish")
def publish_cmd(
    bundle_path: Annotated[Path, typer.Argument(help="signed bundle")],
    fleet: FleetOpt,
    token: TokenOpt,
    notes: NotesOpt = None,
    notes_file: NotesFileOpt = None,
) -> None:
    """Upload a signed bundle to the fleet, which verifies it before keeping it.

    --notes or --notes-file replace the changelog the bundle carries (release build --notes).

    Example: territoire release publish fw-1.4.0-esp32.tar --fleet https://fleet.example
    """
    with errors():
        rel = publish(bundle_path, fleet=fleet, token=token, notes=read_notes(notes, notes_file))
    out.print(f"published release [bold]{rel['id']}[/]: {rel['version']} for {rel['hardware']}")


@release_app.command("register-key")
def register_key_cmd(
    pub: Annotated[Path, typer.Argument(help="public key file (KEY.pub.pem)")],
    fleet: FleetOpt,
    token: TokenOpt,
    name: Annotated[str, typer.Option(help="what this key is")] = "release key",
) -> None:
    """Register a release public key with the fleet (admin token); a private key is refused.

    Example: territoire release register-key territoire-release.pub.pem --name "2026 key"
    """
    with errors():
        key = register_key(pub, name=name, fleet=fleet, token=token)
    out.print(f"release key [bold]{key['kid']}[/] registered")
