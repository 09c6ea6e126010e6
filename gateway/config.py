"""Gateway settings: one object with every limit, loaded from one TOML file
(gateway/config_file.py).

Every bound that protects the gateway (sizes, counts, windows, timeouts, disk, retries) and
every privacy rule is here, typed and checked at load, so an operator reads them in one place
(docs/gateway.md and docs/privacy.md explain each). The modules that apply them take them from
here; none keeps its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from protocol.gateway_batches import (
    INGEST_AGGREGATE_ITEMS_MAX,
    INGEST_HEALTH_ITEMS_MAX,
    OTA_STATUS_ITEMS_MAX,
)

__all__ = [
    "AggregationSettings",
    "ConfigError",
    "NodeRateSettings",
    "OpenDataSettings",
    "PlausibilitySettings",
    "PrivacySettings",
    "Settings",
]


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
    # our own publishes paho tracks at once (acks to nodes, OTA chunks and offers)
    publish_inflight: int = 10000
    # reconnection to the broker: randomised backoff up to this (1.5 ** 10 s)
    reconnect_backoff_cap_s: float = 57.7


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
    # Mosquitto refuses retained messages (retain_available false); false only while nodes whose
    # firmware still retains its state and last will are updated (docs/gateway.md)
    refuse_retained: bool = True


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
    evict_batch: int = 1000  # rows evicted at a time while over the disk bound


@dataclass(frozen=True)
class AggregationSettings:
    """Tumbling windows (gateway/aggregate.py)."""

    window_s: int = 3600  # hourly: what is published (docs/privacy.md, "Expected error")
    grace_s: int = 120
    max_open_cells: int = 4096  # worst case ~40 KB each (256 bins, 300 nodes)
    max_bins: int = 256  # histogram bins per cell for the p95
    p95_min_samples: int = 20  # below 20 samples the nearest-rank p95 is the maximum itself

    def __post_init__(self) -> None:
        if self.window_s < 1 or self.grace_s < 0 or self.max_open_cells < 1:
            raise ValueError("window_s >= 1, grace_s >= 0 and max_open_cells >= 1 are required")
        if self.max_bins < 2 or self.p95_min_samples < 1:
            raise ValueError("max_bins >= 2 and p95_min_samples >= 1 are required")


@dataclass(frozen=True)
class NodeRateSettings:
    """How many readings of one node a window may fold in (gateway/node_rate.py).

    Counted per window of the readings' own timestamps, so a backlog sent at once after an
    outage spreads over the windows it was measured in and is not limited; a flood of
    readings stamped "now" is.
    """

    # the shortest ``interval_s`` the nodes of this gateway are configured with (node.json;
    # the fleet's registry sync does not carry it yet, so one value serves every node)
    interval_s: float = 1.0
    margin: float = 2.0  # room for jitter, a reboot's resend, a clock step

    def __post_init__(self) -> None:
        if not 0.1 <= self.interval_s <= 86400 or self.margin < 1:
            raise ValueError("0.1 <= interval_s <= 86400 and margin >= 1 are required")


@dataclass(frozen=True)
class PlausibilitySettings:
    """Per-node plausibility of readings against the rule table of gateway/plausibility_rules.py
    (gateway/plausibility.py)."""

    enabled: bool = True
    # the step test compares with the node's last plausible value only if it is this recent
    step_max_gap_s: int = 3600
    # node x metric entries remembered; beyond it the stalest is forgotten (bounded memory)
    max_entries: int = 20000

    def __post_init__(self) -> None:
        if self.step_max_gap_s < 1 or self.max_entries < 1:
            raise ValueError("step_max_gap_s >= 1 and max_entries >= 1 are required")


@dataclass(frozen=True)
class PublishSettings:
    interval_s: float = 15.0  # how often due windows are closed and anonymised
    # the zones file (GeoJSON FeatureCollection, protocol/zones.py) that locates open data;
    # empty: no open-data endpoints. Checked when the configuration is loaded.
    zones_file: str = ""
    recent_max: int = 5000  # published cells kept for the local open-data endpoints


@dataclass(frozen=True)
class FleetSettings:
    url: str = ""  # fleet base URL; empty: no sync, and everything stays in the outbox
    gateway_id: str = ""  # as created in the fleet; empty: the gateway's name
    sync_interval_s: float = 30.0
    timeout_s: float = 20.0  # one registry sync request


@dataclass(frozen=True)
class UplinkSettings:
    batch_max: int = 500
    interval_s: float = 10.0
    health_interval_s: float = 30.0  # how often the nodes' health is snapshotted for the fleet
    timeout_s: float = 20.0
    backoff_cap_s: float = 300.0

    def __post_init__(self) -> None:
        # an uplink batch is outbox items of both kinds: all of one kind must fit the contract
        most = min(INGEST_HEALTH_ITEMS_MAX, INGEST_AGGREGATE_ITEMS_MAX)
        if not 1 <= self.batch_max <= most:
            raise ValueError(f"batch_max must be 1 to {most} (what every fleet accepts)")


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
    document_max_bytes: int = 8 * 1024 * 1024  # the fleet's OTA document
    timeout_s: float = 60.0  # one request to the fleet (a release file may be large)

    def __post_init__(self) -> None:
        if not 1 <= self.status_batch_max <= OTA_STATUS_ITEMS_MAX:
            raise ValueError(
                f"status_batch_max must be 1 to {OTA_STATUS_ITEMS_MAX} (what every fleet accepts)"
            )


@dataclass(frozen=True)
class HttpSettings:
    """The OPERATOR's listener: /health and /metrics (raw node ids, per-node counts): keep it
    on localhost or an operators' network, never public."""

    host: str = "127.0.0.1"
    port: int = 9108
    max_header_bytes: int = 8192  # a request with more is refused (431)
    read_timeout_s: float = 5.0  # for the request's headers


@dataclass(frozen=True)
class OpenDataSettings:
    """The PUBLIC listener: /opendata/* and /health only (never /metrics). It runs when
    ``publish.zones_file`` is set; expose it (reverse proxy) rather than the operator's."""

    host: str = "127.0.0.1"
    port: int = 9110


@dataclass(frozen=True)
class PrivacySettings:
    """The anonymisation rules (gateway/anonymize.py; docs/privacy.md explains each)."""

    k_nodes: int = 3  # no cell from fewer than 3 distinct nodes (INSEE's 3-unit rule)
    k_people: int = 11  # no people count below 11 (INSEE's gridded household data rule)
    # a zone's daily epsilon here; the fleet's allotment may cap it lower (gateway/allotment.py)
    epsilon_per_zone_day: float = 8.0
    people_sensitivity: int = 2  # counters of a zone that can hear one device in one window
    budget_tz: str = "Europe/Paris"  # the day a zone's budget is counted in
    keep_days: int = 3  # ledger days kept; older days are closed for publication

    def __post_init__(self) -> None:
        if self.k_nodes < 1 or self.k_people < 1 or self.keep_days < 1:
            raise ValueError("k_nodes, k_people and keep_days must be >= 1")
        if not 0 < self.epsilon_per_zone_day <= 100:
            raise ValueError("0 < epsilon_per_zone_day <= 100 is required")
        if self.people_sensitivity < 1:
            raise ValueError("people_sensitivity must be >= 1")

    @property
    def budget_micro(self) -> int:
        # imported here: the budget's module loads OpenDP, which reading a configuration
        # (node monitor on a workstation) does not need
        from gateway.privacy_budget import MICRO  # noqa: PLC0415

        return round(self.epsilon_per_zone_day * MICRO)


@dataclass(frozen=True)
class Settings:
    name: str = "gateway"
    data_dir: str = "/var/lib/territoire-gateway"
    zone_default: str = ""
    stop_timeout_s: float = 10.0  # a task stuck in a library's cancellation is left after this
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    broker: BrokerSettings = field(default_factory=BrokerSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    aggregation: AggregationSettings = field(default_factory=AggregationSettings)
    node_rate: NodeRateSettings = field(default_factory=NodeRateSettings)
    plausibility: PlausibilitySettings = field(default_factory=PlausibilitySettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    fleet: FleetSettings = field(default_factory=FleetSettings)
    uplink: UplinkSettings = field(default_factory=UplinkSettings)
    ota: OtaSettings = field(default_factory=OtaSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    opendata: OpenDataSettings = field(default_factory=OpenDataSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)
