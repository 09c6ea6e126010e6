"""Foundation HIL scenarios' building blocks: a private Mosquitto, emulated nodes flashed with
the firmware bundle, and the verifier oracle that acknowledges end to end."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.broker import MosquittoProcess
from hil_tests.verifier import Verifier
from protocol.verify import NodeCredentials
from tools.demo.territory import NodePlan, plan_nodes
from tools.emulator import EmulatedNode
from tools.release.bundle import firmware_files, node_config

STATUS = re.compile(r"status heap_peak=(\d+) heap_free=(\d+) measured=(\d+) buf=(\d+)")
# the node's own count of readings let go of in this boot, and of those refused for good
RELEASED = re.compile(r"status .*? acked=(\d+) refused=(\d+)")


def released(console: str) -> int:
    """Readings the node let go of on an end-to-end ack of their storage (refusals excluded),
    in its current boot, as its last status line says. Unlike ``buf=0`` (nothing in flight at
    the instant of a status line), this does not depend on the gateway's latency."""
    found = RELEASED.findall(console.rsplit("--- boot", 1)[-1])
    return max((int(a) - int(r) for a, r in found), default=0)


def secret_for(node_id: str) -> bytes:
    import hashlib

    return hashlib.sha256(b"hil " + node_id.encode()).digest()


@dataclass
class Territory:
    broker: MosquittoProcess
    verifier: Verifier
    nodes: dict[str, EmulatedNode] = field(default_factory=dict)
    plans: dict[str, NodePlan] = field(default_factory=dict)

    def status(self, node_id: str) -> dict[str, int] | None:
        """Last status line the node printed: heap_peak, heap_free, measured, buf."""
        found = STATUS.findall(self.nodes[node_id].console())
        if not found:
            return None
        peak, free, measured, buf = map(int, found[-1])
        return {"heap_peak": peak, "heap_free": free, "measured": measured, "buf": buf}

    def wait(self, predicate: object, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():  # type: ignore[operator]
                return
            time.sleep(0.1)
        consoles = "\n".join(
            f"--- {n} ---\n{node.console()[-1500:]}" for n, node in self.nodes.items()
        )
        raise AssertionError(f"timed out waiting for {what}\n{consoles}")


@contextlib.contextmanager
def territory(
    workdir: Path, n: int, *, interval_s: float = 1.0, kinds: tuple[str, ...] = ("weather",),
    status_s: float = 2.0,
    extra: dict[str, object] | None = None,
    board: dict[str, object] | None = None,
) -> Iterator[Territory]:
    broker = MosquittoProcess(workdir / "broker")
    broker.start()
    plans = plan_nodes(n, kinds=kinds)
    creds = {p.node_id: NodeCredentials(p.node_id, {1: secret_for(p.node_id)}) for p in plans}
    verifier = Verifier(broker.port, creds)
    verifier.start()
    t = Territory(broker, verifier)
    bundle = firmware_files()
    try:
        for plan in plans:
            node = EmulatedNode(workdir / plan.node_id, {**plan.board(speed=60.0), **(board or {})},
                                upstream_port=broker.port, compensate_heap=True)
            node.create()
            files = dict(bundle)
            files["node.json"] = node_config(
                node_id=plan.node_id, key_id=1, secret=secret_for(plan.node_id),
                mqtt_host="127.0.0.1", mqtt_port=node.broker_port, mqtt_password="",
                sensors=plan.kind.sensors, zone=plan.zone, hw="emu-x64", interval_s=interval_s,
                status_s=status_s, ack_timeout_s=3, **(extra or {}),
            )
            node.write_files(files)
            t.nodes[plan.node_id] = node
            t.plans[plan.node_id] = plan
        for node in t.nodes.values():
            node.start()
        yield t
    finally:
        for node in t.nodes.values():
            node.close()
        verifier.stop()
        broker.stop()
