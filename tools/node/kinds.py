"""The standard node kinds: the sensors a node of each kind carries (its ``node.json`` sensor
list), whether it runs on a battery, and the hardware wired to its board (what the emulated
board attaches). ``node provision --kind`` and the demo's territory both use them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["KINDS", "NodeKind"]


@dataclass(frozen=True)
class NodeKind:
    name: str
    board: dict[str, Any]  # emulated hardware attached to the board
    sensors: list[dict[str, Any]]  # the node configuration's sensor list
    battery: bool  # powered by battery: reports its voltage


_BME = {"kind": "bme280", "i2c": 0, "scl": 22, "sda": 21, "addr": 118}
_BAT = {"kind": "battery", "pin": 35, "ratio": 2.0}
_I2C = {"0": {"scl": 22, "sda": 21, "devices": {"118": "bme280"}}}

KINDS: dict[str, NodeKind] = {
    k.name: k
    for k in (
        NodeKind("weather", {"i2c": _I2C, "adc": {"35": "battery"}}, [_BME, _BAT], True),
        NodeKind(
            "air",
            {"i2c": _I2C, "uart": {"1": "pms5003"}},
            [_BME, {"kind": "pms5003", "uart": 1, "tx": 17, "rx": 16}],
            False,
        ),
        NodeKind(
            "noise",
            {"i2s": {"0": "mic"}},
            [{"kind": "mic", "i2s": 0, "sck": 14, "ws": 15, "sd": 32, "rate": 16000, "bursts": 2}],
            False,
        ),
        NodeKind(
            "people",
            {"ble": "pedestrians", "adc": {"35": "battery"}},
            [{"kind": "people", "rssi_min": -85, "scan_ms": 1000}, _BAT],
            True,
        ),
        NodeKind(
            "bin",
            {"ultrasonic": {"trig": 5, "echo": 18}, "adc": {"35": "battery"}},
            [{"kind": "bin", "trig": 5, "echo": 18, "depth_cm": 120}, _BAT],
            True,
        ),
        NodeKind(
            "soil",
            {"adc": {"34": "soil", "35": "battery"}},
            [{"kind": "soil", "pin": 34, "dry": 52000, "wet": 24000}, _BAT],
            True,
        ),
    )
}
