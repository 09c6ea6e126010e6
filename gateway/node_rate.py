"""A node's share of a window: at most ``cap`` of its readings are aggregated per window.

Pure: no I/O, no clock. The window is the aggregation window of the reading's OWN timestamp
(``t - t % window_s``), not of its arrival: a node back from an outage sends its stored backlog
at once, but those readings were measured across the windows of the outage, each of which gets
its fair share; a flood of readings stamped "now" lands in one window and is cut at ``cap``.

``cap = ceil(window_s / interval_s * margin)``: what a node measuring every ``interval_s`` puts
in a window, with room for jitter, a reboot's resend and a clock step. Each node has its own:
``cap_of`` (given by the shell, from the node's interval as the fleet synced it) answers it per
node, and ``cap`` serves a node whose interval is not known. Counts are kept for the
open windows only (:meth:`NodeRate.forget_before` drops closed ones), so the table is bounded
by open windows x nodes of the registry (a reading reaches here only once verified).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["CapOf", "NodeRate", "window_cap"]

# a node's cap per window, by node id
CapOf = Callable[[str], int]


def window_cap(window_s: int, interval_s: float, margin: float) -> int:
    """Readings of one node a window may fold in (at least 1)."""
    return max(1, math.ceil(window_s / interval_s * margin - 1e-9))


class NodeRate:
    """Readings admitted per (window start, node)."""

    __slots__ = ("cap", "cap_of", "counts")

    def __init__(self, cap: int, cap_of: CapOf | None = None) -> None:
        self.cap = cap  # every node's without ``cap_of``
        self.cap_of = cap_of
        self.counts: dict[int, dict[str, int]] = {}

    def cap_for(self, node: str) -> int:
        return self.cap if self.cap_of is None else self.cap_of(node)

    def admit(self, node: str, start: int) -> bool:
        """Count one reading of ``node`` in the window starting at ``start``; False (and not
        counted) once the node has had its cap there (asked at each reading: a node whose
        interval changes mid-window keeps what it was admitted and gets the new cap)."""
        window = self.counts.get(start)
        if window is None:
            window = self.counts[start] = {}
        seen = window.get(node, 0)
        if seen >= self.cap_for(node):
            return False
        window[node] = seen + 1
        return True

    def forget_before(self, end: int, window_s: int) -> None:
        """Drop the windows that end at or before ``end`` (they are closed)."""
        for start in [s for s in self.counts if s + window_s <= end]:
            del self.counts[start]

    def to_state(self) -> list[list[Any]]:
        counts = sorted(self.counts.items())
        return [[start, dict(sorted(nodes.items()))] for start, nodes in counts]

    @classmethod
    def from_state(cls, state: list[list[Any]], cap: int, cap_of: CapOf | None = None) -> NodeRate:
        rate = cls(cap, cap_of)
        for start, nodes in state:
            if isinstance(start, bool) or not isinstance(start, int):
                raise TypeError(f"bad window start {start!r}")
            counts = {str(k): v for k, v in nodes.items()}
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
                raise TypeError("bad node count")
            rate.counts[start] = counts
        return rate
