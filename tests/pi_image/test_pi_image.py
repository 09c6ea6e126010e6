"""The emulated Pi's builder: mirror discovery, the wheel audit, the cache key, and the
command line's errors (a package without an aarch64 wheel is named, with no traceback)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tools.pi_image import debian, ensure_image, image_key
from tools.pi_image.spec import BOOKWORM, ImageError, cache_key, to_prune
from tools.pi_image.wheels import (
    Pin,
    audit,
    importable_modules,
    platform_tags,
    read_pins,
    supported_tags,
)

REPO = Path(__file__).resolve().parents[2]
DEB822 = """Types: deb
URIs: http://deb.example.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.example.org/debian-security
Suites: bookworm-security
Components: main
"""


def test_mirror_is_read_from_apts_deb822_sources() -> None:
    files = {"/etc/apt/sources.list.d/debian.sources": DEB822}
    assert debian.mirror_from_sources(files, "bookworm") == "http://deb.example.org/debian"


def test_mirror_is_read_from_a_one_line_sources_list_with_options() -> None:
    text = ("# deb http://old.example.org/debian bookworm main\n"
            "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example.org/debian/ bookworm main\n")
    files = {"/etc/apt/sources.list": text}
    assert debian.mirror_from_sources(files, "bookworm") == "http://mirror.example.org/debian"


def test_files_apt_ignores_and_disabled_stanzas_give_no_mirror() -> None:
    files = {"/etc/apt/sources.list.d/x.sources.disabled-by-farm": DEB822,
             "/etc/apt/sources.list.d/y.sources": DEB822.replace("Types:", "Enabled: no\nTypes:"),
             "/etc/apt/sources.list.d/z.list": "deb http://m.example.org/debian trixie main\n"}
    assert debian.mirror_from_sources(files, "bookworm") is None


def test_mirror_from_the_environment_wins() -> None:
    env = {debian.MIRROR_ENV: "http://local.example.org/debian/"}
    assert debian.find_mirror(BOOKWORM, env) == "http://local.example.org/debian"


def test_only_exact_pins_are_accepted() -> None:
    assert read_pins("# c\naiomqtt==2.5.1  # why\n\nDeprecated==1.3.1\n") == {
        "aiomqtt": Pin("aiomqtt", "2.5.1"), "deprecated": Pin("Deprecated", "1.3.1")}
    for bad, said in (("aiomqtt>=2.5", "not an exact pin"), ("psycopg[binary]==3.3.9", "exact"),
                      ("x==1\nX==2", "pinned twice"), ("x==not-a-version", "exact pin")):
        with pytest.raises(ImageError, match=said):
            read_pins(bad)


def test_platform_tags_follow_the_suites_glibc() -> None:
    tags = platform_tags(BOOKWORM)
    assert tags[0] == "manylinux_2_36_aarch64"
    assert tags[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert "manylinux_2_37_aarch64" not in tags


def test_audit_names_a_package_with_only_x86_wheels_or_an_sdist() -> None:
    pins = read_pins("cryptography==50.0.2\nparse==1.0\ntool==2.0\nnative==3.0\nold==1.0\n")
    files = [
        "cryptography-50.0.2-cp311-abi3-manylinux_2_34_aarch64.whl",  # loads on the Pi
        "parse-1.0-py3-none-any.whl",  # pure Python
        "tool-2.0-cp311-cp311-manylinux_2_17_x86_64.whl",  # the host's only
        "tool-2.0.tar.gz",
        "native-3.0-cp311-cp311-manylinux_2_39_aarch64.whl",  # needs a newer glibc
        "old-1.0-cp310-cp310-manylinux_2_17_aarch64.whl",  # another Python
    ]
    missing = audit(pins, files, supported_tags(BOOKWORM))
    assert [str(p) for p in missing] == ["tool==2.0", "native==3.0", "old==1.0"]


def test_audit_wants_the_pinned_version() -> None:
    pins = read_pins("orjson==3.13.0\n")
    files = ["orjson-3.12.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"]
    assert audit(pins, files, supported_tags(BOOKWORM)) == [Pin("orjson", "3.13.0")]


def test_modules_to_import_on_the_pi_include_each_compiled_extension() -> None:
    record = [
        "_cffi_backend.cpython-311-aarch64-linux-gnu.so", "cffi/__init__.py", "cffi/api.py",
        "cryptography/__init__.py", "cryptography/hazmat/bindings/_rust.abi3.so",
        "typing_extensions.py", "wrapt-stubs/__init__.pyi", "bin/tool",
        "opendp/lib/libopendp.so", "opendp/__init__.py", "x-1.0.dist-info/RECORD",
        "__pycache__/typing_extensions.cpython-311.pyc",
    ]
    assert importable_modules(record, "cp311") == [
        "_cffi_backend", "cffi", "cryptography", "cryptography.hazmat.bindings._rust",
        "opendp", "typing_extensions"]


def test_cache_key_changes_with_pins_suite_and_builder_source() -> None:
    sources = {"image.py": b"a", "wheels.py": b"b"}
    key = cache_key(BOOKWORM, b"x==1\n", sources)
    assert key == cache_key(BOOKWORM, b"x==1\n", dict(sources))
    assert key != cache_key(BOOKWORM, b"x==2\n", sources)
    assert key != cache_key(replace(BOOKWORM, suite="trixie"), b"x==1\n", sources)
    assert key != cache_key(BOOKWORM, b"x==1\n", {**sources, "wheels.py": b"c"})


def test_prune_keeps_the_current_image_and_the_newest_others() -> None:
    images = [("old", 1.0), ("cur", 2.0), ("newer", 3.0), ("mid", 1.5)]
    assert to_prune(images, "cur", keep=2) == ["old"]
    assert to_prune(images, "cur", keep=5) == []


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.cli", "pi-image", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)


def test_audit_command_names_a_package_without_an_aarch64_wheel(tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    # docopt 0.6.2 is published as an sdist only; paho-mqtt as a pure-Python wheel
    reqs.write_text("paho-mqtt==2.2.0\ndocopt==0.6.2\n")
    result = _cli("audit", "--requirements", str(reqs))
    said = " ".join(result.stderr.split())  # rich wraps long lines
    assert result.returncode == 4, result.stdout + result.stderr
    assert "no pure-Python wheel: docopt==0.6.2" in said
    assert "paho-mqtt" not in said.split("wheel:")[-1]
    assert "Traceback" not in said



def test_no_mirror_in_apts_sources_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "other.list").write_text("deb http://x.example/ trixie main\n")
    monkeypatch.setattr(debian, "SOURCES", tmp_path)
    said = r"no Debian mirror for bookworm.*TERRITOIRE_DEBIAN_MIRROR"
    with pytest.raises(ImageError, match=said):
        debian.find_mirror(BOOKWORM, {})


def test_an_unreachable_mirror_fails_the_bootstrap_naming_it(tmp_path: Path) -> None:
    # port 9 on loopback: nothing listens, so debootstrap fails at once
    with pytest.raises(ImageError, match=r"debootstrap bookworm/arm64 from http://127\.0\.0\.1:9"):
        debian.bootstrap(tmp_path / "root", BOOKWORM, "http://127.0.0.1:9/debian",
                         tmp_path / "build.log")


def test_a_failed_build_leaves_nothing_that_looks_like_an_image(tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("docopt==0.6.2\n")  # no wheel at all: the build stops at the audit
    cache = tmp_path / "cache"
    key = image_key(BOOKWORM, reqs)
    stale = cache / f".tmp-{key}-999999"  # what a build killed mid-way leaves behind
    (stale / "root").mkdir(parents=True)
    (stale / "manifest.json").write_text("{}")
    with pytest.raises(ImageError, match=r"docopt==0\.6\.2"):
        ensure_image(BOOKWORM, reqs, cache)
    assert sorted(p.name for p in cache.iterdir()) == [f".{key}.lock"]
