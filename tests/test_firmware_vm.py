"""Run the firmware unit tests inside the real MicroPython VM, one VM per test.

Each module in tests/firmware_vm/ is a MicroPython script defining ``test_*`` functions
(plain or async). The VM runs with an ESP32-sized heap; the test's heap peak is printed.
A module that sets ``NEEDS_BROKER = True`` gets a private Mosquitto whose port is passed
in the environment variable TERRITOIRE_BROKER_PORT.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.vmutil import REPO, micropython_cmd, vm_path

VM_TESTS = REPO / "tests" / "firmware_vm"
_TEST_DEF = re.compile(r"^(?:async\s+)?def\s+(test_\w+)\s*\(", re.MULTILINE)


def _collect() -> list[tuple[str, str, bool]]:
    cases = []
    for path in sorted(VM_TESTS.glob("test_*.py")):
        src = path.read_text()
        needs_broker = re.search(r"^NEEDS_BROKER\s*=\s*True", src, re.MULTILINE) is not None
        cases.extend((path.stem, name, needs_broker) for name in _TEST_DEF.findall(src))
    return cases


@pytest.mark.parametrize(
    ("module", "test", "needs_broker"), _collect(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_in_micropython_vm(
    module: str, test: str, needs_broker: bool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = dict(os.environ)
    env["MICROPYPATH"] = vm_path(VM_TESTS)
    env["TERRITOIRE_REPO"] = str(REPO)
    if needs_broker:
        broker = request.getfixturevalue("mosquitto")
        env["TERRITOIRE_BROKER_PORT"] = str(broker.port)
    proc = subprocess.run(
        [*micropython_cmd(), str(VM_TESTS / "_runner.py"), module, test],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = proc.stdout + proc.stderr
    print(out)
    assert proc.returncode == 0, out
    assert f"PASS {test}" in out, out
