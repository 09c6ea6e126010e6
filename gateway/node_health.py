"""What the gateway learns of each node's health from its traffic (in memory; snapshotted to
the store and the fleet by the service): when it was last heard, how many of its readings were
accepted, its firmware version, last values and battery from its readings, what its state
reports say (slot, boot, buffer, signal, hardware), why its messages were refused, and how many
of its readings were held back from the figures (rate limited or suspect: gateway/aggregate.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable
from typing import Any

from gateway.ingest import Batch

__all__ = ["NodeHealth"]


class NodeHealth:
    def __init__(self) -> None:
        self.last_seen: dict[str, float] = {}
        self.accepted: Counter[str] = Counter()
        self.health: dict[str, dict[str, Any]] = {}
        self.rejections: dict[str, Counter[str]] = {}
        self.held: dict[str, Counter[str]] = {}  # node -> reason -> readings held back
        self.dirty: set[str] = set()  # nodes changed since the last snapshot

    def record(self, batch: Batch, known: Container[str], now: float) -> None:
        """Fold in a committed batch. Refusals count for nodes of the registry only: a name
        in a forged topic must not grow these tables."""
        for reading, _zone, _received in batch.accepted:
            node_id = reading.node_id
            self.last_seen[node_id] = now
            self.accepted[node_id] += 1
            h = self.health.setdefault(node_id, {})
            h["fw"] = reading.fw
            h["last_values"] = " ".join(f"{k}={v:g}" for k, v in reading.measures.items())
            if reading.bat is not None:
                h["battery_v"] = reading.bat
            self.dirty.add(node_id)
        for state in batch.states:
            self.last_seen[state.node_id] = now
            h = self.health.setdefault(state.node_id, {})
            h.update({"status": state.status, "boot": state.boot, **state.extra})
            self.dirty.add(state.node_id)
        for _at, sender, reason, _detail, _size in batch.quarantine:
            if sender is not None and sender in known:
                self.rejections.setdefault(sender, Counter())[reason] += 1
                self.dirty.add(sender)

    def record_held(self, held: Iterable[tuple[str, int, int, str]]) -> None:
        """Count readings held back, (node_id, counter, t, reason): of verified nodes only."""
        for node_id, _counter, _t, reason in held:
            self.held.setdefault(node_id, Counter())[reason] += 1
            self.dirty.add(node_id)

    def running_versions(self) -> dict[str, str]:
        """Firmware version each node last reported (readings and state reports)."""
        return {n: str(h["fw"]) for n, h in self.health.items() if h.get("fw")}

    def changed_items(self, now: float) -> list[dict[str, Any]]:
        """The fleet's health items of the nodes changed since the last snapshot."""
        items = []
        for node_id in sorted(self.dirty):
            h = self.health.get(node_id, {})
            item: dict[str, Any] = {
                "node_id": node_id,
                "last_seen": int(self.last_seen.get(node_id, now)),
                "battery_v": h.get("battery_v"),
                "rssi": h.get("rssi"),
                "fw": h.get("fw", ""),
                "slot": h.get("slot", ""),
                "boot": h.get("boot", 0),
                "buffered": h.get("buf", 0),
                "rejected": dict(self.rejections.get(node_id, {})),
                "suspect": dict(self.held.get(node_id, {})),
            }
            if "hw" in h:  # from the node's state; only then, so a fleet keeps what it knows
                item["hw"] = h["hw"]
            items.append(item)
        return items
