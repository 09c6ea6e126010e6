"""The published-cell contract: one ``aggregates[]`` item a gateway sends to the fleet ingest.

Shared by the gateway (which builds cells) and the fleet (which validates and stores them);
documented in docs/fleet.md ("Published cells"). Pure functions of values.

A cell is one zone x metric x window. Keys, always all present:
``zone, metric, start, period_s`` locate it; ``n`` is the exact number of readings (never
noisy: periodic sensors report the same number whoever passes; null in a suppressed cell);
``mean``; ``min`` and ``max`` are always null (a window's extreme is one node's raw reading);
``p95`` is null unless ``n >= p95_min_samples``; ``people`` is the noisy people count or null;
``suppressed`` and ``suppressed_reason`` (one of :data:`REASONS`) say whether and why the
values are withheld;
``dp`` is null when no noise was drawn, else ``{"mechanism": "discrete_laplace", "epsilon": ε
spent on THIS cell, "scale": noise scale, "ci90": [lo, hi] or null}``: ``ci90`` is the
published people count +- the 90 % quantile of the noise's absolute value (lo floored at 0),
null when nothing was published. A suppressed cell is sent too (values null, ``dp`` kept when
noise was drawn for the decision), so the fleet can count suppressions and the epsilon spent.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "CI_LEVEL",
    "KEYS",
    "MECHANISM",
    "REASONS",
    "build_cell",
    "ci90",
    "dp_note",
    "noise_quantile",
    "validate_cell",
]

MECHANISM = "discrete_laplace"
REASONS = ("too_few_nodes", "below_threshold", "budget_exhausted")
CI_LEVEL = 0.90
KEYS = (
    "zone", "metric", "start", "period_s", "n", "mean", "min", "max", "p95", "people",
    "suppressed", "suppressed_reason", "dp",
)  # fmt: skip
_DP_KEYS = {"mechanism", "epsilon", "scale", "ci90"}


def noise_quantile(scale: float, level: float = CI_LEVEL) -> int:
    """The smallest integer q with P(|X| <= q) >= level for the discrete Laplace X of ``scale``
    (P(X = k) proportional to exp(-|k| / scale)): P(|X| > q) = 2 a^(q+1) / (1 + a), a = e^(-1/b).
    """
    if scale <= 0 or not 0 < level < 1:
        raise ValueError("scale > 0 and 0 < level < 1 are required")
    a = math.exp(-1.0 / scale)
    q = math.ceil(math.log((1 - level) * (1 + a) / 2) / math.log(a)) - 1
    return max(0, q)


def ci90(published: int, scale: float) -> list[int]:
    q = noise_quantile(scale)
    return [max(0, published - q), published + q]


def dp_note(epsilon: float, scale: float, published: int | None) -> dict[str, Any]:
    """The ``dp`` object of a cell for which discrete Laplace noise was drawn."""
    return {
        "mechanism": MECHANISM,
        "epsilon": epsilon,
        "scale": scale,
        "ci90": None if published is None else ci90(published, scale),
    }


def build_cell(
    *,
    zone: str,
    metric: str,
    start: int,
    period_s: int,
    n: int | None,
    mean: float | None,
    p95: float | None,
    people: int | None,
    reason: str | None,
    dp: dict[str, Any] | None,
    p95_min_samples: int,
) -> dict[str, Any]:
    """A cell record by the contract: min/max null, p95 dropped below ``p95_min_samples``, every
    value null when ``reason`` (a suppression) is given."""
    if reason is not None and reason not in REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}")
    hidden = reason is not None
    return {
        "zone": zone,
        "metric": metric,
        "start": start,
        "period_s": period_s,
        "n": None if hidden else n,
        "mean": None if hidden else mean,
        "min": None,
        "max": None,
        "p95": None if hidden or n is None or n < p95_min_samples else p95,
        "people": None if hidden else people,
        "suppressed": hidden,
        "suppressed_reason": reason,
        "dp": dp,
    }


def validate_cell(cell: dict[str, Any], p95_min_samples: int) -> list[str]:
    """What is wrong with ``cell`` by the contract ([] when nothing)."""
    bad: list[str] = []
    if set(cell) != set(KEYS):
        return [f"keys {sorted(set(cell) ^ set(KEYS))} differ from the contract"]
    n = cell["n"]
    if n is None and not cell["suppressed"]:
        bad.append("a published cell gives its n")
    if n is None or isinstance(n, bool) or not isinstance(n, int) or n < 0:
        if n is not None:
            bad.append("n must be an exact non-negative integer")
        n = 0
    if cell["min"] is not None or cell["max"] is not None:
        bad.append("min and max are never published")
    if cell["p95"] is not None and n < p95_min_samples:
        bad.append(f"p95 given from {n} < {p95_min_samples} samples")
    reason = cell["suppressed_reason"]
    if cell["suppressed"] is not (reason is not None) or reason not in (None, *REASONS):
        bad.append("suppressed and suppressed_reason disagree")
    if reason is not None and any(cell[k] is not None for k in ("n", "mean", "p95", "people")):
        bad.append("a suppressed cell carries values")
    dp = cell["dp"]
    if dp is not None:
        if not isinstance(dp, dict) or set(dp) != _DP_KEYS or dp["mechanism"] != MECHANISM:
            return [*bad, "dp is not {mechanism, epsilon, scale, ci90}"]
        if not (isinstance(dp["epsilon"], float) and dp["epsilon"] > 0 and dp["scale"] > 0):
            bad.append("dp epsilon and scale must be positive")
        people = cell["people"]
        want = None if people is None else ci90(people, float(dp["scale"]))
        if dp["ci90"] != want:
            bad.append(f"ci90 {dp['ci90']!r} is not {want!r}")
    elif cell["people"] is not None:
        bad.append("a people count published without its dp")
    return bad
