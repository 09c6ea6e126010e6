"""Tumbling-window aggregation of accepted readings per (zone, metric). Pure: no I/O, no clock.

Windows are aligned on multiples of ``window_s`` since the Unix epoch (UTC), so with the default
300 s they are the wall clock's 5-minute slots. A reading lands in the window of its OWN timestamp
``t``: a node's offline backlog fills the older windows that are still open. The caller advances
time with :meth:`Aggregator.close`; a window ``[start, end)`` closes when ``now > end + grace_s``
and is emitted exactly once. After that, a reading for it is *late*: it is counted in
``late_dropped`` and changes no aggregate (the service still stores it raw; only the aggregate
refuses it).

Nodes weigh equally (issue #13): a cell keeps each node's count, sum and energy, and a closed
window's ``mean`` is the mean of its nodes' means (for LAeq the energy mean of their energy
means), ``min``/``max`` the lowest and highest node mean; ``p95`` is of the pooled readings,
where one node's share is bounded by its rate (below). ``n`` counts readings, ``nodes`` nodes.

Before a reading is folded in, two judgements keep one node from setting a figure: at most
``node_rate`` readings of a node per window of their timestamps (gateway/node_rate.py; the
cap follows from the node's own interval, which ``interval_of`` answers from the registry the
fleet synced, ``node_rate.interval_s`` when it is not known; the excess is counted
``rate_limited``), and the plausibility rules (gateway/plausibility.py;
``suspect_bounds``, ``suspect_rate``, ``suspect_stuck``). Both are part of the state, so a
replay after a crash decides the same way; ``add`` returns the verdict for the shell to record.

Memory is bounded by ``max_open_cells``: a measure that would open one more cell is not
aggregated and is counted in ``overflow_dropped``. Open windows are naturally few (those within
``window_s + grace_s`` of now, plus the clock-skew allowance), so the cap only bites on a flood of
zones, and then the oldest windows, already open, keep aggregating.

``add`` costs O(number of measures). State round-trips through JSON-able dicts
(:meth:`Aggregator.to_state`, :meth:`Aggregator.from_state`) for the service to persist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from gateway.config import AggregationSettings as AggregatorSettings
from gateway.config import NodeRateSettings, PlausibilitySettings
from gateway.node_rate import NodeRate, window_cap
from gateway.plausibility import BOUNDS, RATE, STUCK, Plausibility
from gateway.window_cell import Cell, energy_db, energy_units
from protocol.codec import Reading
from protocol.metrics import METRICS

__all__ = [
    "ADDED",
    "HELD_BACK",
    "LATE",
    "OVERFLOW",
    "RATE_LIMITED",
    "Aggregator",
    "AggregatorSettings",
    "IntervalOf",
    "WindowStats",
]

ADDED: Final = "added"
LATE: Final = "late"
OVERFLOW: Final = "overflow"
RATE_LIMITED: Final = "rate_limited"
# verdicts of a genuine reading kept out of the figures (stored raw, marked, counted)
HELD_BACK: Final = (RATE_LIMITED, BOUNDS, RATE, STUCK)

# 2: per-node accumulators in cells, node rate and plausibility state (1 is migrated: see
# from_state)
_STATE_VERSION = 2
_SCALE = {key: 10**m.decimals for key, m in METRICS.items()}
# sound levels average as energies; the other metrics arithmetically
_ENERGY_MEAN = frozenset({"laeq_db"})
_COUNTERS = ("readings_added", "late_dropped", "overflow_dropped", "unknown_metric", "emitted",
             *HELD_BACK)


@dataclass(frozen=True, slots=True)
class WindowStats:
    """A closed cell. Internal to the gateway: it is not anonymised yet (see gateway.anonymize).

    ``mean`` is the mean of the node means (for sound levels, LAeq, the energy mean of the
    nodes' energy means); ``min``/``max`` the lowest and highest node mean. ``p95`` is of the
    pooled readings, ``None`` below ``p95_min_samples`` samples. ``n`` counts readings,
    ``nodes`` distinct nodes. ``peak_sum`` (count metrics only) adds up, over the nodes, the
    highest count each node reported in the window.
    """

    zone: str
    metric: str
    start: int
    end: int
    n: int
    nodes: int
    mean: float
    min: float
    max: float
    p95: float | None
    peak_sum: int | None


_NEVER = -(2**62)

# a node's measuring interval in seconds, None when not known (the registry's, by node id)
IntervalOf = Callable[[str], float | None]


class Aggregator:
    """Open windows and their counters. Mutable for speed; see the module doc for the rules."""

    def __init__(
        self,
        settings: AggregatorSettings | None = None,
        node_rate: NodeRateSettings | None = None,
        plausibility: PlausibilitySettings | None = None,
        interval_of: IntervalOf | None = None,
    ) -> None:
        self.settings = settings or AggregatorSettings()
        self._w = self.settings.window_s
        self._open: dict[int, dict[tuple[str, str], Cell]] = {}
        self._cells = 0
        self._closed_until = _NEVER  # every window ending at or before this is closed
        self.counters: Counter[str] = Counter(dict.fromkeys(_COUNTERS, 0))
        r = self._rate_settings = node_rate or NodeRateSettings()
        self._interval_of = interval_of
        self.rate = NodeRate(window_cap(self._w, r.interval_s, r.margin),
                             None if interval_of is None else self._cap_of)
        self.plausibility = Plausibility(plausibility)
        # set by from_state on a version 1 state, whose open cells could not be kept: the
        # caller replays the stored readings measured since closed_until (gateway/publisher.py)
        self.migrated = False

    def _cap_of(self, node: str) -> int:
        """The node's cap from its own interval; the fallback's when it is not known."""
        interval = self._interval_of(node) if self._interval_of is not None else None
        if interval is None:
            return self.rate.cap
        return window_cap(self._w, interval, self._rate_settings.margin)

    @property
    def open_cells(self) -> int:
        return self._cells

    @property
    def closed_until(self) -> int | None:
        """End of the newest closed window, or None before the first close."""
        return None if self._closed_until == _NEVER else self._closed_until

    def add(self, reading: Reading, zone: str) -> str:
        """Fold one accepted reading into its window; returns ADDED, LATE, OVERFLOW, or one of
        HELD_BACK (not folded in: rate limited or suspect)."""
        w = self._w
        start = reading.t - reading.t % w
        if start + w <= self._closed_until:
            self.counters["late_dropped"] += 1
            return LATE
        node = reading.node_id
        if not self.rate.admit(node, start):
            self.counters[RATE_LIMITED] += 1
            return RATE_LIMITED
        suspect = self.plausibility.judge(node, reading.t, reading.measures)
        if suspect is not None:
            self.counters[suspect] += 1
            return suspect
        bucket = self._open.get(start)
        if bucket is None:
            bucket = self._open[start] = {}
        max_bins = self.settings.max_bins
        outcome = ADDED
        for key, value in reading.measures.items():
            scale = _SCALE.get(key)
            if scale is None:
                self.counters["unknown_metric"] += 1
                continue
            cell = bucket.get((zone, key))
            if cell is None:
                if self._cells >= self.settings.max_open_cells:
                    self.counters["overflow_dropped"] += 1
                    outcome = OVERFLOW
                    continue
                cell = bucket[(zone, key)] = Cell()
                self._cells += 1
            q = round(value * scale)
            cell.add(node, q, max_bins, energy_units(q, scale) if key in _ENERGY_MEAN else 0)
        if outcome == ADDED:
            self.counters["readings_added"] += 1
        return outcome

    def close(self, now: float) -> list[WindowStats]:
        """Close and return (once) every window with ``end + grace_s < now``, oldest first."""
        w = self._w
        # the newest window end strictly before now - grace
        edge = int(-((self.settings.grace_s - now) // w) - 1) * w
        self._closed_until = max(self._closed_until, edge)
        out: list[WindowStats] = []
        for start in sorted(s for s in self._open if s + w <= self._closed_until):
            bucket = self._open.pop(start)
            for (zone, metric), cell in sorted(bucket.items()):
                out.append(self._stats(zone, metric, start, cell))
            self._cells -= len(bucket)
        self.rate.forget_before(self._closed_until, w)
        self.counters["emitted"] += len(out)
        return out

    def _stats(self, zone: str, metric: str, start: int, cell: Cell) -> WindowStats:
        scale = _SCALE[metric]
        p95 = None
        if cell.n >= self.settings.p95_min_samples:
            p95 = cell.p95_q() / scale
        is_count = METRICS[metric].is_count
        if metric in _ENERGY_MEAN:
            energies = cell.node_energy_means()
            means = [energy_db(e) for e in energies]
            mean = energy_db(sum(energies) / len(energies))
        else:
            means = [m / scale for m in cell.node_means()]
            mean = sum(means) / len(means)
        return WindowStats(
            zone=zone,
            metric=metric,
            start=start,
            end=start + self._w,
            n=cell.n,
            nodes=len(cell.nodes),
            mean=mean,
            min=min(means),
            max=max(means),
            p95=p95,
            peak_sum=sum(a[3] for a in cell.nodes.values()) // scale if is_count else None,
        )

    # ------------------------------------------------------------------ state
    def to_state(self) -> dict[str, Any]:
        cells = [
            {"zone": zone, "metric": metric, "start": start, **cell.to_dict()}
            for start, bucket in sorted(self._open.items())
            for (zone, metric), cell in sorted(bucket.items())
        ]
        return {
            "version": _STATE_VERSION,
            "window_s": self._w,
            "closed_until": self.closed_until,
            "counters": dict(sorted(self.counters.items())),
            "cells": cells,
            "rate": self.rate.to_state(),
            "plausibility": self.plausibility.to_state(),
        }

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        settings: AggregatorSettings | None = None,
        node_rate: NodeRateSettings | None = None,
        plausibility: PlausibilitySettings | None = None,
        interval_of: IntervalOf | None = None,
    ) -> Aggregator:
        """Rebuild from :meth:`to_state`; ValueError if the state is malformed or was made with
        another window length (its cells would not line up).

        A version 1 state (pooled cells, before nodes weighed equally) keeps its closed windows
        and counters; its open cells cannot be split by node, so they are dropped and
        ``migrated`` is set: the caller rebuilds them from the stored readings."""
        agg = cls(settings, node_rate, plausibility, interval_of)
        try:
            version = state["version"]
            if version not in (1, _STATE_VERSION) or state["window_s"] != agg._w:
                raise ValueError("aggregator state has another version or window length")
            closed = state["closed_until"]
            agg._closed_until = _NEVER if closed is None else int(closed)
            for name, value in state["counters"].items():
                agg.counters[str(name)] = int(value)
            if version == 1:
                agg.migrated = True
                return agg
            # counts only: the caps come from today's intervals, so a replay decides as the
            # live intake does with the registry as it is now
            agg.rate = NodeRate.from_state(state["rate"], agg.rate.cap, agg.rate.cap_of)
            agg.plausibility = Plausibility.from_state(state["plausibility"], plausibility)
            for d in state["cells"]:
                start, zone, metric = int(d["start"]), str(d["zone"]), str(d["metric"])
                if metric not in METRICS or start % agg._w:
                    raise ValueError(f"bad cell {zone}/{metric}@{start}")
                agg._open.setdefault(start, {})[(zone, metric)] = Cell.from_dict(d)
                agg._cells += 1
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed aggregator state: {exc!r}") from exc
        return agg
