"""The locks (requirements/*.txt, made by `make lock`) are the whole truth of what is installed:
every package of the venv is in the dev lock at its locked version, with hashes; the gateway's
lock (what a Pi installs) is the gateway's whole closure at the versions the tests ran, and
covers every third-party import of gateway/ and protocol/."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.pi_image.spec import ImageError
from tools.pi_image.wheels import read_pins

REPO = Path(__file__).resolve().parents[1]
LOCKS = REPO / "requirements"
DEV_PINS = read_pins((LOCKS / "dev.txt").read_text())
GATEWAY_PINS = read_pins((LOCKS / "gateway.txt").read_text())
# the Pi: CPython 3.11 on aarch64 Linux
PI_MARKERS = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.2",
              "platform_machine": "aarch64", "sys_platform": "linux",
              "platform_python_implementation": "CPython", "implementation_name": "cpython"}


def _pinned_blocks(text: str) -> dict[str, str]:
    """name -> the text of its pin in a lock, hashes included."""
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    return {canonicalize_name(b.split("==", 1)[0]): b for b in blocks if "==" in b.split()[0]}


def _third_party_imports() -> set[str]:
    names = set()
    for package in ("gateway", "protocol"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names} - {"gateway", "protocol"}


def test_every_installed_distribution_is_locked_at_its_version() -> None:
    project = {"territoire"}
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    unlocked = {n: v for n, v in installed.items() if n not in DEV_PINS and n not in project}
    drifted = {n: (DEV_PINS[n].version, v) for n, v in installed.items()
               if n in DEV_PINS and DEV_PINS[n].version != v}
    assert unlocked == {}
    assert drifted == {}
    # and nothing locked is missing from the venv (`make venv` installs the whole lock)
    assert set(DEV_PINS) - set(installed) == set()


@pytest.mark.parametrize("lock", ["dev.txt", "gateway.txt", "firmware-stubs.txt"])
def test_every_pin_of_a_lock_carries_hashes(lock: str) -> None:
    blocks = _pinned_blocks((LOCKS / lock).read_text())
    assert blocks
    assert [n for n, b in blocks.items() if "--hash=sha256:" not in b] == []


def test_the_direct_pins_of_each_input_are_in_its_lock() -> None:
    for src, lock in (("dev.in", DEV_PINS), ("gateway.in", GATEWAY_PINS)):
        for raw in (LOCKS / src).read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if "==" in line and not line.startswith("-"):
                req = Requirement(line)
                key = canonicalize_name(req.name)
                assert key in lock, f"{req.name} of {src} is not in its lock"
                assert lock[key].version == str(req.specifier).removeprefix("=="), req.name


def test_the_gateway_lock_is_at_the_versions_of_the_dev_lock() -> None:
    differ = {k: (p.version, DEV_PINS[k].version) for k, p in GATEWAY_PINS.items()
              if k not in DEV_PINS or DEV_PINS[k].version != p.version}
    assert differ == {}
    direct = {"aiomqtt", "paho-mqtt", "cryptography", "opendp", "orjson", "httpx"}
    assert direct <= set(GATEWAY_PINS)


def test_every_third_party_import_of_the_gateway_is_locked_for_the_pi() -> None:
    dists = metadata.packages_distributions()
    imported = _third_party_imports()
    missing = {m for m in imported
               if not {canonicalize_name(d) for d in dists.get(m, [])} & set(GATEWAY_PINS)}
    assert missing == set()
    assert {"aiomqtt", "opendp", "cryptography"} <= imported


def test_the_gateway_lock_is_the_whole_closure_at_the_versions_the_tests_ran() -> None:
    wrong_version, unpinned = {}, set()
    for key, pin in GATEWAY_PINS.items():
        dist = metadata.distribution(pin.name)
        if dist.version != pin.version:
            wrong_version[pin.name] = (pin.version, dist.version)
        for raw in dist.requires or []:
            req = Requirement(raw)
            on_pi = req.marker is None or req.marker.evaluate({**PI_MARKERS, "extra": ""})
            if on_pi and canonicalize_name(req.name) not in GATEWAY_PINS:
                unpinned.add(f"{req.name} (required by {pin.name})")
        assert key == canonicalize_name(dist.metadata["Name"])
    assert wrong_version == {}
    assert unpinned == set()


def test_the_pin_reader_takes_a_hashed_lock_and_refuses_loose_pins() -> None:
    lock = ("# a comment\nfoo==1.2 \\\n    --hash=sha256:ab \\\n    --hash=sha256:cd\n"
            "    # via bar\nBar_Baz==2.0.post1 \\\n    --hash=sha256:ef\n")
    pins = read_pins(lock)
    assert {k: str(p) for k, p in pins.items()} == {"foo": "foo==1.2",
                                                    "bar-baz": "Bar_Baz==2.0.post1"}
    with pytest.raises(ImageError, match=r"line 2: 'foo>=1' is not an exact pin"):
        read_pins("# x\nfoo>=1 \\\n    --hash=sha256:ab\n")
    with pytest.raises(ImageError, match="is not an exact pin"):
        read_pins("foo==1 --index-url=http://elsewhere\n")
