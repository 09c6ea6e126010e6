"""The node self-test's result (firmware/selftest.py): parsed from what the board printed, and
judged. Pure functions of text.

The node reports what it measured; plausibility is judged here against the metric registry
(protocol/metrics.py), the one table of ranges, so the firmware does not carry a second one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from protocol.codec import format_value
from protocol.metrics import BATTERY, METRICS

__all__ = ["Check", "SelftestReport", "parse_selftest", "selftest_code"]


def selftest_code(timeout_ms: int) -> str:
    """What the REPL runs: the app lives in a slot (docs/ota.md), which the loader puts on
    sys.path only when it boots the app. The running slot is read from the loader's record
    here, over the REPL, rather than by a function in the loader: the loader stays resident
    in the node's heap, which has no byte to spare on a noise node."""
    return (
        "import sys, main\n"
        "st = main.load()[0] or {}\n"
        "run = st.get('run') or 'a'\n"
        "sys.path.insert(0, run if main.bootable(run) else ('b' if run == 'a' else 'a'))\n"
        f"import selftest\nselftest.run({int(timeout_ms)})"
    )


# the firmware's live heap peaks at 69-74 KB of 100 KB (docs/firmware.md): less free than this
# with the self-test's modules loaded leaves the node no margin for a burst of messages
HEAP_MIN_FREE = 16 * 1024
# the outbox alone may take 1 MiB of flash (docs/firmware.md, "Offline buffer")
FLASH_MIN_FREE = 1024 * 1024
_MAX_LINES = 200
_RANGES = {**{k: (m.lo, m.hi) for k, m in METRICS.items()}, BATTERY.key: (BATTERY.lo, BATTERY.hi)}


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn, fail
    detail: str


@dataclass
class SelftestReport:
    node_id: str | None = None
    checks: list[Check] = field(default_factory=list)
    finished: bool = False  # the board printed its end line

    @property
    def passed(self) -> bool:
        return self.finished and not any(c.status == "fail" for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "passed": self.passed, "finished": self.finished,
                "checks": [asdict(c) for c in self.checks]}


def _sensor(name: str, detail: str) -> Check:
    try:
        values = json.loads(detail)
    except ValueError:
        return Check(name, "fail", f"unreadable values {detail[:80]!r}")
    if not isinstance(values, dict) or not values:
        return Check(name, "fail", "no values")
    shown, odd = [], []
    for key, value in values.items():
        lo_hi = _RANGES.get(key)
        if not isinstance(value, int | float) or lo_hi is None:
            odd.append(f"{key}={value!r} unknown")
            continue
        metric = METRICS.get(key, BATTERY)
        shown.append(f"{key}={format_value(metric.decimals, value)} {metric.unit}")
        if not lo_hi[0] <= value <= lo_hi[1]:
            odd.append(f"{key}={value:g} outside {lo_hi[0]:g}..{lo_hi[1]:g}")
    if odd:
        return Check(name, "fail", "implausible: " + ", ".join(odd))
    return Check(name, "ok", ", ".join(shown))


def _heap(detail: str) -> Check:
    try:
        free, used = (int(x) for x in detail.split())
    except ValueError:
        return Check("heap", "fail", f"unreadable {detail[:40]!r}")
    text = f"{free // 1024} KB free, {used // 1024} KB used"
    return Check("heap", "ok" if free >= HEAP_MIN_FREE else "fail",
                 text if free >= HEAP_MIN_FREE else f"{text} (needs {HEAP_MIN_FREE // 1024} KB)")


def _flash(detail: str) -> Check:
    try:
        free, size = (int(x) for x in detail.split())
    except ValueError:
        return Check("flash", "warn", detail[:80])
    text = f"{free // 1024} KB free of {size // 1024} KB"
    return Check("flash", "ok" if free >= FLASH_MIN_FREE else "warn",
                 text if free >= FLASH_MIN_FREE else f"{text}: the offline buffer may not fit")


def parse_selftest(output: str) -> SelftestReport:
    """The report of a self-test's printed output (other lines, e.g. a traceback, are kept as
    a failed check so nothing the board said is lost)."""
    report = SelftestReport()
    for raw in output.splitlines()[:_MAX_LINES]:
        line = raw.strip()
        if not line.startswith("ST "):
            if line.startswith(("Traceback", "OSError", "MemoryError", "ImportError")):
                report.checks.append(Check("board", "fail", line[:200]))
            continue
        parts = line.split(" ", 3)
        name = parts[1] if len(parts) > 1 else ""
        status = parts[2] if len(parts) > 2 else ""
        detail = parts[3] if len(parts) > 3 else ""
        if name == "end":
            report.finished = status in ("pass", "fail") and detail != "crash"
            continue
        if status not in ("ok", "warn", "fail"):
            report.checks.append(Check(name or "?", "fail", f"unreadable line {line[:80]!r}"))
        elif name == "config" and status == "ok":
            report.node_id = detail.split(" ", 1)[0]
            report.checks.append(Check(name, status, detail))
        elif name.startswith("sensor:") and status == "ok":
            report.checks.append(_sensor(name, detail))
        elif name == "heap" and status == "ok":
            report.checks.append(_heap(detail))
        elif name == "flash" and status == "ok":
            report.checks.append(_flash(detail))
        else:
            report.checks.append(Check(name, status, detail))
    return report
