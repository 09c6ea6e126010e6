"""The nodes this gateway serves, and the broker configuration that follows from them.

The registry is kept in the gateway's store; each change rewrites Mosquitto's password file and
ACL atomically and asks the broker to reload them (SIGHUP), so a revoked node is locked out of
the broker within seconds, not at the next restart.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

from gateway.broker_config import (
    MONITOR_USER,
    acl_file,
    listener_conf,
    password_file,
    reserved_user,
)
from gateway.ingest import NodeEntry
from gateway.store import NodeRecord, Store
from protocol.credentials import mqtt_password
from protocol.verify import NodeCredentials

__all__ = ["BrokerFiles", "entries", "write_atomic"]

log = logging.getLogger("territoire.gateway")


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def entries(records: list[NodeRecord], now: float) -> dict[str, NodeEntry]:
    """What verification needs of each node: its keys still valid at ``now``; and its
    interval, for its rate cap."""
    return {
        r.node_id: NodeEntry(NodeCredentials(r.node_id, r.live_keys(now), r.revoked), r.zone,
                             r.interval_s)
        for r in records
    }


class BrokerFiles:
    """Password file, ACL and listener settings for the Mosquitto beside the gateway."""

    def __init__(self, conf_dir: Path, gateway_user: str, gateway_password: str,
                 max_inflight: int, pid_file: str = "", max_queued: int = 1_000_000,
                 monitor_password: str = "", refuse_retained: bool = True) -> None:
        self.dir = conf_dir
        self.gateway_user = gateway_user
        self.gateway_password = gateway_password
        self.monitor_password = monitor_password  # empty: no monitor account
        self.max_inflight = max_inflight
        self.max_queued = max_queued
        self.refuse_retained = refuse_retained
        self.pid_file = pid_file
        self.passwd = conf_dir / "passwd"
        self.acl = conf_dir / "acl"

    def conf(self) -> str:
        return listener_conf(str(self.passwd), str(self.acl), self.max_inflight, self.max_queued,
                             self.refuse_retained)

    def write(self, store: Store) -> None:
        # owner-only when we make it (under data_dir, gateway/secret_file.py tightens it anyway)
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        users = [(self.gateway_user, self.gateway_password)]
        if self.monitor_password:
            users.append((MONITOR_USER, self.monitor_password))
        for rec in store.nodes():
            if rec.revoked or not rec.keys:
                continue  # a revoked node has no broker account at all
            if reserved_user(rec.node_id, self.gateway_user):
                log.warning("node %s has no broker account: its id names the gateway's own",
                            rec.node_id)
                continue
            # the broker password follows the newest key: the node receives both together
            users.append((rec.node_id, mqtt_password(rec.keys[max(rec.keys)])))
        write_atomic(self.passwd, password_file(users))
        write_atomic(self.acl, acl_file(self.gateway_user))

    def signal_reload(self) -> None:
        if not self.pid_file:
            return
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(Path(self.pid_file).read_text().strip()), signal.SIGHUP)
