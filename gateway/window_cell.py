"""One open aggregation cell (zone x metric x window): exact, order-independent accumulators.

Values are quantised to the metric's wire precision (``protocol.metrics.Metric.decimals``) and
summed as integers, so the result never depends on the order readings arrive in (float sums do).
The p95 comes from a bounded histogram of those integers: exact while the cell holds at most
``max_bins`` distinct values; beyond that, neighbouring bins merge (the bin width doubles) until
it fits again. The final width is the smallest one at which *all* the values fit, whatever their
order, so the p95 stays order-independent; its error is at most half a bin.

Each node has its own accumulators (count, sum, energy, peak), so the window's statistics can
weigh nodes equally (gateway/aggregate.py): a node's memory here is four integers, and the
nodes of a cell are bounded by the registry (a reading reaches a cell only once verified).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

__all__ = ["Cell", "energy_db", "energy_units", "p95_rank"]

# Sound levels average as energies, not as decibels: LAeq = 10 log10(mean(10^(L/10))).
# Energies are kept as integers in thousandths so the sum stays exact and order-independent.
_ENERGY_UNITS_PER_UNIT = 1000


@lru_cache(maxsize=4096)
def energy_units(q: int, scale: int) -> int:
    """Acoustic energy of the level ``q / scale`` dB, as an integer number of 1/1000 units."""
    return round(math.pow(10.0, q / scale / 10.0) * _ENERGY_UNITS_PER_UNIT)


def p95_rank(n: int) -> int:
    """Nearest-rank position of the 95th percentile among ``n`` sorted samples (1-based)."""
    return (95 * n + 99) // 100


# a node's accumulators: [readings, sum of quantised values, sum of energies, highest value]
N, SUM, ENERGY, PEAK = range(4)


class Cell:
    """Accumulators of one cell: the pooled histogram (p95) and ``nodes``, per node, its
    ``[n, sum_q, energy, peak]``. ``min_q``/``max_q`` bound the pooled values (they clip the
    p95 estimate of a coarsened histogram)."""

    __slots__ = ("bins", "level", "max_q", "min_q", "n", "nodes")

    def __init__(self) -> None:
        self.n = 0
        self.min_q = 0
        self.max_q = 0
        self.level = 0
        self.bins: dict[int, int] = {}
        self.nodes: dict[str, list[int]] = {}

    def add(self, node: str, q: int, max_bins: int, energy: int = 0) -> None:
        if self.n == 0:
            self.min_q = self.max_q = q
        elif q < self.min_q:
            self.min_q = q
        elif q > self.max_q:
            self.max_q = q
        self.n += 1
        acc = self.nodes.get(node)
        if acc is None:
            self.nodes[node] = [1, q, energy, q]
        else:
            acc[N] += 1
            acc[SUM] += q
            acc[ENERGY] += energy
            acc[PEAK] = max(acc[PEAK], q)
        bins = self.bins
        b = q >> self.level
        bins[b] = bins.get(b, 0) + 1
        if len(bins) > max_bins:
            self._coarsen(max_bins)

    def _coarsen(self, max_bins: int) -> None:
        bins = self.bins
        while len(bins) > max_bins:
            merged: dict[int, int] = {}
            for b, c in bins.items():
                merged[b >> 1] = merged.get(b >> 1, 0) + c
            bins = merged
            self.level += 1
        self.bins = bins

    def p95_q(self) -> float:
        """The p95 in quantised units: exact at level 0, else the middle of its bin."""
        rank = p95_rank(self.n)
        seen = 0
        for b in sorted(self.bins):
            seen += self.bins[b]
            if seen >= rank:
                if self.level == 0:
                    return float(b)
                width = 1 << self.level
                mid = b * width + (width - 1) / 2
                return min(max(mid, float(self.min_q)), float(self.max_q))
        return float(self.max_q)  # unreachable: the bins hold n samples

    def node_means(self) -> list[float]:
        """Each node's mean, in quantised units, in node order (deterministic)."""
        return [a[SUM] / a[N] for _, a in sorted(self.nodes.items())]

    def node_energy_means(self) -> list[float]:
        """Each node's energy mean, in energy units, in node order."""
        return [a[ENERGY] / a[N] for _, a in sorted(self.nodes.items())]


    # ------------------------------------------------------------------ state
    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "min_q": self.min_q,
            "max_q": self.max_q,
            "level": self.level,
            "bins": sorted(self.bins.items()),
            "nodes": {k: list(v) for k, v in sorted(self.nodes.items())},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cell:
        cell = cls()
        cell.n = _int(d["n"])
        cell.min_q = _int(d["min_q"])
        cell.max_q = _int(d["max_q"])
        cell.level = _int(d["level"])
        cell.bins = {_int(b): _int(c) for b, c in d["bins"]}
        cell.nodes = {str(k): [_int(x) for x in v] for k, v in d["nodes"].items()}
        counts = [a[N] for a in cell.nodes.values()]
        if (cell.n <= 0 or sum(cell.bins.values()) != cell.n or sum(counts) != cell.n
                or any(len(a) != 4 or a[N] <= 0 for a in cell.nodes.values())):
            raise ValueError("inconsistent cell state")
        return cell


def energy_db(energy: float) -> float:
    """The level in dB of an energy in energy units (the inverse of :func:`energy_units`)."""
    return 10.0 * math.log10(energy / _ENERGY_UNITS_PER_UNIT)


def _int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an integer, got {v!r}")
    return v
