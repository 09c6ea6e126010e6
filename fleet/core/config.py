"""The fleet service's one settings object: every limit, window and size lives here.

Values come from keyword arguments (tests, the CLI) or from ``TERRITOIRE_FLEET_*`` environment
variables. Outside development the service refuses to start without a master key.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.gateway_batches import (
    INGEST_AGGREGATE_ITEMS_MAX,
    INGEST_HEALTH_ITEMS_MAX,
    OTA_STATUS_ITEMS_MAX,
)
from protocol.release_bundle import MAX_BUNDLE_BYTES

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{2,31}$")  # fleet.models.common.SLUG_PATTERN

__all__ = ["DEV_MASTER_KEY", "ConfigError", "Settings"]

# Development only, published in the docs: it protects nothing. Any other environment refuses it.
DEV_MASTER_KEY = b"territoire-development-master-k!"
# a map tile server's URL template: https, a host, then no quote, space or angle bracket (it
# goes into the map page's data and its Content-Security-Policy); {z}, {x} and {y} are checked
TILE_URL_PATTERN = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[^\s\"'<>\\;]*$"


class ConfigError(ValueError):
    """The settings cannot run a service (missing or malformed master key, ...)."""


def _decode_key(text: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("master key is not base64") from exc
    if len(raw) != 32:
        raise ConfigError("master key must be 32 bytes (base64 of 32 random bytes)")
    return raw


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TERRITOIRE_FLEET_", extra="forbid")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./territoire-fleet.db"
    api_prefix: str = "/api/v1"
    project_name: str = "Territoire fleet"
    # master key for secrets at rest: base64 of 32 bytes, inline or in a file (file wins)
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    migrate_on_start: bool = True

    # database connection pool (PostgreSQL; SQLite uses one connection per thread)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)

    # request limits
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_ingest_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # never below what a gateway may send (protocol/gateway_batches.py): a fleet may accept more
    max_ingest_health_items: int = Field(
        default=INGEST_HEALTH_ITEMS_MAX, ge=INGEST_HEALTH_ITEMS_MAX
    )
    max_ingest_aggregate_items: int = Field(
        default=INGEST_AGGREGATE_ITEMS_MAX, ge=INGEST_AGGREGATE_ITEMS_MAX
    )

    # pagination
    page_default: int = Field(default=50, ge=1)
    page_max: int = Field(default=500, ge=1)
    sync_page_max: int = Field(default=500, ge=1)
    csv_max_rows: int = Field(default=1_000_000, ge=1)

    # gateway request signatures
    signature_skew_s: int = Field(default=300, ge=1)
    replay_cache_max: int = Field(default=200_000, ge=100)
    gateway_enroll_token_ttl_s: int = Field(default=7 * 86400, ge=60)
    # how stale another worker's view of a gateway (keys, status, sync position) may be
    gateway_cache_refresh_s: float = Field(default=0.5, gt=0, le=60)

    # node keys
    key_rotation_grace_s: int = Field(default=7 * 86400, ge=0)
    claim_code_ttl_s: int = Field(default=30 * 86400, ge=60)
    claim_code_batch_max: int = Field(default=200, ge=1)
    node_id_prefix: str = Field(default="ang", pattern=r"^[a-z0-9][a-z0-9-]{0,20}$")
    node_offline_after_s: int = Field(default=900, ge=10)

    # operators
    session_cookie_name: str = "territoire_session"
    session_ttl_s: int = Field(default=12 * 3600, ge=60)
    cookie_secure: bool | None = None  # None: secure everywhere but development
    api_token_ttl_days_default: int = Field(default=90, ge=1)
    api_token_ttl_days_max: int = Field(default=365, ge=1)
    # passwords (NIST SP 800-63B, docs/security.md): 15 characters, the minimum for an account
    # without a second factor (the fleet has none); no composition rules
    password_min_length: int = Field(default=15, ge=8, le=64)
    password_max_length: int = Field(default=128, ge=64, le=1024)
    # login throttling, counted in the database so every worker shares it (docs/security.md):
    # per client address (every account), per (account, address), and account-wide
    login_address_max_failures: int = Field(default=20, ge=1)
    login_pair_max_failures: int = Field(default=5, ge=1)
    login_failure_window_s: int = Field(default=900, ge=1)
    login_block_s: int = Field(default=900, ge=1)
    login_throttle_rows_max: int = Field(default=100_000, ge=100)
    # account-wide lock after this many consecutive failures from any addresses (800-63B's
    # ceiling is 100): one address alone reaches its own limits long before
    login_max_failures: int = Field(default=100, ge=1)
    login_lockout_s: int = Field(default=900, ge=1)
    # reverse proxies whose X-Forwarded-For is believed (IP addresses or CIDR networks)
    trusted_proxies: list[str] = Field(default_factory=list, max_length=100)
    # residents' questions about a sensor (no account): per client address, at most this many
    # in the window; counted in the login throttle's table (docs/dashboard.md, "Questions")
    questions_per_address_max: int = Field(default=5, ge=1, le=1000)
    questions_window_s: int = Field(default=3600, ge=60)

    # housekeeping
    ingest_batch_retention_s: int = Field(default=30 * 86400, ge=3600)
    maintenance_interval_s: int = Field(default=600, ge=1)
    # public register: pseudonyms rotate every day of this zone through a ratchet; the day keys
    # of the last days are kept so that a pseudonym seen recently still resolves, older ones
    # are deleted (docs/privacy.md, "Fleet: the register")
    register_timezone: str = "Europe/Paris"
    pseudonym_keep_days: int = Field(default=3, ge=1, le=31)

    # territory-wide privacy budget (docs/privacy.md, "Fleet: one budget per zone"): epsilon
    # per zone per day of ``privacy_timezone``, shared between the gateways serving the zone;
    # a zone may have its own; the fleet refuses any cell that would take a zone-day over it
    privacy_zone_epsilon_per_day: float = Field(default=8.0, gt=0, le=100)
    privacy_zone_epsilon: dict[str, float] = Field(default_factory=dict, max_length=10_000)
    privacy_timezone: str = "Europe/Paris"

    # node health history (dashboard charts and alerts): a ring of span/bucket samples per
    # node, the newest report of each bucket kept; bounded per node by construction
    health_history_bucket_s: int = Field(default=1800, ge=1)
    health_history_span_s: int = Field(default=7 * 86400, ge=60)

    # dashboard alerts, computed from node health
    alert_low_battery_v: float = Field(default=3.4, ge=0, le=10)
    # rejected readings of one node within the window that suggest tampering (bad MACs,
    # replays, ...): an attack, a failing clock, or a node that lost its key
    alert_rejected_spike: int = Field(default=20, ge=1)
    alert_rejected_window_s: int = Field(default=3600, ge=60)
    # readings of one node its gateway held back within that window (rate limited, or
    # suspect: out of its sensor's range, moving faster than the quantity can, stuck)
    alert_suspect_min: int = Field(default=1, ge=1)
    alert_list_max: int = Field(default=200, ge=1, le=10_000)
    # cells a gateway sent that the fleet refused (over the zone's budget, or a second value
    # for a published cell) stay on the alerts page this long after the last one
    alert_refused_cell_window_s: int = Field(default=86400, ge=60)

    # dashboard
    dashboard_stats_cache_s: float = Field(default=5.0, ge=0, le=600)
    dashboard_live_interval_s: float = Field(default=5.0, gt=0, le=300)
    # a live-update stream ends after this long; the browser reconnects (and re-authenticates)
    dashboard_live_max_s: int = Field(default=300, ge=1)
    dashboard_timezone: str = "Europe/Paris"
    language_cookie_name: str = "territoire_lang"

    # open data (NGSI-LD address and provider of the published entities)
    open_data_city: str = Field(default="Angers", min_length=1, max_length=100)
    open_data_provider: str = Field(default="Territoire", min_length=1, max_length=200)

    # public map (docs/fleet.md): zones on a plain background, unless the deployment has a tile
    # server: its https URL template ({z}, {x}, {y}) and the attribution its licence requires
    public_map_tile_url: str | None = Field(default=None, max_length=500, pattern=TILE_URL_PATTERN)
    public_map_tile_attribution: str = Field(default="", max_length=300)
    # published cells one map or chart page may read (30 days of 5-minute cells of 40 zones)
    public_map_max_cells: int = Field(default=400_000, ge=1000, le=10_000_000)

    # over-the-air updates (docs/ota-rollouts.md)
    max_release_bundle_bytes: int = Field(default=MAX_BUNDLE_BYTES, ge=1024, le=MAX_BUNDLE_BYTES)
    ota_status_items_max: int = Field(
        default=OTA_STATUS_ITEMS_MAX, ge=OTA_STATUS_ITEMS_MAX, le=100_000
    )
    # a full batch of ota_status_items_max items (about 100 bytes each) fits
    max_ota_status_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # a node that went into trial and still reports another version this long after is failed
    ota_trial_grace_s: int = Field(default=900, ge=60, le=7 * 86400)
    ota_window_timezone: str = "Europe/Paris"
    rollout_nodes_max: int = Field(default=5000, ge=1, le=100_000)  # per rollout detail page
    release_keys_max: int = Field(default=20, ge=1, le=1000)

    @field_validator("public_map_tile_url")
    @classmethod
    def _tile_template(cls, v: str | None) -> str | None:
        if v is not None and not all(k in v for k in ("{z}", "{x}", "{y}")):
            raise ValueError("a tile URL template has {z}, {x} and {y}")
        return v

    @model_validator(mode="after")
    def _bounded_history(self) -> Settings:
        if self.health_history_span_s > 5000 * self.health_history_bucket_s:
            raise ValueError("health history: at most 5000 buckets per node (span / bucket)")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"trusted_proxies: {item!r} is not an IP network") from exc
        return [item.strip() for item in v]

    @field_validator("privacy_zone_epsilon")
    @classmethod
    def _zone_budgets(cls, v: dict[str, float]) -> dict[str, float]:
        for zone, eps in v.items():
            if not _SLUG.match(zone) or not 0 < eps <= 100:
                raise ValueError("zone budgets: a zone id and an epsilon in (0, 100]")
        return v

    def zone_budget(self, zone_id: str) -> float:
        """The zone's daily epsilon, all gateways together."""
        return self.privacy_zone_epsilon.get(zone_id, self.privacy_zone_epsilon_per_day)

    @field_validator(
        "dashboard_timezone", "ota_window_timezone", "register_timezone", "privacy_timezone"
    )
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return v

    def master_key_bytes(self) -> bytes:
        """The 32-byte master key; the published development key only in development."""
        if self.master_key_file is not None:
            try:
                text = self.master_key_file.read_text()
            except OSError as exc:
                raise ConfigError(f"cannot read master key file: {exc.strerror}") from exc
            return _decode_key(text)
        if self.master_key is not None:
            return _decode_key(self.master_key.get_secret_value())
        if self.environment != "development":
            raise ConfigError(
                "no master key: set TERRITOIRE_FLEET_MASTER_KEY_FILE (or _MASTER_KEY) "
                "outside development"
            )
        return DEV_MASTER_KEY

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment != "development"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
