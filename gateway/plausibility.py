"""Is a genuine reading physically plausible for its node? Pure: values in, a verdict out.

Three rules per metric, with the parameters of ``gateway.plausibility_rules.PLAUSIBILITY``
(sources there):

- ``suspect_bounds``: outside the sensor model's measuring range;
- ``suspect_rate``: further from the node's last plausible value than the quantity can move in
  the time between them (WMO step test), when that value is at most ``step_max_gap_s`` old;
- ``suspect_stuck``: the same value ``stuck_n`` readings in a row spanning ``stuck_s`` seconds,
  for a metric whose sensor noise makes that impossible while it works.

A reading is suspect as a whole when one of its values is (the node's sensors share a bus, a
supply and a clock); its first failing rule, in the order above, is the reason. The last
plausible value moves only with plausible readings, so a spike is caught without catching the
return from it, and a genuine step is accepted once enough time has passed for it.

Memory: one entry per (node, metric), at most ``max_entries``; beyond, the entries heard
from longest ago (by reading time) are forgotten. Everything depends only on the sequence of
readings, so replaying the same readings after a restart gives the same verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from gateway.config import PlausibilitySettings
from gateway.plausibility_rules import PLAUSIBILITY, MetricRule

__all__ = ["BOUNDS", "RATE", "STUCK", "Plausibility"]

BOUNDS: Final = "suspect_bounds"
RATE: Final = "suspect_rate"
STUCK: Final = "suspect_stuck"

# entry: [last plausible value, its t, run value, run length, run's first t, last t heard]
_LAST_V, _LAST_T, _RUN_V, _RUN_N, _RUN_T0, _SEEN = range(6)


def _judge(rule: MetricRule, v: float, t: int, e: list[Any] | None, gap: int) -> str | None:
    if not rule.lo <= v <= rule.hi:
        return BOUNDS
    if e is None:
        return None
    if rule.step_per_min is not None and e[_LAST_T] is not None:
        dt = abs(t - e[_LAST_T])
        allowed = rule.step_per_min * dt / 60 + rule.step_tolerance
        if dt <= gap and abs(v - e[_LAST_V]) > allowed:
            return RATE
    if rule.stuck_n and v == e[_RUN_V]:
        run_n, run_t0 = e[_RUN_N] + 1, e[_RUN_T0]
        if run_n >= rule.stuck_n and t - run_t0 >= rule.stuck_s:
            return STUCK
    return None


class Plausibility:
    __slots__ = ("entries", "rules", "settings")

    def __init__(
        self,
        settings: PlausibilitySettings | None = None,
        rules: Mapping[str, MetricRule] = PLAUSIBILITY,
    ) -> None:
        self.settings = settings or PlausibilitySettings()
        self.rules = rules
        self.entries: dict[tuple[str, str], list[Any]] = {}

    def judge(self, node: str, t: int, measures: Mapping[str, float]) -> str | None:
        """The reason the reading is suspect, or None; remembers it either way."""
        if not self.settings.enabled:
            return None
        gap = self.settings.step_max_gap_s
        verdict = None
        for key, v in measures.items():
            rule = self.rules.get(key)
            if rule is None:
                continue
            reason = _judge(rule, v, t, self.entries.get((node, key)), gap)
            if reason is not None and (verdict is None or _ORDER[reason] < _ORDER[verdict]):
                verdict = reason
        for key, v in measures.items():
            if key in self.rules:
                self._remember(node, key, v, t, plausible=verdict is None)
        return verdict

    def _remember(self, node: str, key: str, v: float, t: int, *, plausible: bool) -> None:
        e = self.entries.get((node, key))
        if e is None:
            if len(self.entries) >= self.settings.max_entries:
                self._forget()
            e = self.entries[(node, key)] = [None, None, v, 0, t, t]
        if v == e[_RUN_V]:
            e[_RUN_N] += 1
        else:
            e[_RUN_V], e[_RUN_N], e[_RUN_T0] = v, 1, t
        if plausible:
            e[_LAST_V], e[_LAST_T] = v, t
        e[_SEEN] = max(e[_SEEN], t)

    def _forget(self) -> None:
        # a tenth at a time, so a flood of new nodes costs one sort per tenth, not per reading
        drop = max(1, len(self.entries) // 10)
        stalest = sorted(self.entries, key=lambda k: (self.entries[k][_SEEN], k))[:drop]
        for k in stalest:
            del self.entries[k]

    # ------------------------------------------------------------------ state
    def to_state(self) -> list[list[Any]]:
        return [[node, key, *e] for (node, key), e in sorted(self.entries.items())]

    @classmethod
    def from_state(
        cls, state: list[list[Any]], settings: PlausibilitySettings | None = None
    ) -> Plausibility:
        p = cls(settings)
        for row in state:
            node, key, last_v, last_t, run_v, run_n, run_t0, seen = row
            nums = (run_v, run_n, run_t0, seen)
            if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in nums):
                raise TypeError(f"bad plausibility entry {row!r}")
            if (last_v is None) != (last_t is None):
                raise TypeError(f"bad plausibility entry {row!r}")
            p.entries[(str(node), str(key))] = [last_v, last_t, run_v, run_n, run_t0, seen]
        return p


_ORDER: Final = {BOUNDS: 0, RATE: 1, STUCK: 2}
