"""Issue 12, the gateway's side, written as attacks on what is published: the noisy threshold,
exact n, no extremes, p95 from enough samples, per-cell noise notes, the fleet's allotment per
zone across two gateways, and the contract every record keeps."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.aggregate import Aggregator, AggregatorSettings, WindowStats
from gateway.allotment import Allotment, parse
from gateway.anonymize import PrivacySettings, anonymize, plan_publication, threshold_release
from gateway.opendata import csv_text, load_zones, ngsi_entities
from gateway.privacy_budget import MICRO, PrivacyLedger, budget_day, plan_count
from gateway.publisher import cell_from_record, cell_record
from protocol.codec import Reading
from protocol.published_cells import ci90, noise_quantile, validate_cell
from tests.gateway.test_opendata import REPO

S = PrivacySettings()
P95_MIN = AggregatorSettings().p95_min_samples
ZONES = load_zones(REPO / "data" / "zones" / "angers-quartiers.geojson")
PARIS_DAY = int(datetime(2025, 6, 14, 22, tzinfo=UTC).timestamp())  # 2025-06-15 00:00 Paris


def people_cell(start: int, people: int, zone: str = "centre", nodes: int = 3) -> WindowStats:
    return WindowStats(zone, "people_n", start, start + 3600, 12, nodes, 0.0, 0.0, 0.0, None,
                       people)  # fmt: skip


# ------------------------------------------------------------------------- the threshold
def test_whether_a_cell_appears_changes_by_at_most_e_epsilon_between_neighbouring_counts() -> None:
    """The attack of the audit: a count of k is published, k - 1 never. Now the threshold is on
    the noisy count: over many draws of the real release (hourly default: epsilon 1/3 per
    cell), P(shown | k - 1) / P(shown | k) stays within e^-epsilon..e^epsilon, with a slack
    computed from the binomial standard errors (5 sigma), not guessed."""
    k = S.k_people
    allowance = 8 * MICRO // 24
    plan_k = plan_count(k, S.people_sensitivity, allowance)
    plan_below = plan_count(k - 1, S.people_sensitivity, allowance)
    assert plan_k is not None
    assert plan_below is not None
    eps = plan_k.charge_micro / MICRO
    draws = 4000
    shown_k = sum(threshold_release(plan_k, k) is not None for _ in range(draws))
    shown_below = sum(threshold_release(plan_below, k) is not None for _ in range(draws))
    p_k, p_below = shown_k / draws, shown_below / draws
    assert 0 < p_below < p_k < 1
    ratio = p_below / p_k
    # delta method: sd(ratio) ~ ratio * sqrt((1-p1)/(N p1) + (1-p2)/(N p2))
    sd = ratio * math.sqrt((1 - p_k) / (draws * p_k) + (1 - p_below) / (draws * p_below))
    assert math.exp(-eps) - 5 * sd <= ratio <= math.exp(eps) + 5 * sd, (ratio, sd, eps)
    # and it is the discrete Laplace's own ratio e^(-1/scale), not an accident
    assert ratio == pytest.approx(math.exp(-1 / plan_k.scale), abs=5 * sd)


# ------------------------------------------------------------------------- n, extremes, p95
def test_n_is_never_noisy() -> None:
    for _ in range(50):
        for c in anonymize([people_cell(PARIS_DAY, 400)], PrivacyLedger(), S).cells:
            assert c.n == 12, "n is the true number of readings"


_reading_counts = st.lists(st.integers(1, 30), min_size=3, max_size=5)


@settings(max_examples=40, deadline=None)
@given(_reading_counts)
def test_p95_min_and_max_never_appear_below_the_stated_n(per_node: list[int]) -> None:
    """Readings from 3-5 nodes through the real aggregator and anonymiser: p95 only from
    p95_min_samples readings (the audit saw p95 beside n = 3: n was the noisy one); min and
    max never at all, in the record, the CSV and NGSI-LD."""
    agg = Aggregator(AggregatorSettings(window_s=3600))
    for i, count in enumerate(per_node):
        for j in range(count):
            agg.add(Reading(f"n{i}", 1, j + 1, PARIS_DAY + j, "1", {"temp_c": 20.0 + i + j / 10}),
                    "centre")
    pub = anonymize(agg.close(PARIS_DAY + 7200), PrivacyLedger(), S)
    (cell,) = pub.cells
    record = cell_record(cell, P95_MIN)
    assert validate_cell(record, P95_MIN) == []
    assert record["n"] == sum(per_node)
    assert (record["p95"] is not None) == (sum(per_node) >= P95_MIN)
    assert record["min"] is None
    assert record["max"] is None
    text = csv_text([cell], ZONES)
    assert "min" not in text.splitlines()[0].split(",")
    (entity,) = ngsi_entities([cell], ZONES)
    prop = entity["temperature"]
    assert "minOverTime" not in prop
    assert "maxOverTime" not in prop
    assert ("percentile95" in prop) == (sum(per_node) >= P95_MIN)


# ------------------------------------------------------------------------- per-cell notes
def test_noise_quantile_is_the_exact_90_percent_quantile_of_the_discrete_laplace() -> None:
    for scale in (0.5, 2.0, 6.0, 12.0, 144.0):
        a = math.exp(-1 / scale)

        def within(q: int, a: float = a) -> float:  # P(|X| <= q), exactly
            return 1 - 2 * a ** (q + 1) / (1 + a)

        q = noise_quantile(scale)
        assert within(q) >= 0.9
        assert q == 0 or within(q - 1) < 0.9


def test_every_shown_count_carries_its_own_epsilon_scale_and_interval_in_csv_and_ngsi_ld() -> None:
    pub = anonymize([people_cell(PARIS_DAY + h * 3600, 300) for h in range(3)],
                    PrivacyLedger(), S)
    shown = [c for c in pub.cells if not c.suppressed]
    assert shown
    rows = csv_text(shown, ZONES).splitlines()
    header = rows[0].split(",")
    for c, row in zip(sorted(shown, key=lambda c: c.start), rows[1:], strict=True):
        assert c.dp is not None
        assert c.people is not None
        eps = float(row.split(",")[header.index("dp_epsilon")])
        # this cell's epsilon (one hour's share of 8), never the zone's daily budget
        assert eps == c.dp.epsilon == pytest.approx(8 / 24, rel=1e-5)
        assert float(row.split(",")[header.index("dp_scale")]) == c.dp.scale
        lo, hi = ci90(c.people, c.dp.scale)
        assert row.split(",")[header.index("people_ci90_low")] == str(lo)
        assert row.split(",")[header.index("people_ci90_high")] == str(hi)
        assert validate_cell(cell_record(c, P95_MIN), P95_MIN) == []
        assert cell_from_record(cell_record(c, P95_MIN)) == c
    for entity in ngsi_entities(shown, ZONES):
        count = entity["peopleCount"]
        assert count["dpMechanism"]["value"] == "discrete_laplace"
        assert count["dpEpsilon"]["value"] == pytest.approx(8 / 24, rel=1e-5)
        lo, hi = ci90(count["value"], count["dpNoiseScale"]["value"])
        assert count["confidenceInterval90"]["value"] == [lo, hi]


def test_a_suppressed_people_cell_is_sent_with_the_epsilon_its_decision_spent() -> None:
    for _ in range(30):
        (c,) = anonymize([people_cell(PARIS_DAY, 0)], PrivacyLedger(), S).cells
        record = cell_record(c, P95_MIN)
        assert validate_cell(record, P95_MIN) == []
        if c.suppressed:
            assert record["suppressed_reason"] == "below_threshold"
            assert record["dp"]["epsilon"] > 0
            assert record["dp"]["ci90"] is None
            assert (record["people"], record["n"]) == (None, None)


# ------------------------------------------------------------------------- the allotment
def _micro(eps: list[float]) -> int:
    """Epsilons add up exactly in micro-epsilon: each cell's is an integer charge / 10^6."""
    return sum(round(e * MICRO) for e in eps)


def _day_of(gateway_allotment: float) -> list[float]:
    """A full Paris day of hourly people counts published by one gateway through the real
    anonymiser and ledger; the epsilon of every cell it decided."""
    allot = Allotment({"centre": gateway_allotment})
    ledger, spent = PrivacyLedger(), []
    for h in range(24):
        pub = anonymize([people_cell(PARIS_DAY + h * 3600, 120)], ledger, S, allot)
        ledger = pub.ledger
        spent += [c.dp.epsilon for c in pub.cells if c.dp is not None]
    assert ledger.spent_micro("centre", budget_day(PARIS_DAY)) <= gateway_allotment * MICRO
    return spent


def test_two_gateways_serving_one_zone_spend_at_most_the_zones_daily_epsilon() -> None:
    """The audit's attack: two gateways each spending 8 on one zone gave it 16. With the fleet
    allotting each its share, the per-cell epsilons of the zone's day add up to at most 8."""
    first, second = _day_of(4.0), _day_of(4.0)
    assert len(first) == len(second) == 24  # every hour was released (noise drawn)
    assert _micro(first) <= 4 * MICRO
    assert _micro(second) <= 4 * MICRO
    assert _micro(first + second) <= S.budget_micro


def test_a_zone_the_fleet_allotted_nothing_publishes_nothing() -> None:
    temp = WindowStats("doutre", "temp_c", PARIS_DAY, PARIS_DAY + 3600, 60, 3, 20.0, 19.0, 21.0,
                       20.0, None)  # fmt: skip
    cells = [people_cell(PARIS_DAY, 300, zone="doutre"), temp]
    pub = anonymize(cells, PrivacyLedger(), S, Allotment({"centre": 8.0}))
    assert [c.reason for c in pub.cells] == ["budget_exhausted"] * 2
    assert all(c.dp is None for c in pub.cells)  # no noise drawn, nothing spent
    # an older fleet (no privacy section at all): the configured budget applies
    legacy = anonymize(cells, PrivacyLedger(), S, None)
    assert "budget_exhausted" not in {c.reason for c in legacy.cells}


def test_a_larger_allotment_never_widens_the_configured_budget() -> None:
    plan = plan_publication([people_cell(PARIS_DAY, 300)], PrivacyLedger(), S,
                            Allotment({"centre": 50.0}))
    (p,) = plan.cells
    assert p.people is not None
    assert p.people.charge_micro <= S.budget_micro // 24


def test_windows_the_fleet_already_holds_are_not_decided_again() -> None:
    """A gateway restored from an old backup: its ledger forgot the windows it published since.
    The fleet's decided_until puts them back, so no second value is drawn for them."""
    allot = Allotment({"centre": 8.0}, {"centre": PARIS_DAY + 5 * 3600})
    old = [people_cell(PARIS_DAY + h * 3600, 300) for h in range(7)]
    pub = anonymize(old, PrivacyLedger(), S, allot)
    assert {c.start for c in pub.cells} == {PARIS_DAY + 5 * 3600, PARIS_DAY + 6 * 3600}
    assert pub.outcomes["overlap"] == 5


@pytest.mark.parametrize(
    "section",
    [None, [], {"zone_epsilon": {"centre": -1}}, {"zone_epsilon": {"centre": True}},
     {"zone_epsilon": {"Bad Zone": 1.0}}, {"zone_epsilon": {}, "decided_until": {"c": -5}},
     {"zone_epsilon": {"centre": 101}}],
)  # fmt: skip
def test_a_malformed_allotment_is_refused(section: object) -> None:
    with pytest.raises(ValueError, match=r"privacy|allotment|decided_until"):
        parse(section)


def test_the_epsilon_of_a_day_of_windows_sums_within_the_cap_for_any_allotment() -> None:
    per_zone: dict[str, list[float]] = defaultdict(list)
    allot = Allotment({"centre": 3.3, "doutre": 0.7})
    ledger = PrivacyLedger()
    for h in range(24):
        cells = [people_cell(PARIS_DAY + h * 3600, 50, z) for z in ("centre", "doutre")]
        pub = anonymize(cells, ledger, S, allot)
        ledger = pub.ledger
        for c in pub.cells:
            per_zone[c.zone] += [c.dp.epsilon] if c.dp else []
    assert _micro(per_zone["centre"]) <= 3_300_000
    assert _micro(per_zone["doutre"]) <= 700_000
    assert _micro(per_zone["centre"]) > 3_299_000  # and the allotment is used, not wasted
