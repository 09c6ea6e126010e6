"""Counters and gauges of the gateway, rendered in the Prometheus text format (version 0.0.4)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Metrics", "render"]

PREFIX = "territoire_gateway_"


@dataclass
class Metrics:
    accepted: int = 0
    duplicates: int = 0
    # accepted readings flagged people_sat: a counter's table filled, its people_n a lower bound
    people_saturated: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    acks_sent: int = 0
    batches: int = 0
    batch_seconds_sum: float = 0.0
    purged: int = 0
    evicted: Counter[str] = field(default_factory=Counter)
    uplink_batches: int = 0
    uplink_failures: int = 0
    aggregates_published: int = 0
    aggregates_suppressed: Counter[str] = field(default_factory=Counter)  # cells, by reason
    late_dropped: int = 0
    # (node, reason) -> readings stored but kept out of the figures (gateway/aggregate.py)
    held_back: Counter[tuple[str, str]] = field(default_factory=Counter)
    # zone -> (share of today's privacy budget spent, 1 when its publication stopped today)
    privacy_today: dict[str, tuple[float, int]] = field(default_factory=dict)
    ota_bytes_served: int = 0
    ota_chunks_served: int = 0
    ota_refused: Counter[str] = field(default_factory=Counter)  # node requests, by reason
    ota_fetched_bytes: int = 0  # release objects downloaded from the fleet
    ota_releases_refused: Counter[str] = field(default_factory=Counter)
    ota_progress: Counter[str] = field(default_factory=Counter)
    ota_cache_bytes: int = 0
    ota_offers: Counter[str] = field(default_factory=Counter)  # by trigger: schedule, heard


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    """Counters exactly (``%g`` would print 1234567 as 1.23457e+06), other values in full."""
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def render(
    m: Metrics,
    *,
    outbox_depth: int,
    uplink_lag_s: float,
    last_seen_age: dict[str, float],
    accepted_by_node: dict[str, int],
    stored_readings: int,
    disk_bytes: int,
) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {PREFIX}{name} {help_}")
        lines.append(f"# TYPE {PREFIX}{name} {kind}")
        for labels, value in samples:
            lines.append(f"{PREFIX}{name}{labels} {_number(value)}")

    def labelled(label: str, values: dict[str, float]) -> list[tuple[str, float]]:
        return [(f'{{{label}="{_escape(k)}"}}', v) for k, v in sorted(values.items())]

    metric(
        "readings_accepted_total", "counter", "Readings verified and stored.", [("", m.accepted)]
    )
    metric(
        "readings_people_saturated_total",
        "counter",
        "Accepted people counts from a full table (people_sat): a lower bound, aggregated as is.",
        [("", m.people_saturated)],
    )
    metric(
        "readings_duplicate_total",
        "counter",
        "Redelivered readings recognised by counter (acknowledged again, counted once).",
        [("", m.duplicates)],
    )
    metric(
        "readings_rejected_total",
        "counter",
        "Messages refused, by reason.",
        labelled("reason", dict(m.rejected)) or [('{reason="none"}', 0)],
    )
    metric(
        "acks_sent_total",
        "counter",
        "End-to-end acknowledgements sent to nodes.",
        [("", m.acks_sent)],
    )
    metric("batches_total", "counter", "Ingest batches committed.", [("", m.batches)])
    metric(
        "batch_commit_seconds_sum",
        "counter",
        "Seconds from each batch's verification to its acknowledgement (the commit included).",
        [("", m.batch_seconds_sum)],
    )
    metric(
        "readings_stored", "gauge", "Raw readings held (retention window).", [("", stored_readings)]
    )
    metric(
        "readings_purged_total",
        "counter",
        "Raw readings deleted after the retention period.",
        [("", m.purged)],
    )
    metric(
        "evicted_total",
        "counter",
        "Records dropped: the disk bound was reached, or the fleet refused them for good.",
        labelled("kind", dict(m.evicted)) or [('{kind="none"}', 0)],
    )
    metric("disk_bytes", "gauge", "Bytes used by the gateway database.", [("", disk_bytes)])
    metric(
        "outbox_depth",
        "gauge",
        "Records waiting for the uplink to the fleet.",
        [("", outbox_depth)],
    )
    metric(
        "uplink_lag_seconds",
        "gauge",
        "Age of the oldest record waiting for the uplink.",
        [("", uplink_lag_s)],
    )
    metric(
        "uplink_batches_total",
        "counter",
        "Batches delivered to the fleet.",
        [("", m.uplink_batches)],
    )
    metric("uplink_failures_total", "counter", "Failed uplink attempts.", [("", m.uplink_failures)])
    metric(
        "aggregates_published_total",
        "counter",
        "Aggregate cells published.",
        [("", m.aggregates_published)],
    )
    metric(
        "aggregates_suppressed_total",
        "counter",
        "Aggregate cells not published, by reason (docs/privacy.md).",
        labelled("reason", dict(m.aggregates_suppressed)) or [('{reason="none"}', 0)],
    )
    metric(
        "privacy_budget_spent_ratio",
        "gauge",
        "Share of the zone's differential-privacy budget spent today (Europe/Paris day).",
        labelled("zone", {z: spent for z, (spent, _stopped) in m.privacy_today.items()}),
    )
    metric(
        "privacy_zone_stopped",
        "gauge",
        "1 when the zone's publication stopped for the rest of today: its budget ran out.",
        labelled("zone", {z: stopped for z, (_spent, stopped) in m.privacy_today.items()}),
    )
    metric(
        "late_readings_total",
        "counter",
        "Readings too late for their closed window.",
        [("", m.late_dropped)],
    )
    metric("ota_bytes_served_total", "counter", "Update bytes served to nodes in chunks.",
           [("", m.ota_bytes_served)])
    metric("ota_chunks_served_total", "counter", "Update chunks served to nodes.",
           [("", m.ota_chunks_served)])
    metric(
        "ota_requests_refused_total",
        "counter",
        "Update requests from nodes refused, by reason.",
        labelled("reason", dict(m.ota_refused)) or [('{reason="none"}', 0)],
    )
    metric("ota_fetched_bytes_total", "counter", "Release bytes downloaded from the fleet.",
           [("", m.ota_fetched_bytes)])
    metric(
        "ota_releases_refused_total",
        "counter",
        "Releases refused by the gateway's own verification, by reason.",
        labelled("reason", dict(m.ota_releases_refused)) or [('{reason="none"}', 0)],
    )
    metric(
        "ota_progress_total",
        "counter",
        "Update progress reports from nodes, by state.",
        labelled("state", dict(m.ota_progress)) or [('{state="none"}', 0)],
    )
    metric(
        "ota_offers_total",
        "counter",
        "Update offers sent to nodes, by trigger: schedule, or heard (with a node's readings).",
        labelled("trigger", dict(m.ota_offers)) or [('{trigger="none"}', 0)],
    )
    metric("ota_cache_bytes", "gauge", "Release objects cached on disk.",
           [("", m.ota_cache_bytes)])
    metric(
        "node_readings_held_back_total",
        "counter",
        "Readings stored and acknowledged but kept out of the figures, by node and reason "
        "(rate_limited, suspect_bounds, suspect_rate, suspect_stuck; docs/gateway.md).",
        [
            (f'{{node="{_escape(node)}",reason="{_escape(reason)}"}}', count)
            for (node, reason), count in sorted(m.held_back.items())
        ],
    )
    metric(
        "node_readings_accepted_total",
        "counter",
        "Readings verified and stored, by node, since the gateway started.",
        labelled("node", dict(accepted_by_node)),
    )
    metric(
        "node_last_seen_age_seconds",
        "gauge",
        "Seconds since each node was last heard.",
        labelled("node", last_seen_age),
    )
    return "\n".join(lines) + "\n"
