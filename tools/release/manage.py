"""Release builds and signing (docs/ota-rollouts.md): keygen, build, sign, publish.

The release private key lives offline, encrypted with a passphrase (PKCS#8, AES-256); the
fleet only ever sees its public half. A build compiles a firmware tree (``firmware/`` by
default) with mpy-cross for one hardware target into an unsigned bundle (``manifest.body`` +
``files/``); signing replaces the body with the signed manifest. Every failure is a
:class:`ReleaseError` with a message; what can be checked locally (the output path, the source
tree, the version) is checked before anything is generated, compiled or written.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from protocol.manifest import (
    RSA_BITS,
    Manifest,
    Refusal,
    encode_body,
    file_entries,
    key_id,
    parse_version,
    sign_body,
)
from protocol.release_bundle import notes_problem, pack, unpack, verify_bundle
from tools import outfiles
from tools.fleet_client import FleetClient
from tools.outfiles import unwritable
from tools.release import bundle, bundle_check

__all__ = [
    "ARCH",
    "MIN_PASSPHRASE",
    "Built",
    "ReleaseError",
    "build",
    "check_key_paths",
    "check_source",
    "check_target",
    "check_writable",
    "keygen",
    "load_private_key",
    "public_key_path",
    "publish",
    "read_notes",
    "read_public_pem",
    "register_key",
    "release_files",
    "sign",
    "write_atomic",
]

ARCH = {"esp32": "xtensawin", "emu-x64": "x64"}  # mpy-cross -march per hardware target
LOADER = frozenset({"boot.py", "main.py"})  # never shipped by OTA: the root keeps them
SLOT_PREFIXES = ("a/", "b/")
MIN_PASSPHRASE = 12


class ReleaseError(Exception):
    """A release step failed; the message says what and what to do."""


def check_writable(path: Path, *, force: bool = False, what: str = "--out") -> None:
    """Raise ReleaseError unless a new ``path`` can be written: not there already (unless
    ``force``), not a directory, and its directory (or the nearest one that exists, as the
    write creates the missing ones) takes a new file. The last is probed by creating and
    removing a file there, since ``os.access`` says yes to root even on a read-only mount."""
    if path.is_dir():
        raise ReleaseError(f"{what} {path} is a directory: give a file name")
    if path.exists() and not force:
        raise ReleaseError(f"{what} {path} exists: choose another path, or add --force")
    why = unwritable(path.parent)
    if why is not None:
        raise ReleaseError(f"{what} {path}: {why}")


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Temporary file beside ``path``, then ``os.replace``: never half a file."""
    try:
        outfiles.write_atomic(path, data, mode)
    except OSError as exc:  # disk full, the directory changed under us...
        raise ReleaseError(f"cannot write {path}: {exc.strerror}") from None


def public_key_path(private: Path) -> Path:
    """Where keygen writes the public half of the key ``private``: ``KEY.pub.pem``."""
    return private.with_name(private.name.removesuffix(".pem") + ".pub.pem")


def check_key_paths(out: Path) -> Path:
    """Raise ReleaseError unless keygen can write ``out`` and its public half (returned)."""
    pub_path = public_key_path(out)
    for p in (out, pub_path):
        if p.exists() and not p.is_dir():
            raise ReleaseError(f"{p} exists: a release key is never overwritten")
        check_writable(p)
    return pub_path


def keygen(out: Path, passphrase: bytes) -> tuple[str, Path]:
    """A new RSA-3072 release key, encrypted; returns its key id and the public key file."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise ReleaseError(f"the passphrase needs at least {MIN_PASSPHRASE} characters")
    pub_path = check_key_paths(out)
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_atomic(out, private, 0o600)
    try:
        write_atomic(pub_path, public)
    except ReleaseError:
        out.unlink(missing_ok=True)  # a private key without its public half is of no use
        raise
    return key_id(key.public_key()), pub_path


def load_private_key(path: Path, passphrase: bytes) -> rsa.RSAPrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReleaseError(f"cannot read the key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError):
        raise ReleaseError(
            f"cannot open {path}: wrong passphrase, or not an encrypted release key"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != RSA_BITS:
        raise ReleaseError(f"{path} is not an RSA-{RSA_BITS} release key")
    return key


def _source_name(required: str) -> str:
    """A flash path of bundle_check.REQUIRED (``a/node``) as a file of the source tree."""
    name = required.removeprefix(bundle.FIRST_SLOT)
    return name if name.endswith(".py") else name + ".py"


SOURCE_REQUIRED = tuple(_source_name(r) for r in bundle_check.REQUIRED)


def check_source(root: Path) -> None:
    """Raise ReleaseError unless ``root`` is a firmware tree holding what a node needs (the
    files bundle_check requires of every bundle), so a wrong --source fails before mpy-cross."""
    if not root.is_dir():
        raise ReleaseError(f"--source {root} is not a directory")
    missing = [n for n in SOURCE_REQUIRED if not (root / n).is_file()]
    if missing:
        raise ReleaseError(
            f"--source {root} is not a firmware tree: {', '.join(missing)} missing"
            " (give a copy of firmware/)"
        )


def read_notes(text: str | None, path: Path | None) -> str | None:
    """The release notes from ``--notes TEXT`` or ``--notes-file F`` (not both), checked as the
    fleet checks them (protocol/release_bundle.py) before anything is built or sent."""
    if text is not None and path is not None:
        raise ReleaseError("give --notes or --notes-file, not both")
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeError) as exc:
            raise ReleaseError(f"cannot read --notes-file {path}: {exc}") from None
    if text is None:
        return None
    text = text.replace("\r\n", "\n").strip()
    problem = notes_problem(text)
    if problem:
        raise ReleaseError(f"--notes: {problem}")
    return text


def check_target(hardware: str, version: str) -> None:
    if hardware not in ARCH:
        raise ReleaseError(f"unknown hardware {hardware!r}: one of {', '.join(ARCH)}")
    if parse_version(version) is None:
        raise ReleaseError(f"version {version!r} is not MAJOR.MINOR.PATCH")


def release_files(
    hardware: str, version: str, root: Path = bundle.FIRMWARE_DIR
) -> dict[str, bytes]:
    """{slot path: compiled content}: the firmware tree ``root`` with ``version.py`` set to
    ``version``, compiled for the target and checked as a bundle for its chip (bundle_check);
    slot prefixes stripped, the loader (boot.py, main.py) left out."""
    check_target(hardware, version)
    check_source(root)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "firmware"
        try:
            shutil.copytree(root, src, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        except (OSError, shutil.Error) as exc:
            raise ReleaseError(f"cannot copy --source {root}: {exc}") from None
        (src / "version.py").write_text(
            f'# Firmware version, set by the release build.\nVERSION = "{version}"\n'
        )
        try:
            compiled = bundle.firmware_files(compiled=True, arch=ARCH[hardware], root=src)
            bundle_check.check_bundle(compiled, ARCH[hardware])
        except bundle.BundleError as exc:
            raise ReleaseError(str(exc)) from None
    out: dict[str, bytes] = {}
    for path, data in compiled.items():
        rel = next((path[len(p) :] for p in SLOT_PREFIXES if path.startswith(p)), path)
        if rel not in LOADER:
            out[rel] = data
    return out


@dataclass(frozen=True)
class Built:
    path: Path
    files: int
    total_bytes: int
    body: bytes
    source: Path
    arch: str
    sizes: tuple[tuple[str, int], ...]  # (slot path, bytes) of every file, sorted


def build(
    *,
    hardware: str,
    version: str,
    secure_version: int,
    expires_days: int,
    out: Path,
    now: int,
    root: Path = bundle.FIRMWARE_DIR,
    force: bool = False,
    notes: str | None = None,
) -> Built:
    """Compile ``root`` (the firmware tree) and write the unsigned bundle, with ``notes`` (the
    changelog, already read by :func:`read_notes`) in it. ``out`` must not exist unless
    ``force``; every input is checked before mpy-cross runs."""
    if not 1 <= expires_days <= 3650:
        raise ReleaseError("--expires-days must be 1..3650")
    check_target(hardware, version)
    check_source(root)
    check_writable(out, force=force)
    files = release_files(hardware, version, root)
    try:
        body = encode_body(
            version=version,
            hardware=hardware,
            secure_version=secure_version,
            expires=now + expires_days * 86400,
            created=now,
            files=file_entries(files),
        )
    except ValueError as exc:
        raise ReleaseError(f"cannot make the manifest: {exc}") from None
    write_atomic(out, pack(files=files, body=body, notes=notes))
    return Built(
        path=out,
        files=len(files),
        total_bytes=sum(len(d) for d in files.values()),
        body=body,
        source=root.resolve(),
        arch=ARCH[hardware],
        sizes=tuple(sorted((p, len(d)) for p, d in files.items())),
    )


def _read_bundle(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReleaseError(f"cannot read {path}: {exc.strerror}") from None


def sign(path: Path, key: rsa.RSAPrivateKey, out: Path | None = None) -> Manifest:
    """Sign a built bundle's manifest; the files are checked against it first."""
    content = unpack(_read_bundle(path))
    if isinstance(content, Refusal):
        raise ReleaseError(f"{path} is not a release bundle ({content.reason}: {content.detail})")
    if content.body is None:
        raise ReleaseError(f"{path} has no unsigned manifest (already signed?)")
    signed = sign_body(content.body, key)
    kid = key_id(key.public_key())
    data = pack(files=content.files, manifest=signed, notes=content.notes)
    checked = verify_bundle(data, {kid: key.public_key()})
    if isinstance(checked, Refusal):
        raise ReleaseError(f"{path} cannot be signed: {checked.reason}: {checked.detail}")
    write_atomic(out or path, data)
    return checked.manifest


def _post(fleet: str, token: str, path: str, what: str, **kw: object) -> dict[str, object]:
    with FleetClient(fleet, token, timeout=60) as client:
        result: dict[str, object] = client.call("POST", path, what, **kw)
        return result


def with_notes(data: bytes, notes: str) -> bytes:
    """The bundle ``data`` with its notes replaced (the notes are not signed: nothing else
    changes, and the file on disk is left as it is)."""
    content = unpack(data)
    if isinstance(content, Refusal):
        raise ReleaseError(f"not a release bundle ({content.reason}: {content.detail})")
    return pack(files=content.files, manifest=content.manifest, body=content.body, notes=notes)


def publish(path: Path, *, fleet: str, token: str, notes: str | None = None) -> dict[str, object]:
    """Upload a signed bundle; the fleet verifies it and refuses it whole otherwise. ``notes``
    replace those the bundle carries (from ``release build --notes``)."""
    data = _read_bundle(path)
    if notes is not None:
        data = with_notes(data, notes)
    return _post(
        fleet,
        token,
        "/releases",
        "publish",
        content=data,
        headers={"Content-Type": "application/x-tar"},
    )


def read_public_pem(pub_path: Path) -> str:
    """The PEM text of a public key file; a private key is refused here, before any network:
    it must never leave the release manager's media."""
    try:
        pem = pub_path.read_text()
    except (OSError, UnicodeError) as exc:
        raise ReleaseError(f"cannot read {pub_path}: {exc}") from None
    if "PRIVATE KEY-----" in pem:
        raise ReleaseError(
            f"{pub_path} is a private key: give its public key {public_key_path(pub_path)}"
            " instead (release keygen wrote it beside); the private key stays offline"
        )
    return pem


def register_key(pub_path: Path, *, name: str, fleet: str, token: str) -> dict[str, object]:
    pem = read_public_pem(pub_path)
    return _post(fleet, token, "/release-keys", "register key", json={"name": name, "pem": pem})
