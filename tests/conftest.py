from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.broker import MosquittoProcess

# MicroPython test modules: run inside the VM by tests/test_firmware_vm.py, not by CPython
collect_ignore_glob = ["firmware_vm/*"]


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A private Mosquitto on a free port (never the shared one on 1883)."""
    with MosquittoProcess(tmp_path / "broker") as broker:
        yield broker
