"""The node.json contract on the CPython side (protocol/node_config.py) against the shared
vectors (tests/vectors/node_configs.json), which the firmware checks too
(tests/firmware_vm/test_nodecfg.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol.node_config import NodeConfigError, defaults, validate

VECTORS = json.loads((Path(__file__).parent / "vectors" / "node_configs.json").read_text())


@pytest.mark.parametrize("vec", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_config_is_normalised_with_every_default(vec: dict[str, Any]) -> None:
    assert validate(vec["config"]) == vec["normalised"]
    # normalising is idempotent: what provisioning writes is taken as it is
    assert validate(vec["normalised"]) == vec["normalised"]


@pytest.mark.parametrize("vec", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_config_is_refused_naming_the_key(vec: dict[str, Any]) -> None:
    with pytest.raises(NodeConfigError) as caught:
        validate(vec["config"])
    assert caught.value.key == vec["key"]
    assert str(caught.value).startswith(vec["key"] + ": ")


def test_defaults_are_those_of_the_shared_vectors() -> None:
    assert defaults() == VECTORS["defaults"]


def test_validate_does_not_change_its_input() -> None:
    cfg = json.loads(json.dumps(VECTORS["valid"][0]["config"]))
    before = json.dumps(cfg, sort_keys=True)
    validate(cfg)
    assert json.dumps(cfg, sort_keys=True) == before


def test_non_finite_numbers_are_refused() -> None:
    cfg = dict(VECTORS["valid"][0]["config"], interval_s=float("nan"))
    with pytest.raises(NodeConfigError, match=r"^interval_s: "):
        validate(cfg)
