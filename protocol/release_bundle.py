"""Release bundle files (docs/ota-rollouts.md): a plain ``.tar`` holding ``manifest`` (the
signed manifest; ``manifest.body`` before signing), ``files/<path>`` for every file and, when
the release manager wrote one, ``notes.txt``: the plain-language changelog the fleet's public
release log shows. The notes are not signed (a node never reads them): the hashes are.

Pure functions of bytes, shared by the release tool (build, sign) and the fleet (upload).
Reading is bounded before anything is parsed: the archive's size, its member count, each
member's size; only regular files with relative slot paths are accepted (no links, no
``..``, no absolute names). A refusal is a :class:`protocol.manifest.Refusal` with a stable
reason, never an exception.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from protocol.manifest import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_MANIFEST_BYTES,
    Manifest,
    Refusal,
    verify_signed,
)

__all__ = [
    "BODY_NAME",
    "MAX_BUNDLE_BYTES",
    "MAX_NOTES_CHARS",
    "NOTES_NAME",
    "SIGNED_NAME",
    "Bundle",
    "VerifiedBundle",
    "notes_problem",
    "pack",
    "unpack",
    "verify_bundle",
]

SIGNED_NAME = "manifest"
BODY_NAME = "manifest.body"
NOTES_NAME = "notes.txt"
FILES_PREFIX = "files/"
MAX_NOTES_CHARS = 4000  # a changelog in plain words, not a document
MAX_NOTES_BYTES = 4 * MAX_NOTES_CHARS  # UTF-8
# the files (MAX_TOTAL_BYTES), the manifest, the notes, and tar's 512-byte blocks around
# each member
MAX_BUNDLE_BYTES = 512 * 1024 + (MAX_FILES + 3) * 1024 + MAX_MANIFEST_BYTES + MAX_NOTES_BYTES


@dataclass(frozen=True, slots=True)
class Bundle:
    """A bundle's content, read but not yet trusted."""

    manifest: bytes | None  # signed manifest, None when the bundle is unsigned
    body: bytes | None  # unsigned BODY (before signing)
    files: Mapping[str, bytes]
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    manifest: Manifest
    signed: bytes
    files: Mapping[str, bytes]
    notes: str | None = None


def notes_problem(text: str) -> str | None:
    """Why ``text`` cannot be a release's notes, or None: bounded, printable text (line
    breaks and tabs allowed), shown as text wherever it appears."""
    if not text.strip():
        return "the notes are empty"
    if len(text) > MAX_NOTES_CHARS:
        return f"the notes hold {len(text)} characters (at most {MAX_NOTES_CHARS})"
    bad = next((c for c in text if (c < " " and c not in "\n\t") or c == "\x7f"), None)
    if bad is not None:
        return f"the notes hold a control character (U+{ord(bad):04X})"
    return None


def pack(
    *,
    files: Mapping[str, bytes],
    manifest: bytes | None = None,
    body: bytes | None = None,
    notes: str | None = None,
) -> bytes:
    """The ``.tar`` of a bundle, deterministic (sorted members, fixed owners and times)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        members: list[tuple[str, bytes]] = []
        if manifest is not None:
            members.append((SIGNED_NAME, manifest))
        if body is not None:
            members.append((BODY_NAME, body))
        if notes is not None:
            members.append((NOTES_NAME, notes.encode()))
        members += [(FILES_PREFIX + p, files[p]) for p in sorted(files)]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _member_limit(name: str) -> int:
    if name == NOTES_NAME:
        return MAX_NOTES_BYTES
    return MAX_MANIFEST_BYTES if name in (SIGNED_NAME, BODY_NAME) else MAX_FILE_BYTES


def unpack(data: bytes) -> Bundle | Refusal:
    """The members of a bundle, each bounded; refuses anything but a plain, small tar."""
    if len(data) > MAX_BUNDLE_BYTES:
        return Refusal("too_large", f"bundle of {len(data)} bytes (at most {MAX_BUNDLE_BYTES})")
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for count, info in enumerate(tar, start=1):
                if count > MAX_FILES + 3:
                    return Refusal("malformed", f"more than {MAX_FILES + 3} members")
                problem = _member_problem(info, found)
                if problem:
                    return Refusal("malformed", problem)
                if info.size > _member_limit(info.name):
                    return Refusal("too_large", f"{info.name}: {info.size} bytes")
                f = tar.extractfile(info)
                if f is None:
                    return Refusal("malformed", f"{info.name}: not a regular file")
                found[info.name] = f.read(info.size)
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:  # UnicodeError is one
        return Refusal("malformed", f"not a tar archive ({type(exc).__name__})")
    files = {n[len(FILES_PREFIX) :]: d for n, d in found.items() if n.startswith(FILES_PREFIX)}
    if not files:
        return Refusal("malformed", "the bundle holds no files/")
    notes: str | None = None
    if NOTES_NAME in found:
        try:
            notes = found[NOTES_NAME].decode()
        except UnicodeDecodeError:
            return Refusal("malformed", f"{NOTES_NAME}: not UTF-8 text")
        wrong = notes_problem(notes)
        if wrong:
            return Refusal("malformed", f"{NOTES_NAME}: {wrong}")
    return Bundle(found.get(SIGNED_NAME), found.get(BODY_NAME), files, notes)


def _member_problem(info: tarfile.TarInfo, found: Mapping[str, bytes]) -> str:
    name = info.name
    if not info.isreg():
        return f"{name}: only regular files are allowed (no links, devices, directories)"
    if name.startswith("/") or ".." in name.split("/") or "\\" in name:
        return f"{name}: path outside the bundle"
    if name not in (SIGNED_NAME, BODY_NAME, NOTES_NAME) and not name.startswith(FILES_PREFIX):
        return f"{name}: unexpected member"
    if name in found:
        return f"{name}: appears twice"
    return ""


def verify_bundle(data: bytes, keys: Mapping[str, rsa.RSAPublicKey]) -> VerifiedBundle | Refusal:
    """A bundle whose manifest is signed by one of ``keys`` and whose files are exactly the
    manifest's, byte for byte (size and SHA-256)."""
    bundle = unpack(data)
    if isinstance(bundle, Refusal):
        return bundle
    if bundle.manifest is None:
        return Refusal("unsigned", "the bundle has no signed manifest (territoire release sign)")
    manifest = verify_signed(bundle.manifest, keys)
    if isinstance(manifest, Refusal):
        return manifest
    listed = {f.path: f for f in manifest.files}
    if set(listed) != set(bundle.files):
        missing = sorted(set(listed) - set(bundle.files))
        extra = sorted(set(bundle.files) - set(listed))
        return Refusal(
            "malformed", f"files differ from the manifest: missing {missing}, extra {extra}"
        )
    for path, entry in listed.items():
        content = bundle.files[path]
        if len(content) != entry.size or hashlib.sha256(content).hexdigest() != entry.sha256:
            return Refusal("bad_hash", f"{path} does not match its manifest entry")
    return VerifiedBundle(manifest, bundle.manifest, dict(bundle.files), bundle.notes)
