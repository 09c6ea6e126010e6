"""Per-zone daily differential-privacy budget: the ledger (pure state) and the noise (OpenDP).

Accounting is in integer micro-epsilon (1 epsilon = 1_000_000) so that sums are exact and a
reload never rounds a budget open. Epsilons compose by addition (sequential composition of pure
epsilon-DP, as OpenDP's own sequential composition does for ``MaxDivergence``). Each release is
an OpenDP discrete Laplace measurement whose privacy loss is read back with ``map`` and charged
rounded UP, so the ledger never under-counts what OpenDP says was spent.

The budget "day" is the calendar day in Europe/Paris of the window's start: the day the people
were in the street, not the day the figure left the gateway. A late publication of yesterday's
window therefore draws on yesterday's budget. Days of 23 or 25 hours (daylight saving) get the
same daily epsilon; a window's share is proportional to its length within ITS day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import opendp.prelude as dp

from gateway.config import PrivacySettings

__all__ = [
    "BUDGET_TZ",
    "MICRO",
    "CountRelease",
    "PrivacyLedger",
    "budget_day",
    "day_span",
    "plan_count",
    "release_count",
    "window_allowance_micro",
]

MICRO = 1_000_000
BUDGET_TZ = PrivacySettings().budget_tz  # the privacy settings say which day counts
_LEDGER_VERSION = 1

dp.enable_features("contrib")  # OpenDP gates its non-vetted constructors behind this flag


def budget_day(t: float, tz: str = BUDGET_TZ) -> str:
    """The calendar day (ISO ``YYYY-MM-DD``) in ``tz`` of the instant ``t`` (Unix seconds)."""
    return datetime.fromtimestamp(t, ZoneInfo(tz)).date().isoformat()


def day_span(day: str, tz: str = BUDGET_TZ) -> tuple[int, int]:
    """Unix seconds of the first and of the first-after-last instant of ``day`` in ``tz``."""
    zone = ZoneInfo(tz)
    d = date.fromisoformat(day)
    start = datetime.combine(d, time(0), tzinfo=zone).timestamp()
    end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=zone).timestamp()
    return int(start), int(end)


def window_allowance_micro(epsilon_day: float, start: int, end: int, tz: str = BUDGET_TZ) -> int:
    """A window's planned share of its day's budget: proportional to its length, rounded down,
    so the windows of a day never plan more than the day holds."""
    d0, d1 = day_span(budget_day(start, tz), tz)
    day_micro = round(epsilon_day * MICRO)
    return min(day_micro, day_micro * (end - start) // (d1 - d0))


# ------------------------------------------------------------------------------- the ledger
@dataclass(frozen=True)
class PrivacyLedger:
    """What has been spent and published, per zone; immutable, every change returns a new one.

    ``spent[zone][day]``: micro-epsilon spent. ``stopped[zone]``: days whose publication stopped
    because the budget ran out. ``published_until[zone]``: end of the last window decided for
    the zone (published or suppressed); nothing may be published before it again, which is what
    keeps published windows from overlapping. Days before ``floor_day`` are forgotten and closed.
    """

    spent: dict[str, dict[str, int]] = field(default_factory=dict)
    stopped: dict[str, tuple[str, ...]] = field(default_factory=dict)
    published_until: dict[str, int] = field(default_factory=dict)
    floor_day: str = ""

    def spent_micro(self, zone: str, day: str) -> int:
        return self.spent.get(zone, {}).get(day, 0)

    def is_stopped(self, zone: str, day: str) -> bool:
        return day in self.stopped.get(zone, ())

    def remaining_micro(self, zone: str, day: str, budget_micro: int) -> int:
        if self.is_stopped(zone, day):
            return 0
        return max(0, budget_micro - self.spent_micro(zone, day))

    def try_charge(
        self, zone: str, day: str, micro: int, budget_micro: int
    ) -> PrivacyLedger | None:
        """The ledger after spending ``micro`` on (zone, day), or None if that would exceed it."""
        if micro < 0:
            raise ValueError("a charge cannot be negative")
        if self.is_stopped(zone, day) or self.spent_micro(zone, day) + micro > budget_micro:
            return None
        days = {**self.spent.get(zone, {}), day: self.spent_micro(zone, day) + micro}
        return replace(self, spent={**self.spent, zone: days})

    def stop(self, zone: str, day: str) -> PrivacyLedger:
        days = tuple(sorted({*self.stopped.get(zone, ()), day}))
        return replace(self, stopped={**self.stopped, zone: days})

    def mark_published(self, zone: str, end: int) -> PrivacyLedger:
        until = max(end, self.published_until.get(zone, end))
        return replace(self, published_until={**self.published_until, zone: until})

    def prune(self, floor_day: str) -> PrivacyLedger:
        """Forget the days before ``floor_day``; they stay closed for publication for good."""
        floor = max(floor_day, self.floor_day)
        spent = {z: {d: m for d, m in ds.items() if d >= floor} for z, ds in self.spent.items()}
        stopped = {z: tuple(d for d in ds if d >= floor) for z, ds in self.stopped.items()}
        return PrivacyLedger(
            spent={z: ds for z, ds in spent.items() if ds},
            stopped={z: ds for z, ds in stopped.items() if ds},
            published_until=dict(self.published_until),
            floor_day=floor,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": _LEDGER_VERSION,
            "spent_micro": {z: dict(sorted(ds.items())) for z, ds in sorted(self.spent.items())},
            "stopped": {z: list(ds) for z, ds in sorted(self.stopped.items())},
            "published_until": dict(sorted(self.published_until.items())),
            "floor_day": self.floor_day,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PrivacyLedger:
        """Rebuild from :meth:`to_dict`; ValueError on anything malformed (never a silent reset:
        a budget that reloads as empty would hand out the day's epsilon twice)."""
        try:
            if d["version"] != _LEDGER_VERSION:
                raise ValueError(f"unknown ledger version {d['version']!r}")
            spent = {
                str(z): {_day(day): _micro(m) for day, m in ds.items()}
                for z, ds in d["spent_micro"].items()
            }
            stopped = {str(z): tuple(sorted(_day(x) for x in ds)) for z, ds in d["stopped"].items()}
            until = {str(z): _micro(e) for z, e in d["published_until"].items()}
            floor = d["floor_day"]
            if floor != "":
                floor = _day(floor)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed privacy ledger: {exc!r}") from exc
        return cls(spent=spent, stopped=stopped, published_until=until, floor_day=floor)


def _day(v: object) -> str:
    if not isinstance(v, str):
        raise TypeError(f"bad day {v!r}")
    return date.fromisoformat(v).isoformat()


def _micro(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise TypeError(f"bad ledger amount {v!r}")
    return v


# ------------------------------------------------------------------------------- the noise
@dataclass(frozen=True, slots=True)
class CountRelease:
    """A planned noisy count: the true value, the sensitivity it was calibrated for, the noise
    scale and the micro-epsilon it costs (OpenDP's ``map(sensitivity)``, rounded up)."""

    true_value: int
    sensitivity: int
    scale: float
    charge_micro: int


@lru_cache(maxsize=512)
def _count_measurement(scale: float) -> dp.Measurement:
    # integers in, integers out: OpenDP's Laplace on an integer domain is the discrete Laplace
    # (two-sided geometric) mechanism, sampled exactly without floating-point artefacts
    return dp.m.make_laplace(dp.atom_domain(T="i64"), dp.absolute_distance(T="i64"), scale=scale)


def plan_count(true_value: int, sensitivity: int, epsilon_micro: int) -> CountRelease | None:
    """Calibrate a discrete Laplace release of ``true_value`` to cost at most ``epsilon_micro``;
    None when that allowance is zero (nothing can be released for free)."""
    if sensitivity < 1:
        raise ValueError("sensitivity must be a positive integer")
    if epsilon_micro < 1:
        return None
    # aim a hair below the allowance: OpenDP rounds its privacy map conservatively upwards
    scale = sensitivity / (epsilon_micro / MICRO * (1 - 1e-9))
    spent = float(_count_measurement(scale).map(sensitivity))  # type: ignore[no-untyped-call]
    charge = math.ceil(Fraction(spent) * MICRO)  # exact: the float's true value, rounded up
    if charge > epsilon_micro:
        raise RuntimeError(f"calibration overshot: {charge} > {epsilon_micro} micro-epsilon")
    return CountRelease(true_value, sensitivity, scale, charge)


def release_count(plan: CountRelease) -> int:
    """Draw the noisy value (OpenDP's sampler: a CSPRNG, not seedable by design)."""
    noisy: int = _count_measurement(plan.scale)(plan.true_value)
    return noisy
