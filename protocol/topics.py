"""MQTT topic names of protocol v1 (docs/protocol.md, "Topics")."""

from __future__ import annotations

from protocol.codec import valid_node_id

__all__ = ["PREFIX", "node_topic", "parse_node_topic"]

PREFIX = "territoire/v1/node"
KINDS = ("reading", "state", "ack", "cmd", "ota")


def node_topic(node_id: str, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown topic kind {kind!r}")
    return f"{PREFIX}/{node_id}/{kind}"


def parse_node_topic(topic: str) -> tuple[str, str] | None:
    """(node_id, kind) of a node topic, or None when the topic is not one of ours."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != PREFIX:
        return None
    node_id, kind = parts[3], parts[4]
    if not valid_node_id(node_id) or kind not in KINDS:
        return None
    return node_id, kind
