"""Which nodes a rollout covers and in which group (docs/ota-rollouts.md): pure functions of
node facts, the rollout's id and its group definitions.

Every choice is a hash of node id and rollout id, so it is the same on every worker and at
every evaluation, and a node registered during the rollout lands where the first members'
distribution says.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "GroupSpec",
    "NodeFacts",
    "Target",
    "assign_groups",
    "bucket",
    "group_of_late_joiner",
    "group_sizes",
    "groups_of_newcomers",
    "matches",
    "not_eligible",
]


@dataclass(frozen=True, slots=True)
class Target:
    """Which nodes a rollout covers: every non-empty filter must match; ``percent`` keeps a
    deterministic share of those (by a hash of node id and rollout id)."""

    zones: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    profiles: frozenset[str] = frozenset()
    percent: float = 100.0


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A share of the target: ``percent`` of it, or ``count`` nodes (exactly one is set)."""

    percent: float | None
    count: int | None
    success: float  # 0..1: fraction confirmed that opens the next group
    error: float  # 0..1: fraction failed beyond which the rollout pauses itself


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """What the fleet knows of a node, for targeting."""

    node_id: str
    zone: str
    profile: str
    tags: frozenset[str] = frozenset()
    active: bool = True
    hw: str | None = None  # the hardware the node reports; None until it has


def not_eligible(node: NodeFacts, hardware: str) -> str | None:
    """Why a node the target selects cannot take a release built for ``hardware`` (None: it
    can). A node of another hardware would refuse it (``wrong_hw``) and count as a failure, so
    it is left out. A node whose hardware is not known yet (it never stated it: an older
    firmware, or never connected) stays eligible: the node checks the manifest's hardware
    itself and refuses a release not built for it, so nothing wrong is ever installed."""
    if node.hw is not None and node.hw != hardware:
        return "hardware"
    return None


def bucket(node_id: str, rollout_id: int) -> float:
    """A node's deterministic place in [0, 1) for this rollout (uniform over node ids)."""
    digest = hashlib.sha256(f"territoire/v1 rollout|{rollout_id}|{node_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def matches(target: Target, node: NodeFacts, rollout_id: int) -> bool:
    if not node.active:
        return False
    if target.zones and node.zone not in target.zones:
        return False
    if target.profiles and node.profile not in target.profiles:
        return False
    if target.tags and not (target.tags & node.tags):
        return False
    return bucket(node.node_id, rollout_id) * 100 < target.percent


def group_sizes(groups: Sequence[GroupSpec], total: int) -> list[int]:
    """Members per group when the rollout starts with ``total`` nodes; the last group takes
    whatever the others leave, so every target node is in exactly one group."""
    sizes: list[int] = []
    left = total
    for i, g in enumerate(groups):
        if i == len(groups) - 1:
            n = left
        elif g.count is not None:
            n = min(g.count, left)
        else:
            n = min(math.ceil((g.percent or 0) * total / 100), left)
        sizes.append(n)
        left -= n
    return sizes


def assign_groups(
    rollout_id: int, groups: Sequence[GroupSpec], node_ids: Iterable[str]
) -> dict[str, int]:
    """Groups at the start: nodes ranked by their bucket, then cut by :func:`group_sizes`."""
    ranked = sorted(node_ids, key=lambda n: (bucket(n, rollout_id), n))
    out: dict[str, int] = {}
    i = 0
    for index, size in enumerate(group_sizes(groups, len(ranked))):
        for node_id in ranked[i : i + size]:
            out[node_id] = index
        i += size
    return out


def group_of_late_joiner(rollout_id: int, node_id: str, start_sizes: Sequence[int]) -> int:
    """The group of a node that joined after the start: its bucket against the boundaries the
    start's sizes drew, so late joiners spread as the first members did."""
    total = sum(start_sizes)
    if total == 0:  # see groups_of_newcomers: a start with no node has no boundaries
        return len(start_sizes) - 1
    h = bucket(node_id, rollout_id)
    edge = 0
    for index, size in enumerate(start_sizes):
        edge += size
        if h < edge / total:
            return index
    return len(start_sizes) - 1


def groups_of_newcomers(
    rollout_id: int,
    groups: Sequence[GroupSpec],
    start_sizes: Sequence[int],
    current: Sequence[int],
    node_ids: Iterable[str],
) -> dict[str, int]:
    """Groups of nodes joining after the start (``current``: members per group now).

    Normally their bucket against the start's boundaries. A rollout started before any node
    matched has no boundaries: it fills its groups in order instead, sized for the members it
    has so far, so its first nodes are its canaries as they would have been at a start.
    """
    if sum(start_sizes) > 0:
        return {n: group_of_late_joiner(rollout_id, n, start_sizes) for n in node_ids}
    counts = list(current) + [0] * (len(groups) - len(current))
    out: dict[str, int] = {}
    for node_id in sorted(node_ids, key=lambda n: (bucket(n, rollout_id), n)):
        want = group_sizes(groups, sum(counts) + 1)
        index = next((i for i, c in enumerate(counts) if c < want[i]), len(groups) - 1)
        counts[index] += 1
        out[node_id] = index
    return out
