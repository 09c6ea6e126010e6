"""requirements-gateway.txt is the one list of what a Pi installs for the gateway: its direct
pins agree with requirements.txt, it holds the whole closure at the versions the tests ran,
and it covers every third-party import of gateway/ and protocol/."""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.pi_image.wheels import read_pins

REPO = Path(__file__).resolve().parents[2]
GATEWAY_PINS = read_pins((REPO / "requirements-gateway.txt").read_text())
# the Pi: CPython 3.11 on aarch64 Linux
PI_MARKERS = {**default_environment(), "python_version": "3.11", "python_full_version": "3.11.2",
              "platform_machine": "aarch64", "sys_platform": "linux",
              "platform_python_implementation": "CPython", "implementation_name": "cpython"}


def _all_pins() -> dict[str, str]:
    pins = {}
    for raw in (REPO / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = str(req.specifier).removeprefix("==")
    return pins


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


def test_direct_pins_are_the_same_as_in_requirements_txt() -> None:
    pins = _all_pins()
    shared = {k: (p.version, pins[k]) for k, p in GATEWAY_PINS.items() if k in pins}
    assert {k: v for k, v in shared.items() if v[0] != v[1]} == {}
    assert {"aiomqtt", "paho-mqtt", "cryptography", "opendp", "orjson", "httpx"} <= set(shared)


def test_every_third_party_import_of_the_gateway_is_pinned() -> None:
    dists = metadata.packages_distributions()
    imported = _third_party_imports()
    missing = {m for m in imported
               if not {canonicalize_name(d) for d in dists.get(m, [])} & set(GATEWAY_PINS)}
    assert missing == set()
    assert {"aiomqtt", "opendp", "cryptography"} <= imported


def test_pins_are_the_whole_closure_at_the_versions_the_tests_ran() -> None:
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
