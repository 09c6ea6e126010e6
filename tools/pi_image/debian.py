"""The Debian side of the emulated Pi: which mirror, debootstrap's first stage, and unpacking
the rest of the packages it fetched, without running any of their scripts (no binfmt needed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tools.pi_image.spec import ImageError, Target

__all__ = ["bootstrap", "find_mirror", "mirror_from_sources", "unpack_remaining"]

SOURCES = Path("/etc/apt")
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
MIRROR_ENV = "TERRITOIRE_DEBIAN_MIRROR"


def _one_line_sources(text: str, suite: str) -> list[str]:
    uris = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if words[:1] != ["deb"]:
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # options: [arch=amd64 signed-by=...]
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2 and words[1] == suite:
            uris.append(words[0])
    return uris


def _deb822_sources(text: str, suite: str) -> list[str]:
    uris = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" in fields.get("types", "").split() and suite in fields.get("suites", "").split():
            uris.extend(fields.get("uris", "").split())
    return uris


def mirror_from_sources(files: Mapping[str, str], suite: str) -> str | None:
    """The first Debian archive serving ``suite`` in apt's source files (name -> text).

    Only the names apt itself reads count (``*.list``, ``*.sources``), in apt's order:
    ``sources.list`` first, then the others by name."""
    def order(name: str) -> tuple[int, str]:
        return (0 if Path(name).name == "sources.list" else 1, name)

    for name in sorted(files, key=order):
        if name.endswith(".list"):
            uris = _one_line_sources(files[name], suite)
        elif name.endswith(".sources"):
            uris = _deb822_sources(files[name], suite)
        else:
            continue
        if uris:
            return uris[0].rstrip("/")
    return None


def find_mirror(target: Target, env: Mapping[str, str] = os.environ) -> str:
    """The mirror this machine's apt uses (or ``TERRITOIRE_DEBIAN_MIRROR``)."""
    if env.get(MIRROR_ENV):
        return env[MIRROR_ENV].rstrip("/")
    paths = [SOURCES / "sources.list", *sorted((SOURCES / "sources.list.d").glob("*"))]
    files = {str(p): p.read_text(errors="replace") for p in paths if p.is_file()}
    mirror = mirror_from_sources(files, target.suite)
    if mirror is None:
        raise ImageError(
            f"no Debian mirror for {target.suite} in {SOURCES}/sources.list or "
            f"{SOURCES}/sources.list.d/: set {MIRROR_ENV}=http://<mirror>/debian"
        )
    return mirror


def _require(binary: str, package: str) -> str:
    found = shutil.which(binary)
    if found is None:
        raise ImageError(f"{binary} not found: run `make venv` (Debian package {package})")
    return found


def bootstrap(root: Path, target: Target, mirror: str, log: Path) -> None:
    """debootstrap's first stage: downloads every package and unpacks the essential ones."""
    debootstrap = _require("debootstrap", "debootstrap")
    if os.geteuid() != 0:
        raise ImageError("building the Pi image needs root: debootstrap creates root-owned "
                         "files and device nodes (CI and the dev machines run as root)")
    cmd = [debootstrap, "--foreign", f"--arch={target.arch}", "--variant=minbase",
           f"--include={','.join(target.include)}", f"--keyring={KEYRING}",
           target.suite, str(root), mirror]
    with log.open("ab") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False,  # noqa: S603
                            timeout=900).returncode
    if rc != 0:
        tail = log.read_text(errors="replace")[-1500:]
        raise ImageError(f"debootstrap {target.suite}/{target.arch} from {mirror} failed "
                         f"(exit {rc}):\n{tail}")


def unpack_remaining(root: Path, log: Path) -> list[str]:
    """Unpack the packages the first stage fetched but left packed (python3 among them).

    tar keeps merged /usr's directory symlinks (bin -> usr/bin); ``dpkg -x`` alone would
    replace them with directories. Returns the package names unpacked."""
    dpkg_deb = _require("dpkg-deb", "dpkg")
    state = root / "debootstrap"
    required = set((state / "required").read_text().split())
    paths = dict(line.split(None, 1) for line in (state / "debpaths").read_text().splitlines()
                 if line.strip())
    done = []
    with log.open("ab") as out:
        for name in sorted(set(paths) - required):
            deb = root / paths[name].strip().lstrip("/")
            data = subprocess.Popen([dpkg_deb, "--fsys-tarfile", str(deb)],  # noqa: S603
                                    stdout=subprocess.PIPE, stderr=out)
            untar = ["tar", "-x", "-C", str(root), "--keep-directory-symlink"]
            tar = subprocess.run(untar, stdin=data.stdout, stderr=out,  # noqa: S603
                                 check=False)
            if data.stdout is not None:
                data.stdout.close()
            if data.wait() != 0 or tar.returncode != 0:
                raise ImageError(f"cannot unpack {deb.name} into the Pi image (see {log})")
            done.append(name)
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()  # unpacked: the archives would only double the image's size
    return done
