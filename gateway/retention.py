"""Retention of raw readings on the gateway (privacy rule 5): the purge decision, nothing else.

A raw reading is kept while its own timestamp ``t`` (when it was measured in the street) is
within the retention period; the service deletes every reading with ``t < purge_cutoff(now)``.
Counting from ``t`` rather than from arrival means a node's old backlog is not kept longer
because it arrived late. Aggregation does not need the raw readings (its windows close minutes
after their end), so the purge never changes a published figure.
"""

from __future__ import annotations

import math

__all__ = ["DEFAULT_RETENTION_H", "MAX_RETENTION_H", "purge_cutoff"]

DEFAULT_RETENTION_H = 72
# the published promise is "72 h by default"; a longer setting must stay a deliberate, bounded
# choice (a week covers a long weekend of uplink outage), never "keep forever"
MAX_RETENTION_H = 7 * 24


def purge_cutoff(now: float, retention_h: float = DEFAULT_RETENTION_H) -> int:
    """The oldest timestamp still kept: delete raw readings with ``t < purge_cutoff(now)``."""
    if not 0 < retention_h <= MAX_RETENTION_H:
        raise ValueError(f"retention must be within (0, {MAX_RETENTION_H}] hours")
    return math.ceil(now - retention_h * 3600)
