"""What the scenarios read of the gateway's /metrics: the Prometheus text as {series: value}."""

from __future__ import annotations

import urllib.request

__all__ = ["parse", "scrape"]


def parse(text: str) -> dict[str, float]:
    """Prometheus text exposition as {series with its labels: value} (comments skipped)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def scrape(http_port: int, timeout: float = 10) -> dict[str, float]:
    """The gateway's /metrics on this machine; OSError while it does not answer."""
    url = f"http://127.0.0.1:{http_port}/metrics"
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return parse(r.read().decode())
