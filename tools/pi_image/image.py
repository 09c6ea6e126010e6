"""Build (once) and use the emulated Raspberry Pi userland.

``ensure_image`` returns the cached image for the current inputs, building it first when
there is none: into a temporary directory, renamed into place only when complete, under a
lock, so an interrupted or concurrent build never leaves a half image that looks valid.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.pi_image import debian, wheels
from tools.pi_image.spec import BOOKWORM, ImageError, Target, cache_key, to_prune

__all__ = ["PiImage", "ensure_image", "image_key", "python_env", "stage_gateway"]

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements/gateway.txt"
QEMU = "qemu-aarch64-static"
SITE = "/opt/territoire/site-packages"  # where the gateway's wheels go, inside the image
MANIFEST = "manifest.json"
_PROBE = (
    "import json, platform, sqlite3, ssl, sys, importlib\n"
    "failed = {}\n"
    "for m in sys.argv[1:]:\n"
    "    try:\n"
    "        importlib.import_module(m)\n"
    "    except Exception as exc:\n"
    "        failed[m] = repr(exc)\n"
    "print(json.dumps({'machine': platform.machine(), 'python': platform.python_version(),"
    " 'openssl': ssl.OPENSSL_VERSION, 'sqlite': sqlite3.sqlite_version, 'failed': failed}))\n"
)


@dataclass(frozen=True)
class PiImage:
    path: Path  # the cache entry: root/, manifest.json, build.log
    manifest: dict[str, Any]
    target: Target = BOOKWORM

    @property
    def root(self) -> Path:
        return self.path / "root"

    def python_argv(self, *args: str) -> list[str]:
        """Run the image's Python 3.11 under qemu-user, the image as its filesystem root
        (-L: absolute paths resolve in the image first, then on the host). -s -P: no user
        site, and not the working directory on sys.path (a checkout there would shadow the
        code given on PYTHONPATH)."""
        qemu = shutil.which(QEMU)
        if qemu is None:
            raise ImageError(f"{QEMU} not found: run `make venv` (Debian package "
                             "qemu-user-static)")
        python = str(self.root) + self.target.python_exe
        return [qemu, "-L", str(self.root), python, "-s", "-P", *args]


def python_env(app: Path | None, base: Mapping[str, str]) -> dict[str, str]:
    """The emulated Python's environment: the project code in ``app``, the image's wheels,
    nothing from the host's virtualenv."""
    env = {k: v for k, v in base.items()
           if k not in ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP")}
    path = SITE if app is None else f"{app}:{SITE}"
    env.update(PYTHONPATH=path, PYTHONNOUSERSITE="1", LC_ALL="C.UTF-8")
    return env


def stage_gateway(dest: Path) -> Path:
    """The gateway's code as a Pi holds it: the ``gateway`` and ``protocol`` packages only, so
    an import of anything else (tools, fleet, a workstation-only library) fails there too."""
    for package in ("gateway", "protocol"):
        shutil.copytree(REPO / package, dest / package, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def cache_root(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("TERRITOIRE_PI_IMAGE_CACHE"):
        return Path(env["TERRITOIRE_PI_IMAGE_CACHE"])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "territoire" / "pi-image"


def image_key(target: Target = BOOKWORM, requirements: Path = REQUIREMENTS) -> str:
    here = Path(__file__).resolve().parent
    sources = {p.name: p.read_bytes() for p in sorted(here.glob("*.py"))}
    return cache_key(target, requirements.read_bytes(), sources)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # another build of the same key: wait for it
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _load(path: Path, target: Target) -> PiImage | None:
    try:
        return PiImage(path, json.loads((path / MANIFEST).read_text()), target)
    except (OSError, ValueError):
        return None


def ensure_image(target: Target = BOOKWORM, requirements: Path = REQUIREMENTS,
                 root: Path | None = None) -> PiImage:
    """The image for these inputs, built now if it is not in the cache."""
    root = root or cache_root()
    key = image_key(target, requirements)
    found = _load(root / key, target)
    if found is not None:
        return found
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f".{key}.lock"):
        found = _load(root / key, target)
        if found is not None:
            return found  # built by the process we waited for
        for stale in root.glob(f".tmp-{key}-*"):
            shutil.rmtree(stale)  # an interrupted build of this key (we hold its lock)
        if (root / key).exists():
            shutil.rmtree(root / key)  # unreadable manifest: a power cut right after a build
        tmp = root / f".tmp-{key}-{os.getpid()}"
        tmp.mkdir()
        try:
            manifest = _build(tmp, target, requirements, key)
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            os.rename(tmp, root / key)  # atomic: the image appears complete or not at all
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    _prune(root, key)
    image = _load(root / key, target)
    if image is None:
        raise ImageError(f"the Pi image in {root / key} vanished right after its build")
    return image


def _prune(root: Path, key: str) -> None:
    images = [(p.name, p.stat().st_mtime) for p in root.iterdir()
              if p.is_dir() and not p.name.startswith(".")]
    for name in to_prune(images, key, keep=2):
        shutil.rmtree(root / name, ignore_errors=True)
        (root / f".{name}.lock").unlink(missing_ok=True)


def _build(tmp: Path, target: Target, requirements: Path, key: str) -> dict[str, Any]:
    t0 = time.monotonic()
    log = tmp / "build.log"
    rootfs = tmp / "root"
    # the wheels first: a package without an aarch64 wheel fails in seconds, not minutes
    wheel_files = wheels.download(requirements, tmp / "wheels", target, log)
    mirror = debian.find_mirror(target)
    debian.bootstrap(rootfs, target, mirror, log)
    unpacked = debian.unpack_remaining(rootfs, log)
    site = rootfs / SITE.lstrip("/")
    wheels.install(wheel_files, site, target, log)
    shutil.rmtree(tmp / "wheels")
    modules = sorted({m for rec in site.glob("*.dist-info/RECORD")
                      for m in wheels.importable_modules(
                          (line.split(",", 1)[0] for line in rec.read_text().splitlines()),
                          target.python_tag)})
    probe = _probe(PiImage(tmp, {}, target), modules)
    want = ".".join(map(str, target.python))
    if probe["machine"] != target.machine or not probe["python"].startswith(want + "."):
        raise ImageError(f"the image's Python is {probe['python']} on {probe['machine']}, "
                         f"not {want} on {target.machine}")
    if probe["failed"]:
        raise ImageError(f"compiled modules that do not load on {target.machine}: "
                         f"{probe['failed']}")
    return {
        "key": key, "suite": target.suite, "arch": target.arch, "mirror": mirror,
        "machine": probe["machine"], "python": probe["python"], "openssl": probe["openssl"],
        "sqlite": probe["sqlite"], "debian_packages_unpacked": unpacked,
        "wheels": [f.name for f in wheel_files], "modules_checked": modules,
        "build_seconds": round(time.monotonic() - t0, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _probe(image: PiImage, modules: list[str]) -> dict[str, Any]:
    env = python_env(None, os.environ)
    result = subprocess.run(image.python_argv("-c", _PROBE, *modules),  # noqa: S603
                            capture_output=True, text=True, env=env, check=False, timeout=300)
    if result.returncode != 0:
        raise ImageError(f"the image's Python does not run under {QEMU}:\n"
                         f"{result.stderr[-1500:]}")
    probe: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return probe
