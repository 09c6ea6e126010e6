"""One open aggregation cell (zone x metric x window): exact, order-independent accumulators.

Values are quantised to the metric's wire precision (``protocol.metrics.Metric.decimals``) and
summed as integers, so the result never depends on the order readings arrive in (float sums do).
The p95 comes from a bounded histogram of those integers: exact while the cell holds at most
``max_bins`` distinct values; beyond that, neighbouring bins merge (the bin width doubles) until
it fits again. The final width is the smallest one at which *all* the values fit, whatever their
order, so the p95 stays order-independent; its error is at most half a bin.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

__all__ = ["Cell", "energy_units", "p95_rank"]

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


class Cell:
    """Accumulators of one cell; ``peaks`` maps each node to the highest value it sent."""

    __slots__ = ("bins", "energy", "level", "max_q", "min_q", "n", "peaks", "sum_q")

    def __init__(self) -> None:
        self.n = 0
        self.sum_q = 0
        self.min_q = 0
        self.max_q = 0
        self.energy = 0
        self.level = 0
        self.bins: dict[int, int] = {}
        self.peaks: dict[str, int] = {}

    def add(self, node: str, q: int, max_bins: int) -> None:
        if self.n == 0:
            self.min_q = self.max_q = q
        elif q < self.min_q:
            self.min_q = q
        elif q > self.max_q:
            self.max_q = q
        self.n += 1
        self.sum_q += q
        peak = self.peaks.get(node)
        if peak is None or q > peak:
            self.peaks[node] = q
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

    def energy_mean_db(self) -> float:
        return 10.0 * math.log10(self.energy / self.n / _ENERGY_UNITS_PER_UNIT)

    # ------------------------------------------------------------------ state
    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "sum_q": self.sum_q,
            "min_q": self.min_q,
            "max_q": self.max_q,
            "energy": self.energy,
            "level": self.level,
            "bins": sorted(self.bins.items()),
            "peaks": dict(sorted(self.peaks.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cell:
        cell = cls()
        cell.n = _int(d["n"])
        cell.sum_q = _int(d["sum_q"])
        cell.min_q = _int(d["min_q"])
        cell.max_q = _int(d["max_q"])
        cell.energy = _int(d["energy"])
        cell.level = _int(d["level"])
        cell.bins = {_int(b): _int(c) for b, c in d["bins"]}
        cell.peaks = {str(k): _int(v) for k, v in d["peaks"].items()}
        if cell.n <= 0 or sum(cell.bins.values()) != cell.n or not cell.peaks:
            raise ValueError("inconsistent cell state")
        return cell


def _int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected an integer, got {v!r}")
    return v
