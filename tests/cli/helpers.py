"""A provisioning file made as `node provision` makes it, without a fleet (for CLI tests)."""

from __future__ import annotations

import json
from pathlib import Path

from tools.fleet_client import ClaimedNode
from tools.node.provisioning import make_provisioning, write_private


def provisioning_file(directory: Path, node_id: str, kind: str = "air", hw: str = "esp32"
                      ) -> Path:
    """The provisioning file of an air-quality node whose gateway (127.0.0.1:9) is absent."""
    doc = make_provisioning(ClaimedNode(node_id, 1, bytes(range(32)), "centre", None, kind),
                            fleet_url="http://fleet", gateway_host="127.0.0.1", gateway_port=9,
                            wifi_ssid="territoire", wifi_key="", kind=None, sensors=None,
                            interval_s=60, hw=hw)
    path = directory / f"{node_id}.json"
    write_private(path, json.dumps(doc).encode())
    return path
