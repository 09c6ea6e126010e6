"""The operator's commands: ``territoire login``, ``claim-codes``, ``zones``, ``profiles``,
``gateways``, ``tokens`` (docs/cli.md, "The operator's commands").

Everything local (files, output paths, values) is checked before the fleet is called; errors
are one line on stderr with the exit codes of ``tools/cli/errors.py`` (2 bad input, 3 the
fleet said no or is unreachable). Lists are tables, or JSON with ``--json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tools.cli.errors import Code, errors, fail
from tools.fleet_client import FleetClient, check_fleet_url
from tools.fleet_client import login as fleet_login

__all__ = [
    "claim_codes_app",
    "fleet_client",
    "gateways_app",
    "login",
    "out_file",
    "profiles_app",
    "tokens_app",
    "zones_app",
]

out = Console(highlight=False)

FleetOpt = Annotated[
    str | None,
    typer.Option("--fleet", envvar="TERRITOIRE_FLEET_URL", help="fleet base URL",
                 show_default=False),
]
TokenOpt = Annotated[
    str | None,
    typer.Option("--token", envvar="TERRITOIRE_FLEET_TOKEN", show_default=False,
                 help="operator API token (territoire login makes one)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for machines")]


@contextlib.contextmanager
def fleet_client(fleet: str | None, token: str | None) -> Iterator[FleetClient]:
    """A client for the fleet; the fleet's refusals become one line and exit 3."""
    if not fleet:
        fail("no fleet address: --fleet URL or env TERRITOIRE_FLEET_URL", Code.BAD_INPUT)
    if not token:
        fail("no API token: --token or env TERRITOIRE_FLEET_TOKEN (territoire login makes one)",
             Code.BAD_INPUT)
    try:
        url = check_fleet_url(fleet)
    except ValueError as exc:
        fail(str(exc), Code.BAD_INPUT)
    with errors(), FleetClient(url, token) as client:
        yield client


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]],
           title: str) -> None:
    table = Table(*(label for _, label in columns), title=title, title_justify="left")
    for row in rows:
        table.add_row(*("—" if row.get(key) is None else str(row[key]) for key, _ in columns))
    out.print(table)


def _day(value: str | None) -> str | None:
    return value[:16].replace("T", " ") if value else value


# -- output files: checked (and opened) before the fleet is called --------------------------


class _OutFile:
    """A new file written atomically; the temporary file beside it is made at once, so an
    unwritable place is known before anything changes at the fleet."""

    def __init__(self, path: Path, suffixes: tuple[str, ...], option: str) -> None:
        if path.suffix.lower() not in suffixes:
            fail(f"{option} {path}: the name must end in {' or '.join(suffixes)}", Code.BAD_INPUT)
        if path.exists():
            fail(f"{option} {path} exists: remove it or choose another name", Code.BAD_INPUT)
        self.path = path
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as exc:
            fail(f"{option} {path}: cannot write there ({exc.strerror or exc})", Code.BAD_INPUT)
        os.close(fd)
        self.tmp = Path(tmp)

    def write(self, data: bytes) -> None:
        try:
            self.tmp.write_bytes(data)
            os.link(self.tmp, self.path)  # never replaces a file made meanwhile
        except OSError as exc:
            fail(f"{self.path}: cannot write it ({exc.strerror or exc})", Code.BOARD)
        finally:
            self.tmp.unlink(missing_ok=True)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _maybe_out(path: Path | None, suffixes: tuple[str, ...], option: str,
               ) -> Iterator[_OutFile | None]:
    target = _OutFile(path, suffixes, option) if path is not None else None
    try:
        yield target
    finally:
        if target is not None:
            target.discard()


@contextlib.contextmanager
def out_file(path: Path, suffixes: tuple[str, ...], option: str) -> Iterator[_OutFile]:
    """A new file to write, checked (and its temporary file made) now: before any call."""
    with _maybe_out(path, suffixes, option) as target:
        assert target is not None
        yield target


# -- login -----------------------------------------------------------------------------------


def login(
    email: Annotated[str, typer.Option(help="your operator e-mail")],
    fleet: FleetOpt = None,
    password_file: Annotated[
        Path | None, typer.Option(help="file holding the password (else a prompt)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="the token's name (default: this host)")] = None,
    ttl_days: Annotated[int | None, typer.Option(min=1, max=3650, help="days it lasts")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Log in with your password and get an API token for the other commands (shown once).

    Example: territoire login --fleet https://fleet.angers.example --email ops@angers.example
    """
    if not fleet:
        fail("no fleet address: --fleet URL or env TERRITOIRE_FLEET_URL", Code.BAD_INPUT)
    try:
        url = check_fleet_url(fleet)
    except ValueError as exc:
        fail(str(exc), Code.BAD_INPUT)
    if password_file is not None:
        try:
            password = password_file.read_text().rstrip("\n")
        except (OSError, UnicodeError) as exc:
            fail(f"--password-file {password_file}: cannot read it ({exc})", Code.BAD_INPUT)
    else:
        password = typer.prompt("password", hide_input=True)
    with errors():
        created = fleet_login(url, email, password, name=name, ttl_days=ttl_days)
    if as_json:
        _print_json(created)
        return
    out.print(f"token [bold]{created['name']}[/] (id {created['id']}, role {created['role']}, "
              f"until {_day(created['expires_at'])}); it is shown this once:")
    print(f"export TERRITOIRE_FLEET_URL={url}\nexport TERRITOIRE_FLEET_TOKEN={created['token']}")


# -- claim codes ----------------------------------------------------------------------------

claim_codes_app = typer.Typer(help="Claim codes: the one-time labels that provision nodes.",
                              no_args_is_help=True)
_CODE_COLUMNS = [("id", "id"), ("hint", "ends with"), ("zone_id", "zone"),
                 ("gateway_id", "gateway"), ("profile_id", "profile"), ("node_id", "node id"),
                 ("expires_at", "expires"), ("used_at", "used / cancelled"),
                 ("used_by_node", "by node")]
_LABEL_SUFFIXES = (".svg", ".pdf")


def _labels_bytes(path: Path, rows: Sequence[dict[str, Any]]) -> bytes:
    from tools.node import labels

    sheet = [labels.Label(r["code"], tuple(x for x in (
        r.get("node_id") or "", f"zone {r['zone_id']}", f"profil {r['profile_id']}",
        f"#{r['id']}") if x)) for r in rows]
    if path.suffix.lower() == ".pdf":
        return labels.pdf(sheet)
    return labels.svg(sheet).encode()


def _code_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "expires_at": _day(r.get("expires_at")), "used_at": _day(r.get("used_at"))}
            for r in rows]


@claim_codes_app.command("create")
def claim_codes_create(
    *,
    zone: Annotated[str, typer.Option(help="zone id of the future nodes")],
    profile: Annotated[str, typer.Option(help="sensor profile id")],
    fleet: FleetOpt = None,
    token: TokenOpt = None,
    count: Annotated[int, typer.Option(min=1, max=1000, help="how many codes")] = 1,
    gateway: Annotated[str | None, typer.Option(help="gateway id of the nodes")] = None,
    node_id: Annotated[str | None, typer.Option(help="the node id to give (count 1)")] = None,
    ttl_days: Annotated[int | None, typer.Option(min=1, max=365, help="days valid")] = None,
    labels: Annotated[
        Path | None, typer.Option(help="also write the labels: FILE.svg or FILE.pdf")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create one-time claim codes; the codes are shown (and --labels printed) now.

    Example: territoire claim-codes create --zone centre-ville --profile air --gateway gw-centre
             --count 20 --labels labels.pdf
    """
    if node_id is not None and count != 1:
        fail("--node-id needs --count 1", Code.BAD_INPUT)
    body: dict[str, Any] = {"zone_id": zone, "profile_id": profile, "count": count,
                            "gateway_id": gateway}
    if node_id is not None:
        body["node_id"] = node_id
    if ttl_days is not None:
        body["ttl_days"] = ttl_days
    with _maybe_out(labels, _LABEL_SUFFIXES, "--labels") as sheet, fleet_client(fleet, token) as c:
        rows = c.call("POST", "/claim-codes", "create claim codes", json=body)
        if sheet is not None:
            sheet.write(_labels_bytes(sheet.path, rows))
    if as_json:
        _print_json(rows)
        return
    _table(_code_rows(rows), [("id", "id"), ("code", "code"), *_CODE_COLUMNS[2:7]],
           f"{len(rows)} claim code(s), shown this once")
    if labels is not None:
        out.print(f"labels: {labels}")


@claim_codes_app.command("list")
def claim_codes_list(
    fleet: FleetOpt = None,
    token: TokenOpt = None,
    unused: Annotated[bool, typer.Option(help="only codes not used nor cancelled")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List claim codes (their last four characters: the codes themselves are on labels).

    Example: territoire claim-codes list --unused
    """
    with fleet_client(fleet, token) as c:
        rows = c.all("/claim-codes", "list claim codes", {"unused": unused})
    if as_json:
        _print_json(rows)
        return
    _table(_code_rows(rows), _CODE_COLUMNS, f"{len(rows)} claim code(s)")


@claim_codes_app.command("revoke")
def claim_codes_revoke(
    code_ids: Annotated[list[int], typer.Argument(min=1, help="claim code ids")],
    fleet: FleetOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke (the fleet says cancel) unused claim codes: a lost or spoilt label.

    Example: territoire claim-codes revoke 12 13
    """
    done: list[dict[str, Any]] = []
    with fleet_client(fleet, token) as c:
        for code_id in code_ids:
            done.append(c.call("POST", f"/claim-codes/{code_id}/cancel",
                               f"revoke claim code {code_id}"))
    if as_json:
        _print_json(done)
        return
    out.print(f"revoked: {', '.join(str(r['id']) for r in done)}")


@claim_codes_app.command("labels")
def claim_codes_labels(
    out_path: Annotated[Path, typer.Option("--out", help="FILE.svg or FILE.pdf")],
    code_ids: Annotated[
        list[int] | None, typer.Argument(min=1, help="ids (default: every unused code)")
    ] = None,
    fleet: FleetOpt = None,
    token: TokenOpt = None,
) -> None:
    """Print labels again for unused codes (the fleet keeps them, sealed, until used).

    Example: territoire claim-codes labels --out labels.pdf 12 13 14
    """
    with out_file(out_path, _LABEL_SUFFIXES, "--out") as sheet, fleet_client(fleet, token) as c:
        if code_ids:
            rows = [c.call("GET", f"/claim-codes/{i}", f"claim code {i}") for i in code_ids]
        else:
            rows = c.all("/claim-codes", "list claim codes", {"unused": True})
        if not rows:
            fail("no unused claim code to print", Code.FAILED)
        rows = [{**r, "code": c.text(f"/claim-codes/{r['id']}/qr", f"claim code {r['id']}",
                                     params={"format": "txt"}).strip()} for r in rows]
        sheet.write(_labels_bytes(out_path, rows))
    out.print(f"{len(rows)} label(s): {out_path}")


# -- zones ------------------------------------------------------------------------------------

zones_app = typer.Typer(help="Zones: where nodes are, generalised (the district).",
                        no_args_is_help=True)


def _zone_row(z: dict[str, Any]) -> dict[str, Any]:
    b = z.get("boundary")
    polys = (0 if not b else 1 if b["type"] == "Polygon" else len(b["coordinates"]))
    centre = f"{z['lat']:.5f}, {z['lon']:.5f}" if z.get("lat") is not None else None
    return {**z, "centroid": centre, "outline": f"{polys} polygon(s)" if polys else None}


@zones_app.command("import")
def zones_import(
    file: Annotated[Path, typer.Argument(help="a GeoJSON FeatureCollection")],
    fleet: FleetOpt = None,
    token: TokenOpt = None,
    dry_run: Annotated[
        bool, typer.Option(help="check the file and show what would change")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create or update zones from GeoJSON: properties id and name, a (Multi)Polygon each.

    Example: territoire zones import data/zones/angers-quartiers.geojson
    """
    from pydantic import ValidationError

    from fleet.crud.registry import ZONE_IMPORT_FIELDS, zone_import_plan
    from fleet.models import ZoneCreate, ZonePublic
    from protocol.zones import ZonesError, load_zones_file

    try:
        # the whole file, checked by the fleet's own model, before the fleet hears of any zone
        zones = [ZoneCreate.model_validate({
            "id": z.id, "name": z.name, "description": z.description, "lat": z.lat,
            "lon": z.lon, "boundary": z.boundary}) for z in load_zones_file(file)]
    except ZonesError as exc:
        fail(f"{exc}; nothing imported", Code.BAD_INPUT)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "value"
        fail(f"zones file {file}: {where}: {first.get('msg', 'invalid')}; nothing imported",
             Code.BAD_INPUT)
    report: list[dict[str, Any]] = []
    with fleet_client(fleet, token) as c:
        existing = {z["id"]: ZonePublic.model_validate(z)
                    for z in c.all("/zones", "list zones")}
        for z, action in zone_import_plan(existing, zones):
            body = z.model_dump(mode="json")
            if not dry_run and action == "created":
                c.call("POST", "/zones", f"create zone {z.id} ({len(report)} done before)",
                       json=body)
            elif not dry_run and action == "updated":
                c.call("PATCH", f"/zones/{z.id}", f"update zone {z.id} ({len(report)} done "
                       "before)", json={k: body[k] for k in ZONE_IMPORT_FIELDS})
            report.append({**_zone_row(body), "action": action if not dry_run
                           else f"would be {action}"})
    if as_json:
        _print_json([{k: r[k] for k in ("id", "name", "lat", "lon", "action")} for r in report])
        return
    _table(report, [("id", "zone"), ("name", "name"), ("centroid", "centroid"),
                    ("outline", "outline"), ("action", "")], f"{file}: {len(report)} zone(s)")


@zones_app.command("list")
def zones_list(fleet: FleetOpt = None, token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """List the zones, their centroid and outline.

    Example: territoire zones list --json
    """
    with fleet_client(fleet, token) as c:
        rows = c.all("/zones", "list zones")
    if as_json:
        _print_json(rows)
        return
    _table([_zone_row(z) for z in rows], [("id", "zone"), ("name", "name"),
                                          ("centroid", "centroid"), ("outline", "outline")],
           f"{len(rows)} zone(s)")


# -- sensor profiles --------------------------------------------------------------------------

profiles_app = typer.Typer(help="Sensor profiles: what a kind of node measures and why.",
                           no_args_is_help=True)
_BOOL = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _profile_fields(file: Path | None, sets: list[str] | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
            doc = tomllib.loads(text) if file.suffix.lower() == ".toml" else json.loads(text)
        except (OSError, UnicodeError, ValueError) as exc:
            fail(f"{file}: cannot read a profile from it ({exc})", Code.BAD_INPUT)
        if not isinstance(doc, dict):
            fail(f"{file}: a profile is a JSON object or a TOML table", Code.BAD_INPUT)
        fields.update(doc)
    for item in sets or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--set {item!r}: write FIELD=VALUE, e.g. retention=30 jours", Code.BAD_INPUT)
        if key == "measures":
            fields[key] = [m.strip() for m in value.split(",") if m.strip()]
        elif key == "personal_data":
            if value.lower() not in _BOOL:
                fail(f"--set {item!r}: personal_data is true or false", Code.BAD_INPUT)
            fields[key] = _BOOL[value.lower()]
        else:
            fields[key] = value
    return fields


def _validated(model: Any, fields: dict[str, Any], what: str) -> dict[str, Any]:
    """The fleet's own model checks the profile here: a refusal costs no call."""
    from pydantic import ValidationError

    try:
        obj = model.model_validate(fields)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(p) for p in e.get("loc", ())) or "profile"
        fail(f"{what}: {loc}: {e.get('msg', 'invalid')}", Code.BAD_INPUT)
    unknown = set(fields) - set(model.model_fields)
    if unknown:
        fail(f"{what}: unknown fields: {', '.join(sorted(unknown))}", Code.BAD_INPUT)
    result: dict[str, Any] = obj.model_dump(mode="json", exclude_unset=True)
    return result


_PROFILE_COLUMNS = [("id", "profile"), ("name", "name"), ("measures", "measures"),
                    ("personal_data", "personal data"), ("retention", "retention")]
FileOpt = Annotated[Path | None, typer.Option("--file", help="a JSON or TOML profile")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="FIELD=VALUE (repeatable)")]


def _show_profile(p: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(p)
        return
    _table([{**p, "measures": ", ".join(p["measures"])}], _PROFILE_COLUMNS, "profile")


@profiles_app.command("list")
def profiles_list(fleet: FleetOpt = None, token: TokenOpt = None,
                  as_json: JsonOpt = False) -> None:
    """List the sensor profiles.

    Example: territoire profiles list
    """
    with fleet_client(fleet, token) as c:
        rows = c.all("/profiles", "list profiles")
    if as_json:
        _print_json(rows)
        return
    _table([{**p, "measures": ", ".join(p["measures"])} for p in rows], _PROFILE_COLUMNS,
           f"{len(rows)} profile(s)")


@profiles_app.command("create")
def profiles_create(file: FileOpt = None, set_: SetOpt = None, fleet: FleetOpt = None,
                    token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """Create a sensor profile from a file and/or FIELD=VALUE options (register fields).

    Example: territoire profiles create --file air.toml --set contact=capteurs@angers.fr
    """
    from fleet.models import ProfileCreate

    body = _validated(ProfileCreate, _profile_fields(file, set_), "profile")
    with fleet_client(fleet, token) as c:
        _show_profile(c.call("POST", "/profiles", "create profile", json=body), as_json)


@profiles_app.command("update")
def profiles_update(profile_id: Annotated[str, typer.Argument(help="profile id")],
                    file: FileOpt = None, set_: SetOpt = None, fleet: FleetOpt = None,
                    token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """Change fields of a sensor profile (only those given).

    Example: territoire profiles update air --set retention="13 mois"
    """
    from fleet.models import ProfileUpdate

    fields = _profile_fields(file, set_)
    fields.pop("id", None)
    if not fields:
        fail("nothing to change: give --file or --set", Code.BAD_INPUT)
    body = _validated(ProfileUpdate, fields, f"profile {profile_id}")
    with fleet_client(fleet, token) as c:
        _show_profile(c.call("PATCH", f"/profiles/{profile_id}", f"update profile {profile_id}",
                             json=body), as_json)


# -- gateways ---------------------------------------------------------------------------------

gateways_app = typer.Typer(help="Gateways as the fleet knows them (admin for changes).",
                           no_args_is_help=True)
_GW_COLUMNS = [("id", "gateway"), ("name", "name"), ("status", "status"),
               ("enrolled_at", "enrolled"), ("revoked_at", "revoked"),
               ("enroll_expires_at", "token expires")]


def _gw_row(g: dict[str, Any]) -> dict[str, Any]:
    return {**g, **{k: _day(g.get(k)) for k in ("enrolled_at", "revoked_at", "enroll_expires_at")}}


def _show_token(g: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(g)
        return
    out.print(f"gateway [bold]{g['id']}[/] ({g['status']}): enrollment token, shown this once, "
              f"valid until {_day(g['enroll_expires_at'])}:")
    print(g["enroll_token"])
    out.print(f"on the gateway: territoire gateway enroll --config "
              f"/etc/territoire/gateway.toml --token {g['enroll_token']}")


@gateways_app.command("create")
def gateways_create(
    gateway_id: Annotated[str, typer.Argument(help="gateway id, e.g. gw-centre")],
    name: Annotated[str, typer.Option(help="a name people recognise")],
    description: Annotated[str, typer.Option(help="where it is, who looks after it")] = "",
    fleet: FleetOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a gateway and its one-time enrollment token.

    Example: territoire gateways create gw-centre --name "Mairie, toit"
    """
    body = {"id": gateway_id, "name": name, "description": description}
    with fleet_client(fleet, token) as c:
        _show_token(c.call("POST", "/gateways", "create gateway", json=body), as_json)


@gateways_app.command("list")
def gateways_list(
    fleet: FleetOpt = None,
    token: TokenOpt = None,
    status: Annotated[str | None, typer.Option(help="pending, active or revoked")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the gateways and their status.

    Example: territoire gateways list --status pending
    """
    if status not in (None, "pending", "active", "revoked"):
        fail("--status: pending, active or revoked", Code.BAD_INPUT)
    with fleet_client(fleet, token) as c:
        rows = c.all("/gateways", "list gateways", {"status": status} if status else None)
    if as_json:
        _print_json(rows)
        return
    _table([_gw_row(g) for g in rows], _GW_COLUMNS, f"{len(rows)} gateway(s)")


@gateways_app.command("enroll-token")
def gateways_enroll_token(
    gateway_id: Annotated[str, typer.Argument(help="gateway id")],
    fleet: FleetOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A fresh one-time enrollment token (a new gateway, or one whose storage was replaced).

    Example: territoire gateways enroll-token gw-centre
    """
    with fleet_client(fleet, token) as c:
        _show_token(c.call("POST", f"/gateways/{gateway_id}/enroll-token",
                           f"enrollment token for {gateway_id}"), as_json)


@gateways_app.command("revoke")
def gateways_revoke(
    gateway_id: Annotated[str, typer.Argument(help="gateway id")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
    fleet: FleetOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Refuse a gateway from now on (then rotate its nodes' keys: it held their secrets).

    Example: territoire gateways revoke gw-centre --yes
    """
    if not yes and not typer.confirm(f"revoke gateway {gateway_id} for good?"):
        fail("not revoked", Code.FAILED)
    with fleet_client(fleet, token) as c:
        g = c.call("POST", f"/gateways/{gateway_id}/revoke", f"revoke gateway {gateway_id}")
    if as_json:
        _print_json(g)
        return
    out.print(f"gateway [bold]{g['id']}[/] revoked at {_day(g['revoked_at'])}")


# -- API tokens -------------------------------------------------------------------------------

tokens_app = typer.Typer(help="API tokens for the CLI and scripts.", no_args_is_help=True)
_TOKEN_COLUMNS = [("id", "id"), ("name", "name"), ("role", "role"), ("prefix", "starts with"),
                  ("operator_id", "operator"), ("created_at", "created"),
                  ("expires_at", "expires"), ("revoked_at", "revoked")]
OperatorOpt = Annotated[
    int | None, typer.Option("--operator", min=1, help="admin: another operator's id")
]


def _token_row(t: dict[str, Any]) -> dict[str, Any]:
    return {**t, **{k: _day(t.get(k)) for k in ("created_at", "expires_at", "revoked_at")}}


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="what the token is for")],
    role: Annotated[str | None, typer.Option(help="viewer or operator: less than yours")] = None,
    ttl_days: Annotated[int | None, typer.Option(min=1, max=3650, help="days it lasts")] = None,
    operator: OperatorOpt = None,
    fleet: FleetOpt = None,
    token: TokenOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API token (shown once), e.g. a read-only one for a script.

    Example: territoire tokens create --name "export nightly" --role viewer --ttl-days 90
    """
    if role not in (None, "viewer", "operator", "admin"):
        fail("--role: viewer, operator or admin", Code.BAD_INPUT)
    body: dict[str, Any] = {"name": name}
    if role is not None:
        body["role"] = role
    if ttl_days is not None:
        body["ttl_days"] = ttl_days
    params = {"operator_id": operator} if operator else None
    with fleet_client(fleet, token) as c:
        t = c.call("POST", "/tokens", "create token", json=body, params=params)
    if as_json:
        _print_json(t)
        return
    out.print(f"token [bold]{t['name']}[/] (id {t['id']}, role {t['role']}, until "
              f"{_day(t['expires_at'])}); it is shown this once:")
    print(t["token"])


@tokens_app.command("list")
def tokens_list(operator: OperatorOpt = None, fleet: FleetOpt = None, token: TokenOpt = None,
                as_json: JsonOpt = False) -> None:
    """List your API tokens (an admin: another operator's with --operator).

    Example: territoire tokens list
    """
    with fleet_client(fleet, token) as c:
        rows = c.all("/tokens", "list tokens", {"operator_id": operator} if operator else None)
    if as_json:
        _print_json(rows)
        return
    _table([_token_row(t) for t in rows], _TOKEN_COLUMNS, f"{len(rows)} token(s)")


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(min=1, help="token id")],
                  fleet: FleetOpt = None, token: TokenOpt = None,
                  as_json: JsonOpt = False) -> None:
    """Revoke an API token: it stops working at once.

    Example: territoire tokens revoke 7
    """
    with fleet_client(fleet, token) as c:
        t = c.call("POST", f"/tokens/{token_id}/revoke", f"revoke token {token_id}")
    if as_json:
        _print_json(t)
        return
    out.print(f"token {t['id']} ({t['name']}) revoked")
