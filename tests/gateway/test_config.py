"""The gateway's one TOML file: the shipped example loads, and bad settings are refused by
name."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.config_file import load_settings
from protocol.gateway_batches import INGEST_HEALTH_ITEMS_MAX, OTA_STATUS_ITEMS_MAX

EXAMPLE = Path(__file__).resolve().parents[2] / "gateway" / "deploy" / "gateway.example.toml"


def test_the_shipped_example_configuration_loads_with_its_values() -> None:
    s = load_settings(EXAMPLE)
    assert s.name == "gw-centre"
    assert s.fleet.url == "https://fleet.territoire.example"
    assert s.broker.manage is True  # Mosquitto runs as the gateway's child
    assert s.broker.listen_host == "0.0.0.0"
    assert s.publish.zones_file == "/etc/territoire/zones.geojson"
    assert s.broker.max_queued_messages == 1_000_000
    assert s.ingest.batch_max == 512
    assert s.storage.retention_h == 72


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[uplink]\nurl = "https://x"\n', "unknown setting uplink.url"),
        ("[broker]\nmax_queued_messages = -1\n", "broker.max_queued_messages must not be negative"),
        ('[broker]\nmax_queued_messages = "many"\n', "broker.max_queued_messages must be int"),
        ("broker = 3\n", "broker must be a table"),
        ("[ingest]\nbatch_max = true\n", "ingest.batch_max must be int, not bool"),
    ],
)
def test_a_bad_setting_is_refused_naming_it(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "gateway.toml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(conf)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[privacy]\nk_anonymity = 5\n", "unknown setting privacy.k_anonymity"),
        ('[privacy]\nk_nodes = "3"\n', "privacy.k_nodes must be int, not str"),
        ("[privacy]\nk_nodes = 0\n", "privacy: k_nodes, k_people and keep_days must be >= 1"),
        ("[privacy]\nepsilon_per_zone_day = 0\n", "privacy: 0 < epsilon_per_zone_day <= 100"),
        # no share any more: a window's whole epsilon goes to its people counts
        ("[privacy]\npeople_share = 1.0\n", "unknown setting privacy.people_share"),
        ("[privacy]\nepsilon_per_zone_day = 101\n", "privacy: 0 < epsilon_per_zone_day <= 100"),
        ("privacy = 1\n", "privacy must be a table"),
        ("[aggregation]\nmax_bins = 1\n", "aggregation: max_bins >= 2"),
        ("[http]\nmax_header_bytes = -1\n", "http.max_header_bytes must not be negative"),
        # a batch larger than every fleet accepts (protocol/gateway_batches.py)
        (f"[ota]\nstatus_batch_max = {OTA_STATUS_ITEMS_MAX + 1}\n",
         f"ota: status_batch_max must be 1 to {OTA_STATUS_ITEMS_MAX}"),
        (f"[uplink]\nbatch_max = {INGEST_HEALTH_ITEMS_MAX + 1}\n",
         f"uplink: batch_max must be 1 to {INGEST_HEALTH_ITEMS_MAX}"),
        ("[uplink]\nbatch_max = 0\n", "uplink: batch_max must be 1 to"),
    ],
)
def test_a_bad_privacy_or_limit_setting_is_refused_at_load(
    tmp_path: Path, text: str, message: str
) -> None:
    conf = tmp_path / "gateway.toml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(conf)


def test_the_privacy_section_and_moved_limits_load_typed(tmp_path: Path) -> None:
    conf = tmp_path / "gateway.toml"
    conf.write_text(
        "stop_timeout_s = 3\n"
        "[privacy]\nk_nodes = 5\nepsilon_per_zone_day = 2\nbudget_tz = \"UTC\"\n"
        "[aggregation]\nmax_open_cells = 100\n"
        "[publish]\nrecent_max = 10\n"
        "[ota]\ndocument_max_bytes = 4096\n"
    )
    s = load_settings(conf)
    assert (s.privacy.k_nodes, s.privacy.k_people) == (5, 11)  # unset keys keep their default
    assert s.privacy.epsilon_per_zone_day == 2.0
    assert s.privacy.budget_micro == 2_000_000
    assert s.privacy.budget_tz == "UTC"
    assert s.aggregation.max_open_cells == 100
    assert s.aggregation.max_bins == 256
    assert (s.publish.recent_max, s.ota.document_max_bytes, s.stop_timeout_s) == (10, 4096, 3.0)
    assert load_settings(EXAMPLE).privacy.k_nodes == 3

