"""Settings: no service outside development without a master key; keys from file or env."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from fleet.app import create_app
from fleet.core.config import DEV_MASTER_KEY, ConfigError, Settings
from protocol.gateway_batches import (
    INGEST_AGGREGATE_ITEMS_MAX,
    INGEST_HEALTH_ITEMS_MAX,
    OTA_STATUS_ITEMS_MAX,
)


def test_production_refuses_to_start_without_master_key(tmp_path: Path) -> None:
    s = Settings(environment="production", database_url=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ConfigError, match="no master key"):
        create_app(s)
    assert not (tmp_path / "x.db").exists()  # refused before touching the database


def test_production_refuses_a_malformed_key(tmp_path: Path) -> None:
    s = Settings(
        environment="production",
        master_key=SecretStr("c2hvcnQ="),
        migrate_on_start=False,
        database_url=f"sqlite:///{tmp_path}/x.db",
    )
    with pytest.raises(ConfigError, match="32 bytes"):
        create_app(s)


def test_master_key_from_file(tmp_path: Path) -> None:
    raw = os.urandom(32)
    key_file = tmp_path / "master.key"
    key_file.write_text(base64.urlsafe_b64encode(raw).decode() + "\n")
    s = Settings(environment="production", master_key_file=key_file)
    assert s.master_key_bytes() == raw


def test_missing_key_file_is_a_clear_error(tmp_path: Path) -> None:
    s = Settings(environment="production", master_key_file=tmp_path / "absent.key")
    with pytest.raises(ConfigError, match="cannot read master key file"):
        s.master_key_bytes()


def test_master_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = os.urandom(32)
    monkeypatch.setenv("TERRITOIRE_FLEET_ENVIRONMENT", "production")
    monkeypatch.setenv("TERRITOIRE_FLEET_MASTER_KEY", base64.b64encode(raw).decode())
    assert Settings().master_key_bytes() == raw


def test_development_uses_the_published_development_key() -> None:
    assert Settings(environment="development").master_key_bytes() == DEV_MASTER_KEY


def test_master_key_is_not_in_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    s = Settings(environment="production", master_key=SecretStr(key))
    assert key not in repr(s)
    assert key not in str(s.model_dump())


@pytest.mark.parametrize(
    ("setting", "contract"),
    [
        ("max_ingest_health_items", INGEST_HEALTH_ITEMS_MAX),
        ("max_ingest_aggregate_items", INGEST_AGGREGATE_ITEMS_MAX),
        ("ota_status_items_max", OTA_STATUS_ITEMS_MAX),
    ],
)
def test_a_fleet_never_accepts_less_than_a_gateway_may_send(setting: str, contract: int) -> None:
    assert getattr(Settings(environment="development"), setting) == contract
    assert getattr(Settings(environment="development", **{setting: contract * 2}), setting) > 0
    with pytest.raises(ValidationError, match=setting):
        Settings(environment="development", **{setting: contract - 1})
