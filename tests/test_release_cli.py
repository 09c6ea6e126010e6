"""The release manager's path through the real CLI and a real fleet process: keygen, build
with the real mpy-cross (for the ESP32's xtensawin and the emulator's x64), sign, register the
key, publish, start, watch and pause a rollout; every bad input ends in one line on stderr, the
exit code of docs/cli.md and no traceback, checked before anything is written or sent, and the
fleet keeps nothing of a refused bundle."""

from __future__ import annotations

import hashlib
import io
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from protocol.release_bundle import Bundle, pack, unpack
from tools.demo.local_fleet import LocalFleet
from tools.release.bundle import FIRMWARE_DIR
from tools.release.bundle_check import ARCH as MPY_ARCH

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


def _env(fleet: LocalFleet | None) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(Path.home())}
    if fleet is not None:
        env |= {"TERRITOIRE_FLEET_URL": fleet.url, "TERRITOIRE_FLEET_TOKEN": fleet.token}
    return env


def run(*args: str | Path, fleet: LocalFleet | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        env=_env(fleet),
        timeout=300,
        check=False,
    )


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def refused(p: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """Exit ``code``, nothing on stdout, one line on stderr naming ``words``, no traceback."""
    text = p.stdout + p.stderr
    assert p.returncode == code, text
    assert "Traceback" not in text
    assert p.stdout == "", text
    assert p.stderr.startswith("error:"), text
    assert p.stderr.count("\n") == 1, f"one line, however long: {p.stderr!r}"
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
        2,
        "unknown hardware",
    )
    refused(
        run("release", "build", "--hw", "esp32", "--version", "1.0", "--out", work / "x.tar"),
        2,
        "MAJOR.MINOR.PATCH",
    )
    assert not (work / "x.tar").exists()
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
        2,
        "SIZE[:SUCCESS[:ERROR]]",
    )
    refused(run("rollout", "status", "999", fleet=fleet), 3, "404")


def _arch_of(mpy: bytes) -> int:
    """The native architecture in a .mpy header (0: no native code), as bundle_check reads it."""
    assert mpy[:2] == b"M\x06", "a .mpy of the format the board reads"
    return mpy[2] >> 2


def _files(bundle: Path) -> dict[str, bytes]:
    content = unpack(bundle.read_bytes())
    assert isinstance(content, Bundle)
    return dict(content.files)


def test_esp32_build_compiles_the_given_tree_for_xtensawin_and_lists_what_it_built(
    work: Path,
) -> None:
    src = work / "esp32-src"
    shutil.copytree(FIRMWARE_DIR, src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "extra.py").write_text("LABEL = 'only in this tree'\n")
    bundle = work / "fw-2.0.0-esp32.tar"
    out = ok(
        run(
            "release",
            "build",
            "--hw",
            "esp32",
            "--version",
            "2.0.0",
            "--source",
            src,
            "--out",
            bundle,
        )
    )
    files = _files(bundle)
    assert "extra.mpy" in files, "built from --source, not from the repository's firmware/"
    # sensors/sound.py has @micropython.native code: its header carries the target chip
    assert _arch_of(files["sensors/sound.mpy"]) == MPY_ARCH["xtensawin"]
    assert {_arch_of(d) for p, d in files.items() if p.endswith(".mpy")} <= {
        0,
        MPY_ARCH["xtensawin"],
    }
    lines = out.splitlines()
    assert lines[0] == f"source: {src.resolve()}"
    listed = {ln.split()[0]: int(ln.split()[1]) for ln in lines[1:-1]}
    assert listed == {p: len(d) for p, d in files.items()}, "every file built, with its size"
    assert "2.0.0 for esp32 (mpy-cross -march=xtensawin)" in lines[-1]
    assert f"{len(files)} files" in lines[-1]


def test_emulator_build_is_compiled_for_x64(signed: Path) -> None:
    assert _arch_of(_files(signed)["sensors/sound.mpy"]) == MPY_ARCH["x64"]


def test_existing_bundle_is_kept_without_force_and_replaced_with_it(work: Path) -> None:
    bundle = work / "fw-force.tar"
    ok(run("release", "build", "--hw", "emu-x64", "--version", "3.0.0", "--out", bundle))
    before = bundle.read_bytes()
    p = run("release", "build", "--hw", "emu-x64", "--version", "3.0.1", "--out", bundle)
    refused(p, 2, str(bundle), "exists", "--force")
    assert bundle.read_bytes() == before, "the existing bundle is untouched"
    ok(run("release", "build", "--hw", "emu-x64", "--version", "3.0.1", "--out", bundle, "--force"))
    content = unpack(bundle.read_bytes())
    assert isinstance(content, Bundle)
    assert content.body is not None
    assert b'"ver":"3.0.1"' in content.body


def _entries(d: Path) -> set[str]:
    return {p.relative_to(d).as_posix() for p in d.rglob("*")}


def test_unwritable_out_is_one_line_and_nothing_is_written(work: Path) -> None:
    d = work / "unwritable"
    d.mkdir()
    (d / "afile").write_text("a file, not a directory\n")
    (d / "adir").mkdir()
    before = _entries(d)
    # a path under a regular file, a directory, and /proc (no file can be made there, even by
    # root, for whom a mode 0500 directory is writable)
    for target, words in [
        (d / "afile" / "out", ("is not a directory",)),
        (d / "adir", ("is a directory",)),
        (Path("/proc/territoire-test/out"), ("cannot write in /proc",)),
    ]:
        tar = target.with_suffix(".tar") if target.name == "out" else target
        refused(
            run("release", "build", "--hw", "esp32", "--version", "1.0.0", "--out", tar), 2, *words
        )
        pem = target.with_suffix(".pem") if target.name == "out" else target
        p = run("release", "keygen", "--out", pem, "--passphrase-file", work / "pass")
        refused(p, 2, *words)
    assert _entries(d) == before, "nothing written, no directory made, no temporary file left"
    assert (d / "afile").read_text() == "a file, not a directory\n"


def test_keygen_with_an_unwritable_public_half_writes_no_private_key(work: Path) -> None:
    d = work / "halfkey"
    d.mkdir()
    (d / "k.pub.pem").mkdir()  # the public key's path is taken by a directory
    p = run("release", "keygen", "--out", d / "k.pem", "--passphrase-file", work / "pass")
    refused(p, 2, "k.pub.pem")
    assert _entries(d) == {"k.pub.pem"}, "no private key without its public half"


def test_a_source_tree_without_what_a_node_needs_is_refused_before_compiling(
    work: Path,
) -> None:
    src = work / "partial-src"
    shutil.copytree(FIRMWARE_DIR, src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "node.py").unlink()
    (src / "selftest.py").unlink()
    out = work / "partial.tar"
    args = ("release", "build", "--hw", "esp32", "--version", "1.0.0", "--out", out)
    refused(run(*args, "--source", src), 2, str(src), "node.py, selftest.py missing")
    refused(run(*args, "--source", work / "no-such-dir"), 2, "is not a directory")
    (src / "node.py").write_text("def broken(:\n")
    (src / "selftest.py").write_text("\n")
    refused(run(*args, "--source", src), 2, "mpy-cross failed on node.py line 1: SyntaxError")
    assert not out.exists()


def test_register_key_refuses_a_private_key_and_names_the_public_one(
    signed: Path, work: Path, fleet: LocalFleet
) -> None:
    def keys() -> list[dict[str, object]]:
        r = httpx.get(
            f"{fleet.url}/api/v1/release-keys",
            headers={"Authorization": f"Bearer {fleet.token}"},
        )
        got: list[dict[str, object]] = r.json()
        return got

    before = keys()
    p = run("release", "register-key", work / "release.pem", "--name", "oops", fleet=fleet)
    refused(p, 2, f"{work / 'release.pem'} is a private key", str(work / "release.pub.pem"))
    assert keys() == before, "nothing reached the fleet"


def _start(fleet: LocalFleet, name: str) -> str:
    rid = str(releases(fleet)[0]["id"])
    out = ok(
        run("rollout", "start", "--release", rid, "--name", name, "--group", "100%", fleet=fleet)
    )
    return out.split("rollout ", 1)[1].split()[0]


def _watch(fleet: LocalFleet, rollout_id: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, "rollout", "status", rollout_id, "--watch", "--interval", "0.5", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(fleet),
    )


def _read_until(proc: subprocess.Popen[str], text: str, timeout: float = 30) -> list[str]:
    """stdout lines up to the first one holding ``text`` (the watch prints as things change)."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never came: {lines}")


def test_rollout_status_watch_prints_each_change_until_the_rollout_is_aborted(
    signed: Path, fleet: LocalFleet
) -> None:
    rollout_id = _start(fleet, "watched")
    proc = _watch(fleet, rollout_id)
    try:
        _read_until(proc, "running")  # the rollout as status shows it
        api = f"{fleet.url}/api/v1/rollouts/{rollout_id}"
        auth = {"Authorization": f"Bearer {fleet.token}"}
        httpx.post(f"{api}/pause", headers=auth).raise_for_status()
        changed = _read_until(proc, "status: paused (operator)")
        assert changed[-1].split(" ", 1)[1] == "status: paused (operator)", "time, then change"
        httpx.post(f"{api}/abort", headers=auth).raise_for_status()
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert err == ""
    lines = out.splitlines()
    assert lines[0].endswith("status: aborted")
    assert lines[-1] == f"rollout {rollout_id} aborted"
    assert not [ln for ln in lines if "paused" in ln], "an unchanged state is not printed again"


def test_rollout_status_watch_stops_cleanly_on_ctrl_c_or_timeout(
    signed: Path, fleet: LocalFleet
) -> None:
    rollout_id = _start(fleet, "interrupted")
    proc = _watch(fleet, rollout_id)
    try:
        _read_until(proc, "running")
        time.sleep(0.7)  # in the loop, between two looks
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert out.splitlines()[-1] == f"stopped watching rollout {rollout_id} (it goes on)"
    assert ok(run("rollout", "status", rollout_id, fleet=fleet)).count("running") == 1
    p = run(
        "rollout",
        "status",
        rollout_id,
        "--watch",
        "--interval",
        "0.5",
        "--timeout",
        "1",
        fleet=fleet,
    )
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stderr == f"error: rollout {rollout_id} still unfinished after 1 s of watching\n"


@pytest.mark.parametrize(
    "command",
    [
        ("release", "keygen"),
        ("release", "build"),
        ("release", "sign"),
        ("release", "publish"),
        ("release", "register-key"),
        ("rollout", "start"),
        ("rollout", "status"),
        ("rollout", "pause"),
        ("rollout", "resume"),
        ("rollout", "abort"),
    ],
)
def test_every_release_and_rollout_command_has_an_example_in_its_help(
    command: tuple[str, str],
) -> None:
    text = ok(run(*command, "--help"))
    assert f"Example: territoire {' '.join(command)}" in text


def _release_log(fleet: LocalFleet) -> dict[str, dict[str, object]]:
    data = httpx.get(f"{fleet.url}/api/v1/public/releases").json()["data"]  # no login
    return {str(r["version"]): r for r in data}


def test_release_notes_from_build_or_publish_reach_the_public_release_log(
    signed: Path, work: Path, fleet: LocalFleet
) -> None:
    """--notes-file at build time travels in the bundle (sign keeps it); --notes at publish
    replaces it; the public log shows the notes and the hash of the very bundle file."""
    key = ("--key", work / "release.pem", "--passphrase-file", work / "pass")
    notes_file = work / "notes.txt"
    notes_file.write_text("Le capteur de bruit mesure mieux.\r\n<b>Pas de HTML</b>\n")
    first = work / "fw-1.5.0.tar"
    common = ("release", "build", "--hw", "emu-x64", "--expires-days", "30")
    ok(run(*common, "--version", "1.5.0", "--out", first, "--notes-file", notes_file))
    content = unpack(first.read_bytes())
    assert isinstance(content, Bundle)
    assert content.notes == "Le capteur de bruit mesure mieux.\n<b>Pas de HTML</b>"
    ok(run("release", "sign", first, *key))
    assert getattr(unpack(first.read_bytes()), "notes", None) == content.notes, "sign keeps it"
    ok(run("release", "publish", first, fleet=fleet))
    logged = _release_log(fleet)["1.5.0"]
    assert logged["notes"] == content.notes
    assert logged["bundle_sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    page = httpx.get(f"{fleet.url}/releases?lang=en").text
    assert "&lt;b&gt;Pas de HTML&lt;/b&gt;" in page
    assert str(logged["bundle_sha256"]) in page

    second = work / "fw-1.5.1.tar"
    ok(run(*common, "--version", "1.5.1", "--out", second))
    ok(run("release", "sign", second, *key))
    on_disk = second.read_bytes()
    ok(run("release", "publish", second, "--notes", "Corrige un oubli.", fleet=fleet))
    assert second.read_bytes() == on_disk, "the bundle file is left as it is"
    assert _release_log(fleet)["1.5.1"]["notes"] == "Corrige un oubli."


def test_bad_release_notes_are_refused_before_building(work: Path) -> None:
    out = work / "never.tar"
    common = ("release", "build", "--hw", "emu-x64", "--version", "1.9.0", "--out", out)
    (work / "long.txt").write_text("x" * 4001)
    refused(run(*common, "--notes", "a", "--notes-file", work / "long.txt"), 2, "not both")
    refused(run(*common, "--notes-file", work / "long.txt"), 2, "at most 4000")
    refused(run(*common, "--notes", "bell\a"), 2, "control character")
    refused(run(*common, "--notes-file", work / "missing.txt"), 2, "cannot read --notes-file")
    assert not out.exists()
