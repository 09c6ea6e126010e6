"""Signed release manifests (docs/ota.md, "Manifest"). Pure functions of bytes and values.

A signed manifest is ``BODY + b"\\n" + KID + b" " + base64url(SIGNATURE) + b"\\n"``: BODY is the
compact JSON of the release (sorted keys), the signature is RSA-3072 PKCS#1 v1.5 over
SHA-256(BODY) by the release key named KID. RSA because the node verifies it in pure
MicroPython: one modular exponentiation with e = 65537 (17 multiplications) instead of the
hundreds of curve operations of Ed25519 (figures in docs/ota.md). The node compares the whole
expected encoding rather than parsing the padding, so there is no padding parser to fool.

Decoding never raises on input: it returns a :class:`Manifest` or a :class:`Refusal` with a
stable reason, the same labels the node reports.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "HARDWARE",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MAX_MANIFEST_BYTES",
    "MAX_TOTAL_BYTES",
    "FileEntry",
    "Manifest",
    "Refusal",
    "check_installable",
    "encode_body",
    "file_entries",
    "key_id",
    "parse_signed",
    "parse_version",
    "public_numbers",
    "sign_body",
    "verify_signed",
]

FORMAT = 1
HARDWARE = ("esp32", "emu-x64")  # xtensawin .mpy for the chip, x64 .mpy for the emulated board
MAX_FILES = 48
MAX_FILE_BYTES = 64 * 1024
MAX_TOTAL_BYTES = 384 * 1024  # a slot; two slots, the outbox (1 MiB) and config fit in 2 MiB
MAX_MANIFEST_BYTES = 8 * 1024
RSA_BITS = 3072
_PATH = re.compile(r"^[a-z0-9_]{1,24}(/[a-z0-9_]{1,24})?\.(mpy|py|json)$")
_VERSION = re.compile(r"^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$")
_KID = re.compile(r"^[0-9a-f]{16}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a manifest or release is refused: ``reason`` is a stable label (docs/ota.md)."""

    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    size: int
    sha256: str  # hex


@dataclass(frozen=True, slots=True)
class Manifest:
    version: str
    hardware: str
    secure_version: int
    expires: int  # unix seconds
    created: int
    files: tuple[FileEntry, ...]
    kid: str
    body: bytes
    digest: str  # SHA-256 hex of the whole signed manifest: its name on the wire and in caches

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``MAJOR.MINOR.PATCH`` with small non-negative integers, or None."""
    m = _VERSION.match(text)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def file_entries(files: Mapping[str, bytes]) -> list[FileEntry]:
    """Manifest entries of a bundle's files, sorted by path."""
    return [
        FileEntry(path, len(data), hashlib.sha256(data).hexdigest())
        for path, data in sorted(files.items())
    ]


def encode_body(
    *,
    version: str,
    hardware: str,
    secure_version: int,
    expires: int,
    created: int,
    files: Sequence[FileEntry],
) -> bytes:
    """The canonical BODY; raises ValueError on values a node would refuse."""
    if parse_version(version) is None:
        raise ValueError(f"version {version!r} is not MAJOR.MINOR.PATCH")
    if hardware not in HARDWARE:
        raise ValueError(f"hardware {hardware!r} is not one of {', '.join(HARDWARE)}")
    if not 0 <= secure_version <= 65535:
        raise ValueError("secure version must be 0..65535")
    if expires <= created:
        raise ValueError("the manifest must expire after it is made")
    problem = _files_problem(files)
    if problem:
        raise ValueError(problem)
    body = {
        "v": FORMAT,
        "ver": version,
        "hw": hardware,
        "sv": secure_version,
        "exp": expires,
        "made": created,
        "files": [[f.path, f.size, f.sha256] for f in files],
    }
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def _files_problem(files: Sequence[FileEntry]) -> str:
    if not 1 <= len(files) <= MAX_FILES:
        return f"a release holds 1 to {MAX_FILES} files"
    seen: set[str] = set()
    for f in files:
        if not _PATH.match(f.path) or f.path in ("boot.py", "main.py"):
            return f"file path {f.path!r} is not allowed in a slot"
        if f.path in seen:
            return f"file path {f.path!r} appears twice"
        seen.add(f.path)
        if not 0 < f.size <= MAX_FILE_BYTES:
            return f"{f.path}: size must be 1..{MAX_FILE_BYTES} bytes"
        if not _HEX64.match(f.sha256):
            return f"{f.path}: sha256 must be 64 lowercase hex digits"
    if sum(f.size for f in files) > MAX_TOTAL_BYTES:
        return f"the release exceeds {MAX_TOTAL_BYTES} bytes"
    return ""


def key_id(public_key: rsa.RSAPublicKey) -> str:
    """16 hex digits naming a release key: SHA-256 of its modulus, big-endian, truncated."""
    n = public_key.public_numbers().n
    return hashlib.sha256(n.to_bytes((n.bit_length() + 7) // 8, "big")).hexdigest()[:16]


def public_numbers(public_key: rsa.RSAPublicKey) -> tuple[int, int]:
    """(n, e): what a node's configuration holds of a release key."""
    nums = public_key.public_numbers()
    return nums.n, nums.e


def sign_body(body: bytes, private_key: rsa.RSAPrivateKey) -> bytes:
    """The signed manifest of BODY."""
    if private_key.key_size != RSA_BITS:
        raise ValueError(f"release keys are RSA-{RSA_BITS}")
    sig = private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())
    b64 = base64.urlsafe_b64encode(sig).rstrip(b"=")
    return body + b"\n" + key_id(private_key.public_key()).encode() + b" " + b64 + b"\n"


def parse_signed(data: bytes) -> tuple[bytes, str, bytes] | Refusal:
    """(BODY, KID, SIGNATURE) of a signed manifest, without checking the signature."""
    if len(data) > MAX_MANIFEST_BYTES:
        return Refusal("too_large", f"manifest of {len(data)} bytes")
    parts = data.split(b"\n")
    if len(parts) != 3 or parts[2] != b"":
        return Refusal("malformed", "expected BODY, signature line, final newline")
    body, sig_line = parts[0], parts[1]
    kid_b, _, sig_b64 = sig_line.partition(b" ")
    try:
        kid = kid_b.decode("ascii")
        sig = base64.urlsafe_b64decode(sig_b64 + b"=" * (-len(sig_b64) % 4))
    except (UnicodeDecodeError, ValueError):
        return Refusal("malformed", "signature line is not KID base64url")
    if not _KID.match(kid) or len(sig) != RSA_BITS // 8:
        return Refusal("malformed", "bad key id or signature length")
    return body, kid, sig


def verify_signed(data: bytes, keys: Mapping[str, rsa.RSAPublicKey]) -> Manifest | Refusal:
    """Check the signature against the trusted keys by id, then the body's shape."""
    parsed = parse_signed(data)
    if isinstance(parsed, Refusal):
        return parsed
    body, kid, sig = parsed
    key = keys.get(kid)
    if key is None:
        return Refusal("unknown_key", f"key {kid} is not trusted")
    try:
        key.verify(sig, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return Refusal("bad_signature", f"signature by {kid} does not match")
    return _decode_body(body, kid, hashlib.sha256(data).hexdigest())


def _decode_body(body: bytes, kid: str, digest: str) -> Manifest | Refusal:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Refusal("malformed", "body is not JSON")
    if not isinstance(obj, dict) or obj.get("v") != FORMAT:
        return Refusal("malformed", "not a version 1 manifest")
    ver, hw, raw_files = obj.get("ver"), obj.get("hw"), obj.get("files")
    sv, exp, made = obj.get("sv"), obj.get("exp"), obj.get("made")
    if not (
        isinstance(ver, str)
        and isinstance(hw, str)
        and isinstance(sv, int)
        and isinstance(exp, int)
        and isinstance(made, int)
    ) or any(isinstance(x, bool) for x in (sv, exp, made)):
        return Refusal("malformed", "field types")
    if not isinstance(raw_files, list):
        return Refusal("malformed", "files is not a list")
    files: list[FileEntry] = []
    for item in raw_files:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and type(item[1]) is int
            and isinstance(item[2], str)
        ):
            return Refusal("malformed", "file entry is not [path, size, sha256]")
        files.append(FileEntry(item[0], item[1], item[2]))
    try:
        canonical = encode_body(
            version=ver,
            hardware=hw,
            secure_version=sv,
            expires=exp,
            created=made,
            files=files,
        )
    except ValueError as exc:
        return Refusal("malformed", str(exc))
    if canonical != body:
        return Refusal("malformed", "body is not in canonical form")
    return Manifest(ver, hw, sv, exp, made, tuple(files), kid, body, digest)


def check_installable(
    manifest: Manifest,
    *,
    hardware: str,
    running_version: str,
    min_secure_version: int,
    now: int,
) -> Refusal | None:
    """The node's rules beyond the signature, in the order the node applies them."""
    if manifest.hardware != hardware:
        return Refusal("wrong_hw", f"built for {manifest.hardware}, this node is {hardware}")
    if manifest.expires <= now:
        return Refusal("expired", f"expired at {manifest.expires}")
    running = parse_version(running_version) or (0, 0, 0)
    if (parse_version(manifest.version) or (0, 0, 0)) <= running:
        return Refusal("downgrade", f"{manifest.version} is not newer than {running_version}")
    if manifest.secure_version < min_secure_version:
        return Refusal("secver", f"secure version {manifest.secure_version} < {min_secure_version}")
    return None
