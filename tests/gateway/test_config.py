"""The gateway's one TOML file: the shipped example loads, and bad settings are refused by
name."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings

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
