"""What the gateway learns of each node's health from a committed batch (pure state)."""

from __future__ import annotations

from gateway.ingest import Batch
from gateway.node_health import NodeHealth
from protocol.codec import Reading, State


def _batch() -> Batch:
    b = Batch()
    b.accepted.append((Reading("ang-0001", 1, 7, 1000, "0.2.0", {"temp_c": 21.5}, 3.9),
                       "centre", 1001.0))
    b.states.append(State("ang-0002", 1, 1000, "online", 4, {"slot": "b", "buf": 12}))
    b.quarantine.append((1001.0, "ang-0001", "bad_mac", "", 1))
    b.quarantine.append((1001.0, "ang-9999", "unknown_node", "", 1))  # not in the registry
    b.quarantine.append((1001.0, None, "malformed", "topic", 1))
    return b


def test_a_batch_updates_last_seen_counts_values_state_and_refusals_of_known_nodes() -> None:
    h = NodeHealth()
    h.record(_batch(), {"ang-0001", "ang-0002"}, now=1002.0)
    assert h.last_seen == {"ang-0001": 1002.0, "ang-0002": 1002.0}
    assert h.accepted == {"ang-0001": 1}
    assert h.health["ang-0001"] == {"fw": "0.2.0", "last_values": "temp_c=21.5", "battery_v": 3.9}
    assert h.health["ang-0002"] == {"status": "online", "boot": 4, "slot": "b", "buf": 12}
    # a name in a forged topic grows nothing
    assert h.rejections == {"ang-0001": {"bad_mac": 1}}
    assert h.running_versions() == {"ang-0001": "0.2.0"}


def test_changed_items_are_the_fleets_health_items_of_the_nodes_changed_since_the_snapshot(
) -> None:
    h = NodeHealth()
    h.record(_batch(), {"ang-0001", "ang-0002"}, now=1002.0)
    items = h.changed_items(now=1003.0)
    assert [i["node_id"] for i in items] == ["ang-0001", "ang-0002"]
    assert items[0] == {"node_id": "ang-0001", "last_seen": 1002, "battery_v": 3.9, "rssi": None,
                        "fw": "0.2.0", "slot": "", "boot": 0, "buffered": 0,
                        "rejected": {"bad_mac": 1}, "suspect": {}}
    assert items[1]["slot"] == "b"
    assert items[1]["buffered"] == 12
    h.dirty.clear()  # what the service does once the snapshot is stored
    assert h.changed_items(now=1004.0) == []


def test_the_hardware_a_node_states_reaches_the_fleets_health_item_and_stays() -> None:
    h = NodeHealth()
    b = Batch()
    b.states.append(State("ang-0003", 1, 1000, "online", 1, {"fw": "0.2.0", "hw": "esp32"}))
    h.record(b, {"ang-0003"}, now=1001.0)
    (item,) = h.changed_items(now=1002.0)
    assert item["hw"] == "esp32"
    h.dirty.clear()
    later = Batch()  # a reading alone: the hardware is still the one stated
    later.accepted.append((Reading("ang-0003", 1, 8, 1100, "0.2.0", {"temp_c": 20.0}, None),
                           "centre", 1101.0))
    h.record(later, {"ang-0003"}, now=1102.0)
    (item,) = h.changed_items(now=1103.0)
    assert item["hw"] == "esp32"
