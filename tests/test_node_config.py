"""The node.json contract on the CPython side (protocol/node_config.py) against the shared
vectors (tests/vectors/node_configs.json), which the firmware checks too
(tests/firmware_vm/test_nodecfg.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol.node_config import (
    FIELDS,
    MQTT_FIELDS,
    WIFI_FIELDS,
    NodeConfigError,
    defaults,
    validate,
)

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


_TYPES = {"int": "whole number", "num": "number", "bool": "true/false", "str": "text",
          "hex64": "64 hex digits", "node_id": "text", "hw": "text", "obj": "object",
          "sensors": "list", "keys": "list"}


def contract_table() -> str:
    """The Configuration table of docs/firmware.md, rendered from the contract."""
    lines = ["| key | type | default | bounds | what for |", "|---|---|---|---|---|"]
    for prefix, fields in (("", FIELDS), ("wifi.", WIFI_FIELDS), ("mqtt.", MQTT_FIELDS)):
        for name, f in fields:
            value = list(f.default) if isinstance(f.default, tuple) else f.default
            default = "required" if f.required else f"`{json.dumps(value)}`"
            if f.kind in ("int", "num"):
                bounds = f"{f.lo:g} to {f.hi:g}"
            elif f.kind == "str":
                bounds = f"{f.lo:g} to {f.hi:g} characters"
            elif f.kind in ("sensors", "keys"):
                bounds = f"at most {f.hi:g}"
            else:
                bounds = ""
            lines.append(f"| `{prefix}{name}` | {_TYPES[f.kind]} | {default} | {bounds} | "
                         f"{f.doc} |")
    return "\n".join(lines) + "\n"


def test_the_configuration_table_of_the_firmware_docs_is_the_contract() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "firmware.md").read_text()
    assert contract_table() in doc, "docs/firmware.md: replace the table with\n" + contract_table()
