"""The gateway's data directory, named once (`data_dir` in its configuration): the gateway
writes these files and the workstation's `territoire node monitor` reads some of them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BROKER_DIR",
    "DATABASE",
    "IDENTITY_KEY",
    "MONITOR_PASSWORD",
    "MQTT_PASSWORD",
    "OTA_CACHE_DIR",
    "SEALING_KEY",
    "broker_dir",
    "database",
    "identity_key",
    "monitor_password",
    "mqtt_password",
    "ota_cache_dir",
    "sealing_key",
]

DATABASE = "gateway.db"  # SQLite (WAL): readings, registry, outbox, state
MQTT_PASSWORD = "mqtt-password"  # noqa: S105 - a file name: the broker password kept there
MONITOR_PASSWORD = "monitor-password"  # noqa: S105 - a file name: `node monitor`'s broker login
IDENTITY_KEY = "identity.key"  # Ed25519: signs requests to the fleet (made by `enroll`)
SEALING_KEY = "sealing.key"  # X25519: opens the node secrets the fleet seals for the gateway
BROKER_DIR = "broker"  # Mosquitto users and ACL, unless broker.conf_dir says otherwise
OTA_CACHE_DIR = "ota"  # release objects, content-addressed


def database(data_dir: Path) -> Path:
    return data_dir / DATABASE


def mqtt_password(data_dir: Path) -> Path:
    return data_dir / MQTT_PASSWORD


def monitor_password(data_dir: Path) -> Path:
    return data_dir / MONITOR_PASSWORD


def identity_key(data_dir: Path) -> Path:
    return data_dir / IDENTITY_KEY


def sealing_key(data_dir: Path) -> Path:
    return data_dir / SEALING_KEY


def broker_dir(data_dir: Path) -> Path:
    return data_dir / BROKER_DIR


def ota_cache_dir(data_dir: Path) -> Path:
    return data_dir / OTA_CACHE_DIR
