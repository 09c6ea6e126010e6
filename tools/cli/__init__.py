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

from tools.cli.errors import Code, err, fail
from tools.cli.node import node_app
from tools.cli.ops import claim_codes_app, gateways_app, login, profiles_app, tokens_app, zones_app
from tools.cli.release import release_app
from tools.cli.rollout import rollout_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="Territoire: open, citizen-trusted sensing infrastructure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
gateway_app = typer.Typer(help="Run and manage a gateway.", no_args_is_help=True)
app.add_typer(gateway_app, name="gateway")
app.add_typer(release_app, name="release")
app.add_typer(rollout_app, name="rollout")
app.command("login")(login)
app.add_typer(claim_codes_app, name="claim-codes")
app.add_typer(zones_app, name="zones")
app.add_typer(profiles_app, name="profiles")
app.add_typer(gateways_app, name="gateways")
app.add_typer(tokens_app, name="tokens")


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
    from gateway.broker import BrokerError
    from gateway.config import ConfigError
    from gateway.main import GatewayRefused, NotEnrolled, enroll_hint, run_gateway
    from gateway.sealed_keys import SecretError

    try:
        run_gateway(config, manage_broker=manage_broker or None)
    except ConfigError as exc:
        fail(f"bad gateway configuration: {exc}", Code.BAD_INPUT)
    except NotEnrolled as exc:
        fail(f"{exc}: run `{enroll_hint(config)}` first", Code.FLEET)
    except GatewayRefused as exc:
        fail(f"{exc}: enroll it again (`{enroll_hint(config)}`, a new token from "
             "the fleet) or check its clock", Code.FLEET)
    except (BrokerError, OSError) as exc:
        # a port already in use, a data directory that cannot be written, no Mosquitto...
        fail(f"the gateway stopped: {exc}", Code.BOARD)
    except SecretError as exc:
        fail(f"the gateway stopped: {exc}: {SecretError.HINT}", Code.BOARD)


@gateway_app.command("enroll")
def gateway_enroll(
    config: Annotated[Path, typer.Option("--config", "-c", help="gateway TOML file")],
    token: Annotated[str, typer.Option(help="one-time enrollment token from the fleet")],
) -> None:
    """Enroll this gateway with the fleet (fleet.url and fleet.gateway_id in the config).

    Example: territoire gateway enroll --config /etc/territoire/gateway.toml --token T0K3N
    """
    from gateway.config import ConfigError
    from gateway.fleet_client import FleetError
    from gateway.main import DataDirError, enroll_gateway

    try:
        gateway_id, url = enroll_gateway(config, token)
    except ConfigError as exc:
        fail(f"bad gateway configuration: {exc}", Code.BAD_INPUT)
    except DataDirError as exc:
        fail(f"{exc} (the token is not spent: fix data_dir and enroll again)", Code.BOARD)
    except FleetError as exc:
        from gateway.config_file import load_settings

        fail(f"{exc} (fleet.url = {load_settings(config).fleet.url})", Code.FLEET)
    Console().print(f"gateway [bold]{gateway_id}[/] enrolled with {url}")


app.add_typer(node_app, name="node")

fleet_app = typer.Typer(help="Run and administer the fleet service.", no_args_is_help=True)
app.add_typer(fleet_app, name="fleet")
admin_app = typer.Typer(help="Operator accounts.", no_args_is_help=True)
fleet_app.add_typer(admin_app, name="admin")


@fleet_app.command("serve")
def fleet_serve(
    database_url: Annotated[
        str, typer.Option(envvar="TERRITOIRE_FLEET_DATABASE_URL", help="SQLAlchemy URL")
    ] = "sqlite:///./territoire-fleet.db",
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
) -> None:
    """Serve the fleet API, dashboard and public pages (migrates the database first).

    Example: TERRITOIRE_FLEET_MASTER_KEY_FILE=/etc/territoire/master.key \
             territoire fleet serve --database-url postgresql://fleet@db/fleet --workers 4
    """
    from fleet.core.config import ConfigError
    from fleet.core.db import DatabaseError, DatabaseUnavailable
    from fleet.main import serve

    try:
        serve(host, port, database_url, workers)
    except ConfigError as exc:
        fail(f"fleet configuration: {exc}", Code.BAD_INPUT)
    except DatabaseUnavailable as exc:
        fail(f"{exc}", Code.BOARD)
    except DatabaseError as exc:
        fail(f"--database-url: {exc}", Code.BAD_INPUT)


def _existing_fleet_database(url: str) -> str:
    """Checked while the options are parsed, so before the password is asked for."""
    from fleet.core.db import DatabaseError, check_database_url

    try:
        check_database_url(url, must_exist=True)
    except DatabaseError as exc:
        fail(f"cannot create the admin: {exc}", Code.BAD_INPUT)
    return url


@fleet_app.command("master-key")
def fleet_master_key(
    out: Annotated[Path, typer.Option(help="the key file to create (never overwritten)")],
) -> None:
    """Make the fleet's master key: 32 random bytes, base64, in a new file of mode 0400.

    It encrypts every node secret at rest: back it up apart from the database; point
    TERRITOIRE_FLEET_MASTER_KEY_FILE at it.

    Example: territoire fleet master-key --out /etc/territoire/master.key
    """
    import base64
    import os

    key = base64.urlsafe_b64encode(os.urandom(32))
    try:
        # O_EXCL: an existing key (and every secret it protects) is never replaced
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    except FileExistsError:
        fail(f"{out} exists: a master key is never overwritten", Code.BAD_INPUT)
    except OSError as exc:
        fail(f"cannot create {out}: {exc.strerror}", Code.BAD_INPUT)
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
        f.flush()
        os.fsync(f.fileno())
    Console().print(f"master key written to {out} (mode 0400): back it up apart from the "
                    "database")


@admin_app.command("create")
def fleet_admin_create(
    email: Annotated[str, typer.Option(help="the admin's e-mail (login)")],
    database_url: Annotated[
        str, typer.Option(envvar="TERRITOIRE_FLEET_DATABASE_URL", help="SQLAlchemy URL",
                          callback=_existing_fleet_database)
    ] = "sqlite:///./territoire-fleet.db",
    full_name: Annotated[str, typer.Option()] = "",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create an admin account (there is no default account). The password: at least 15
    characters (a few words will do), not a common or breached one (docs/security.md).

    Example: territoire fleet admin create --email admin@angers.example
    """
    from fleet.admin import create_admin

    try:
        op = create_admin(database_url=database_url, email=email, password=password,
                          full_name=full_name)
    except Exception as exc:  # the fleet's Conflict / ValidationError carry the message
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        fail(f"cannot create the admin: {first}", Code.BAD_INPUT)
    Console().print(f"admin [bold]{op.email}[/] created")


@admin_app.command("unlock")
def fleet_admin_unlock(
    email: Annotated[str, typer.Option(help="the locked operator's e-mail")],
    database_url: Annotated[
        str, typer.Option(envvar="TERRITOIRE_FLEET_DATABASE_URL", help="SQLAlchemy URL",
                          callback=_existing_fleet_database)
    ] = "sqlite:///./territoire-fleet.db",
) -> None:
    """Lift an operator's login lock and every address's failure count on the account
    (written to the audit log as done by "cli"). An admin can also do it in the dashboard
    (Operators) or with POST /api/v1/operators/{id}/unlock.

    Example: territoire fleet admin unlock --email ops@angers.example
    """
    from fleet.admin import unlock_operator

    try:
        op = unlock_operator(database_url=database_url, email=email)
    except Exception as exc:  # the fleet's NotFound / DatabaseError carry the message
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        fail(f"cannot unlock: {first}", Code.BAD_INPUT)
    Console().print(f"operator [bold]{op.email}[/] unlocked")


pi_image_app = typer.Typer(help="The emulated Raspberry Pi (CI and developers).",
                           no_args_is_help=True)
app.add_typer(pi_image_app, name="pi-image")


@pi_image_app.command("build")
def pi_image_build() -> None:
    """Build the emulated Pi userland (Debian bookworm arm64, Python 3.11, the gateway's
    aarch64 wheels) unless the cache has it; prints its directory.

    Example: territoire pi-image build
    """
    import time

    from tools.pi_image import ImageError, ensure_image

    t0 = time.monotonic()
    try:
        image = ensure_image()
    except ImageError as exc:
        fail(f"cannot build the Pi image: {exc}", Code.BAD_INPUT)
    m = image.manifest
    how = ("built" if time.monotonic() - t0 > m["build_seconds"] / 2
           else f"from the cache, built {m['built_at']}")
    Console().print(f"Pi image {image.path} (Python {m['python']} on {m['machine']}, "
                    f"{len(m['wheels'])} wheels; {how} in {m['build_seconds']} s)")


@pi_image_app.command("audit")
def pi_image_audit(
    requirements: Annotated[Path, typer.Option(help="pinned requirements")] = Path(
        "requirements/gateway.txt"),
) -> None:
    """Check that every pinned package has a wheel a Pi can install (aarch64 for CPython 3.11,
    or pure Python), fetching them into a temporary directory.

    Example: territoire pi-image audit --requirements requirements/gateway.txt
    """
    import tempfile

    from tools.pi_image import BOOKWORM, ImageError
    from tools.pi_image.wheels import download

    if not requirements.is_file():
        fail(f"no such requirements file: {requirements}", Code.BAD_INPUT)
    with tempfile.TemporaryDirectory(prefix="pi-audit-") as tmp:
        try:
            found = download(requirements, Path(tmp) / "wheels", BOOKWORM, Path(tmp) / "pip.log")
        except ImageError as exc:
            fail(f"{requirements}: {exc}", Code.BOARD)
    Console().print(f"{requirements}: {len(found)} packages, each with a wheel for the Pi")


@app.command()
def demo(
    nodes: Annotated[int, typer.Option(min=1, max=200, help="emulated nodes")] = 24,
    duration: Annotated[
        float | None, typer.Option(min=1, help="seconds (default: until Ctrl-C)")
    ] = None,
    summary: Annotated[Path | None, typer.Option(help="write a JSON summary here")] = None,
    interval: Annotated[float, typer.Option(min=0.5, help="seconds between readings")] = 5.0,
    workdir: Annotated[
        Path | None, typer.Option(help="keep the demo's files here (default: a temporary dir)")
    ] = None,
    zones: Annotated[
        Path | None, typer.Option(envvar="TERRITOIRE_ZONES_FILE",
                                  help="zones GeoJSON (default: data/zones, Angers' quartiers)")
    ] = None,
) -> None:
    """Run the whole chain locally: Mosquitto, gateway and emulated nodes over Angers.

    Example: territoire demo --nodes 6 --duration 60 --summary demo.json
    """
    import httpx

    from protocol.zones import ZonesError, load_zones_file
    from tools.demo import DemoOptions, run_demo
    from tools.fleet_client import FleetApiError

    if zones is not None:
        try:  # before anything starts
            load_zones_file(zones)
        except ZonesError as exc:
            fail(str(exc), Code.BAD_INPUT)
    try:
        result = run_demo(
            DemoOptions(
                nodes=nodes,
                duration=duration,
                summary=summary,
                interval_s=interval,
                live=sys.stdout.isatty(),
                workdir=workdir,
                zones_file=zones,
            )
        )
    except (RuntimeError, OSError, FleetApiError, httpx.HTTPError) as exc:
        # every part it started is stopped by now (run_demo's finally blocks)
        fail(f"the demo could not run: {exc}", Code.FAILED)
    Console().print(
        f"[bold]demo finished[/]: {result['nodes_started']} nodes, "
        f"{result['readings_accepted']} readings accepted, "
        f"{result['readings_rejected']} rejected"
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(int(Code.INTERRUPTED))
