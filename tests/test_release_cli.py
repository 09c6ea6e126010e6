"""The release manager's path through the real CLI and a real fleet process: keygen, build
with the real mpy-cross, sign, register the key, publish, start and pause a rollout; every bad
input ends in one clear message, a non-zero exit and no traceback, and the fleet keeps nothing
of a refused bundle."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from protocol.release_bundle import Bundle, pack, unpack
from tools.fleet_process import LocalFleet

CLI = str(Path(sys.executable).with_name("territoire"))
PASSPHRASE = "a long offline passphrase"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalFleet]:
    with LocalFleet(tmp_path_factory.mktemp("fleet")) as f:
        yield f


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("release")
    (d / "pass").write_text(PASSPHRASE + "\n")
    (d / "wrong").write_text("not the passphrase at all\n")
    return d


def run(*args: str | Path, fleet: LocalFleet | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(Path.home())}
    if fleet is not None:
        env |= {"TERRITOIRE_FLEET_URL": fleet.url, "TERRITOIRE_FLEET_TOKEN": fleet.token}
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def refused(p: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    text = " ".join((p.stdout + p.stderr).split())  # rich wraps long lines
    assert p.returncode == code, text
    assert "Traceback" not in text
    assert text.startswith("error:"), text
    for w in words:
        assert w in text, (w, text)


def releases(fleet: LocalFleet) -> list[dict[str, object]]:
    r = httpx.get(
        f"{fleet.url}/api/v1/releases", headers={"Authorization": f"Bearer {fleet.token}"}
    )
    out: list[dict[str, object]] = r.json()
    return out


@pytest.fixture(scope="module")
def signed(work: Path, fleet: LocalFleet) -> Path:
    """keygen, build (real mpy-cross), sign, register the key, publish: the happy path."""
    key = work / "release.pem"
    out = ok(run("release", "keygen", "--out", key, "--passphrase-file", work / "pass"))
    assert "release.pub.pem" in out
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    assert key.stat().st_mode & 0o077 == 0, "the private key is readable by its owner only"
    bundle = work / "fw-1.4.0.tar"
    out = ok(
        run(
            "release",
            "build",
            "--hw",
            "emu-x64",
            "--version",
            "1.4.0",
            "--secure-version",
            "1",
            "--expires-days",
            "30",
            "--out",
            bundle,
        )
    )
    assert "1.4.0 for emu-x64" in out
    content = unpack(bundle.read_bytes())
    assert isinstance(content, Bundle)
    assert content.manifest is None, "built bundles are unsigned"
    assert content.body is not None
    files = content.files
    assert "node.mpy" in files
    assert "boot.py" not in files
    assert "main.py" not in files, "the loader is never shipped"
    assert all(not p.startswith(("a/", "b/")) for p in files), "slot-relative paths"
    assert files["version.mpy"].startswith(b"M"), "compiled by mpy-cross"
    ok(run("release", "sign", bundle, "--key", key, "--passphrase-file", work / "pass"))
    ok(run("release", "register-key", work / "release.pub.pem", "--name", "test", fleet=fleet))
    out = ok(run("release", "publish", bundle, fleet=fleet))
    assert "1.4.0 for emu-x64" in " ".join(out.split())
    return bundle


def test_published_release_is_on_the_fleet(signed: Path, fleet: LocalFleet) -> None:
    assert [(r["version"], r["hardware"], r["secure_version"]) for r in releases(fleet)] == [
        ("1.4.0", "emu-x64", 1)
    ]


def test_wrong_passphrase_is_a_clear_error(signed: Path, work: Path) -> None:
    bundle = work / "again.tar"
    ok(run("release", "build", "--hw", "esp32", "--version", "1.4.1", "--out", bundle))
    p = run(
        "release",
        "sign",
        bundle,
        "--key",
        work / "release.pem",
        "--passphrase-file",
        work / "wrong",
    )
    refused(p, 2, "wrong passphrase")
    assert getattr(unpack(bundle.read_bytes()), "manifest", b"") is None, "left unsigned"


def _rewrite(src: Path, dst: Path, change: str) -> Path:
    content = unpack(src.read_bytes())
    files = dict(getattr(content, "files", {}))
    manifest = bytes(getattr(content, "manifest", b""))
    if change == "file":
        files["node.mpy"] = files["node.mpy"] + b"\x00"
    elif change == "signature":
        body, line, _ = manifest.split(b"\n")
        kid, sig = line.split(b" ")
        sig = sig[:20] + (b"A" if sig[20:21] != b"A" else b"B") + sig[21:]
        manifest = body + b"\n" + kid + b" " + sig + b"\n"
    dst.write_bytes(pack(files=files, manifest=manifest))
    return dst


@pytest.mark.parametrize(
    ("make", "words"),
    [
        ("unsigned", ("422", "unsigned")),
        ("signature", ("422", "bad_signature")),
        ("unknown_key", ("422", "unknown_key")),
        ("file", ("422", "bad_hash")),
        ("corrupt", ("422", "malformed")),
    ],
)
def test_bad_bundles_are_refused_by_the_fleet_and_nothing_is_stored(
    make: str, words: tuple[str, ...], signed: Path, work: Path, fleet: LocalFleet
) -> None:
    path = work / f"bad-{make}.tar"
    if make == "unsigned":
        ok(run("release", "build", "--hw", "emu-x64", "--version", "1.5.0", "--out", path))
    elif make == "unknown_key":
        other = work / "other.pem"
        if not other.exists():
            ok(run("release", "keygen", "--out", other, "--passphrase-file", work / "pass"))
        ok(run("release", "build", "--hw", "emu-x64", "--version", "1.5.0", "--out", path))
        ok(run("release", "sign", path, "--key", other, "--passphrase-file", work / "pass"))
    elif make == "corrupt":
        path.write_bytes(signed.read_bytes()[:700] + b"\xff" * 300)
    else:
        _rewrite(signed, path, make)
    refused(run("release", "publish", path, fleet=fleet), 3, *words)
    assert len(releases(fleet)) == 1, "only the good release is stored"


def test_signing_a_corrupt_or_foreign_file_is_a_clear_error(work: Path) -> None:
    junk = work / "junk.tar"
    junk.write_bytes(b"this is not a tar archive at all" * 40)
    p = run(
        "release", "sign", junk, "--key", work / "release.pem", "--passphrase-file", work / "pass"
    )
    refused(p, 2, "not a release bundle")
    link = io.BytesIO()
    with tarfile.open(fileobj=link, mode="w") as tar:
        info = tarfile.TarInfo("files/node.mpy")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/shadow"
        tar.addfile(info)
    (work / "link.tar").write_bytes(link.getvalue())
    p = run(
        "release",
        "sign",
        work / "link.tar",
        "--key",
        work / "release.pem",
        "--passphrase-file",
        work / "pass",
    )
    refused(p, 2, "regular files")
    refused(
        run(
            "release",
            "sign",
            work / "missing.tar",
            "--key",
            work / "release.pem",
            "--passphrase-file",
            work / "pass",
        ),
        2,
        "cannot read",
    )


def test_bad_build_inputs_are_clear_errors(work: Path) -> None:
    refused(
        run("release", "build", "--hw", "pdp11", "--version", "1.0.0", "--out", work / "x.tar"),
        1,
        "unknown hardware",
    )
    refused(
        run("release", "build", "--hw", "esp32", "--version", "1.0", "--out", work / "x.tar"),
        1,
        "MAJOR.MINOR.PATCH",
    )
    refused(
        run("release", "keygen", "--out", work / "release.pem", "--passphrase-file", work / "pass"),
        2,
        "never overwritten",
    )


def test_rollout_start_status_and_pause_through_the_cli(signed: Path, fleet: LocalFleet) -> None:
    rid = str(releases(fleet)[0]["id"])
    out = ok(
        run(
            "rollout",
            "start",
            "--release",
            rid,
            "--name",
            "canary",
            "--group",
            "2:1:0",
            "--group",
            "100%:0.95:0.05",
            "--window",
            "01:00-05:00",
            fleet=fleet,
        )
    )
    assert "running" in out
    assert "01:00-05:00" in out
    rollout_id = out.split("rollout ", 1)[1].split()[0]
    assert "paused (operator)" in ok(run("rollout", "pause", rollout_id, fleet=fleet))
    refused(run("rollout", "pause", rollout_id, fleet=fleet), 3, "409", "cannot pause")
    assert "paused" in ok(run("rollout", "status", rollout_id, fleet=fleet))
    refused(
        run("rollout", "start", "--release", rid, "--name", "x", "--group", "ten", fleet=fleet),
        1,
        "SIZE[:SUCCESS[:ERROR]]",
    )
    refused(run("rollout", "status", "999", fleet=fleet), 3, "404")
