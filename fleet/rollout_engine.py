"""Rollout decisions (docs/ota-rollouts.md): pure functions of a rollout's definition, its
members' states and the time. No database, no clock: ``fleet.crud.rollouts`` loads the values,
calls :func:`decide` and stores what it returns.

The model is hawkBit's: ordered groups, each with a success threshold (the fraction of its
members confirmed that opens the next group) and an error threshold (the fraction failed that
pauses the whole rollout by itself, as AWS IoT jobs' abort criteria stop a job). A node is
offered the release only while the rollout runs, its group is open and the maintenance window
(daily, in the territory's time zone) is open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fleet.rollout_targeting import GroupSpec

__all__ = [
    "Decision",
    "GroupProgress",
    "MemberState",
    "Outcome",
    "RolloutSpec",
    "Status",
    "Window",
    "decide",
    "outcome",
]

Status = Literal["running", "paused", "aborted", "completed"]
Outcome = Literal["pending", "in_progress", "trial", "confirmed", "failed"]
# what a node reports about an update (contract: progress message "st")
REPORTED = ("downloading", "switching", "confirmed", "rolled_back", "refused")
TERMINAL_FAILURES = frozenset({"rolled_back", "refused"})


@dataclass(frozen=True, slots=True)
class Window:
    """A daily window in local time, minutes after midnight; may cross midnight."""

    start_min: int
    end_min: int

    def contains(self, now: float, tz: ZoneInfo) -> bool:
        local = datetime.fromtimestamp(now, tz)
        minute = local.hour * 60 + local.minute
        if self.start_min < self.end_min:
            return self.start_min <= minute < self.end_min
        return minute >= self.start_min or minute < self.end_min


@dataclass(frozen=True, slots=True)
class RolloutSpec:
    rollout_id: int
    version: str
    status: Status
    groups: tuple[GroupSpec, ...]
    window: Window | None
    tz: ZoneInfo
    open_groups: int  # groups opened so far (never decreases)
    # failures per group the operator accepted by resuming after an automatic pause
    accepted_failures: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class MemberState:
    """A member node as reported: its running version (health ``fw``, None if never seen),
    when that health was measured, and its last OTA status for this rollout's version."""

    node_id: str
    group: int
    running: str | None = None
    running_at: int = 0
    status: str | None = None  # one of REPORTED
    status_at: int = 0


@dataclass(frozen=True, slots=True)
class GroupProgress:
    index: int
    total: int
    pending: int = 0
    in_progress: int = 0
    trial: int = 0
    confirmed: int = 0
    failed: int = 0
    open: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    status: Status
    open_groups: int
    targets: frozenset[str]  # nodes to offer the release to now
    outcomes: Mapping[str, Outcome]
    groups: tuple[GroupProgress, ...]
    paused_reason: str | None = None  # set when this decision paused the rollout
    in_window: bool = True
    notes: tuple[str, ...] = field(default=())


def outcome(member: MemberState, version: str, *, trial_grace_s: int) -> Outcome:
    """A member's state from what the node itself reported (never from what was offered).

    Confirmed: it reported ``confirmed`` for this version, or its health shows this version
    outside a trial. Failed: ``rolled_back`` or ``refused``, or it went into trial
    (``switching``) and later health, past the grace, still shows another version.
    """
    st = member.status
    if st == "confirmed":
        return "confirmed"
    if st in TERMINAL_FAILURES:
        return "failed"
    if st == "switching":
        if member.running == version:
            return "trial"
        if member.running_at > member.status_at + trial_grace_s:
            return "failed"
        return "in_progress"
    if member.running == version:
        return "confirmed"
    if st == "downloading":
        return "in_progress"
    return "pending"


def _progress(index: int, outcomes: Sequence[Outcome], *, is_open: bool) -> GroupProgress:
    return GroupProgress(
        index=index,
        total=len(outcomes),
        pending=outcomes.count("pending"),
        in_progress=outcomes.count("in_progress"),
        trial=outcomes.count("trial"),
        confirmed=outcomes.count("confirmed"),
        failed=outcomes.count("failed"),
        open=is_open,
    )


def _over_error(g: GroupProgress, spec: GroupSpec, accepted: int) -> bool:
    failed = g.failed - accepted
    return g.total > 0 and failed > 0 and failed / g.total > spec.error


def _succeeded(g: GroupProgress, spec: GroupSpec) -> bool:
    return g.total == 0 or g.confirmed / g.total >= spec.success


def decide(
    spec: RolloutSpec, members: Sequence[MemberState], now: float, *, trial_grace_s: int
) -> Decision:
    """What the rollout does now: its status, how many groups are open, whom to offer."""
    outcomes = {m.node_id: outcome(m, spec.version, trial_grace_s=trial_grace_s) for m in members}
    per_group: list[list[Outcome]] = [[] for _ in spec.groups]
    for m in members:
        if 0 <= m.group < len(per_group):
            per_group[m.group].append(outcomes[m.node_id])
    status = spec.status
    open_groups = max(1, min(spec.open_groups, len(spec.groups)))
    paused_reason: str | None = None
    progress = [_progress(i, o, is_open=i < open_groups) for i, o in enumerate(per_group)]
    accepted = spec.accepted_failures + (0,) * (len(spec.groups) - len(spec.accepted_failures))
    if status == "running":
        # error first: a group past its error threshold stops everything, before any opening
        for g in progress[:open_groups]:
            if _over_error(g, spec.groups[g.index], accepted[g.index]):
                status, paused_reason = "paused", f"error_threshold:group{g.index + 1}"
                break
        else:
            # no member yet (a rollout started before any node matched): open nothing, so
            # the first nodes to join are still its canaries
            while (
                members
                and open_groups < len(spec.groups)
                and _succeeded(progress[open_groups - 1], spec.groups[open_groups - 1])
            ):
                open_groups += 1
            progress = [_progress(i, o, is_open=i < open_groups) for i, o in enumerate(per_group)]
            done = all(o in ("confirmed", "failed") for o in outcomes.values())
            if open_groups == len(spec.groups) and done and members:
                status = "completed"
    in_window = spec.window is None or spec.window.contains(now, spec.tz)
    targets: frozenset[str] = frozenset()
    if status == "running" and in_window:
        targets = frozenset(
            m.node_id
            for m in members
            if 0 <= m.group < open_groups and outcomes[m.node_id] not in ("confirmed", "failed")
        )
    return Decision(
        status=status,
        open_groups=open_groups,
        targets=targets,
        outcomes=outcomes,
        groups=tuple(progress),
        paused_reason=paused_reason,
        in_window=in_window,
    )
