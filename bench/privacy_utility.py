"""What the published people counts are worth with the shipped defaults, and what a zone spends.

Prints ONE JSON line (figures in docs/privacy.md and docs/performance.md):
- ``median_rel_error``: median |published - true| / true of an hourly people count at true 30,
  100 and 300 people, through the real anonymiser (OpenDP's discrete Laplace), one gateway with
  the default budget (8 a Paris day: 1/3 per hourly window), and ``..._half_allotment`` for a
  zone the fleet splits between two gateways (4 each);
- ``suppressed_share``: share of draws suppressed by the noisy threshold (k_people = 11; there
  is no floor any more);
- ``zone_epsilon_two_gateways``: the epsilon a zone spends in a full Paris day of hourly windows
  published by two gateways, each within the allotment the fleet gives it (4 + 4), added from
  the per-cell epsilons they publish; ``goal_met``: error at 100 <= 5 % and that epsilon <= 8.

Usage: python -m bench.privacy_utility [--draws 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import UTC, datetime

import orjson

from gateway.aggregate import WindowStats
from gateway.allotment import Allotment
from gateway.anonymize import anonymize
from gateway.config import PrivacySettings
from gateway.privacy_budget import MICRO, PrivacyLedger

S = PrivacySettings()
DAY = int(datetime(2025, 6, 14, 22, tzinfo=UTC).timestamp())  # 2025-06-15 00:00 in Paris


def _cell(start: int, people: int) -> WindowStats:
    return WindowStats("centre", "people_n", start, start + 3600, 12, 3, 0.0, 0.0, 0.0, None,
                       people)  # fmt: skip


def _draws(true: int, draws: int, allot: Allotment | None) -> tuple[float, float]:
    errors, hidden = [], 0
    for _ in range(draws):
        (c,) = anonymize([_cell(DAY + 12 * 3600, true)], PrivacyLedger(), S, allot).cells
        if c.people is None:
            hidden += 1
        else:
            errors.append(abs(c.people - true) / true)
    return (statistics.median(errors) if errors else float("nan")), hidden / draws


def _zone_day_two_gateways() -> float:
    micro = 0
    for _gateway in range(2):
        ledger, allot = PrivacyLedger(), Allotment({"centre": S.epsilon_per_zone_day / 2})
        for h in range(24):
            pub = anonymize([_cell(DAY + h * 3600, 100)], ledger, S, allot)
            ledger = pub.ledger
            micro += sum(round(c.dp.epsilon * MICRO) for c in pub.cells if c.dp is not None)
    return micro / MICRO


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=2000)
    args = ap.parse_args(argv)
    out: dict[str, object] = {"epsilon_per_zone_day": S.epsilon_per_zone_day, "window_s": 3600,
                              "k_people": S.k_people, "draws": args.draws}  # fmt: skip
    err, hid, half = {}, {}, {}
    for true in (30, 100, 300):
        err[str(true)], hid[str(true)] = _draws(true, args.draws, None)
        half[str(true)], _ = _draws(true, args.draws, Allotment({"centre": 4.0}))
    zone_eps = _zone_day_two_gateways()
    out |= {
        "median_rel_error": {k: round(v, 4) for k, v in err.items()},
        "median_rel_error_half_allotment": {k: round(v, 4) for k, v in half.items()},
        "suppressed_share": hid,
        "zone_epsilon_two_gateways": round(zone_eps, 6),
        "goal_met": err["100"] <= 0.05 and zone_eps <= S.epsilon_per_zone_day,
    }
    sys.stdout.write(orjson.dumps(out).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
