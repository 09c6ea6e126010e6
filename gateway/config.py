"""Gateway settings: one object with every limit, loaded from one TOML file.

Every bound that protects the gateway (sizes, counts, windows, timeouts, disk) is here, so an
operator reads them in one place (docs/gateway.md explains each).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from protocol.zones import load_zones_file

__all__ = ["ConfigError", "Settings", "check_files", "load_settings"]


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or has a bad value."""


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = "gateway"
    password: str = ""
    client_id: str = "territoire-gateway"
    keepalive_s: int = 30
    # QoS 1 messages the broker may have in flight to us: the rest wait at the broker
    max_inflight: int = 2048


@dataclass(frozen=True)
class BrokerSettings:
    """The Mosquitto beside the gateway, whose users and ACLs the gateway writes."""

    conf_dir: str = ""  # where passwd and acl are written; empty: <data_dir>/broker
    pid_file: str = ""  # SIGHUP goes to this pid after a registry change; empty: nobody
    manage: bool = False  # run Mosquitto ourselves, as our child (production: the shipped unit)
    listen_host: str = "127.0.0.1"  # where that Mosquitto listens: 0.0.0.0 for nodes on Wi-Fi
    # messages the broker keeps for the gateway beyond those in flight, where excess load
    # waits; beyond it Mosquitto drops (and logs it). About 500 bytes of broker memory each.
    max_queued_messages: int = 1_000_000


@dataclass(frozen=True)
class IngestSettings:
    max_message_bytes: int = 1024
    batch_max: int = 1024
    batch_wait_ms: int = 20
    future_skew_s: int = 120
    max_age_s: int = 14 * 24 * 3600
    quarantine_max: int = 1000


@dataclass(frozen=True)
class StorageSettings:
    retention_h: float = 72.0
    disk_bound_mb: int = 2048
    purge_interval_s: float = 600.0


@dataclass(frozen=True)
class AggregationSettings:
    window_s: int = 300
    grace_s: int = 120


@dataclass(frozen=True)
class PublishSettings:
    interval_s: float = 15.0  # how often due windows are closed and anonymised
    # the zones file (GeoJSON FeatureCollection, protocol/zones.py) that locates open data;
    # empty: no open-data endpoints. Checked when the configuration is loaded.
    zones_file: str = ""


@dataclass(frozen=True)
class FleetSettings:
    url: str = ""  # fleet base URL; empty: no sync, and everything stays in the outbox
    gateway_id: str = ""  # as created in the fleet; empty: the gateway's name
    sync_interval_s: float = 30.0


@dataclass(frozen=True)
class UplinkSettings:
    batch_max: int = 500
    interval_s: float = 10.0
    health_interval_s: float = 30.0  # how often the nodes' health is snapshotted for the fleet
    timeout_s: float = 20.0
    backoff_cap_s: float = 300.0


@dataclass(frozen=True)
class OtaSettings:
    """Over-the-air updates: the release cache and the relay to nodes (docs/ota.md)."""

    poll_interval_s: float = 60.0  # GET /gateway/ota (ETag: 304 while nothing changed)
    cache_mb: int = 64  # release objects on disk, content-addressed
    offer_interval_s: float = 60.0  # an offer is re-sent this often until a terminal report
    request_rate_per_s: float = 40.0  # chunk requests served per node and second...
    request_burst: int = 20  # ...with this many saved up
    max_targets: int = 20000  # entries of the fleet's OTA document
    status_batch_max: int = 200  # progress items per POST /gateway/ota/status
    status_interval_s: float = 5.0


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 9108


@dataclass(frozen=True)
class Settings:
    name: str = "gateway"
    data_dir: str = "/var/lib/territoire-gateway"
    zone_default: str = ""
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    aggregation: AggregationSettings = field(default_factory=AggregationSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)
    uplink: UplinkSettings = field(default_factory=UplinkSettings)
    ota: OtaSettings = field(default_factory=OtaSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    # the privacy section is passed as is to the anonymisation core (docs/privacy.md)
    privacy: dict[str, Any] = field(default_factory=dict)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)


def _build(cls: type[Any], raw: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, given in raw.items():
        value = given
        f = known.get(key)
        if f is None:
            raise ConfigError(f"unknown setting {where}{key}")
        default = getattr(cls(), key)
        if is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}{key} must be a table")
            kwargs[key] = _build(type(default), value, f"{where}{key}.")
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}{key} must be a table")
            kwargs[key] = value
        else:
            expected = type(default)
            ok = isinstance(value, expected) and not (
                isinstance(value, bool) and expected is not bool
            )
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value, ok = float(value), True
            if not ok:
                raise ConfigError(
                    f"{where}{key} must be {expected.__name__}, not {type(value).__name__}"
                )
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"{where}{key} must not be negative")
            kwargs[key] = value
    return cls(**kwargs)


def load_settings(path: Path) -> Settings:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    settings: Settings = _build(Settings, raw, "")
    return settings


def check_files(settings: Settings) -> None:
    """What the configuration names on disk, checked before a gateway starts (a workstation
    reading the same file for `node monitor` need not have them)."""
    if settings.publish.zones_file:
        # a bad zones file stops the gateway at start, named, not at its first publication
        try:
            load_zones_file(Path(settings.publish.zones_file))
        except ValueError as exc:
            raise ConfigError(f"publish.zones_file: {exc}") from None
