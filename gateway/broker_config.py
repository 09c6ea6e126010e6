"""Mosquitto configuration from the gateway's node registry: pure functions of values.

Each node is a broker user (name = node id) whose password is derived from its secret
(protocol.credentials). The ACL lets a node publish only its own reading and state topics and
read only its own ack and cmd topics (and publish its own ota topic: update requests and
progress); only the gateway user reads and writes everything, and the monitor user (the
workstation's `territoire node monitor`, run on the gateway) reads everything.

The broker binds each connection's client id to its user name (``use_username_as_clientid``): a
node account cannot take the gateway's client id, nor another node's, to close its connection
(docs/security.md, "Hostile node and gateway hardening"); and it refuses retained messages
(``retain_available false``): nothing a node publishes is replayed to a later subscriber.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable

from protocol.topics import PREFIX

__all__ = ["MONITOR_USER", "acl_file", "hash_password", "listener_conf", "password_file",
           "reserved_user"]

# Mosquitto 2's password format "$7$": PBKDF2-SHA512, iterations, base64 salt, base64 hash.
PBKDF2_ITERATIONS = 101
SALT_BYTES = 12

# the read-only account of `territoire node monitor`: with client ids bound to user names, a
# monitor logged in as the gateway would close the gateway's own connection
MONITOR_USER = "territoire-monitor"


def reserved_user(node_id: str, gateway_user: str) -> bool:
    """A node id that names one of the gateway's own accounts gets no broker account: it would
    log in as the gateway (or the monitor) and, with client ids bound to user names, close it."""
    return node_id in (gateway_user, MONITOR_USER)


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS, 64)
    salt_b64 = base64.b64encode(salt).decode()
    return f"$7${PBKDF2_ITERATIONS}${salt_b64}${base64.b64encode(digest).decode()}"


def password_file(users: Iterable[tuple[str, str]]) -> str:
    """Lines ``user:hash`` for (user, clear password) pairs."""
    return "".join(f"{user}:{hash_password(password)}\n" for user, password in users)


def acl_file(gateway_user: str) -> str:
    # %u is the authenticated user name: one pattern covers every node, and a node can never
    # name another node's topic because the broker substitutes its own name.
    return (
        f"user {gateway_user}\n"
        f"topic readwrite {PREFIX}/#\n"
        "\n"
        f"user {MONITOR_USER}\n"
        f"topic read {PREFIX}/#\n"
        "\n"
        f"pattern write {PREFIX}/%u/reading\n"
        f"pattern write {PREFIX}/%u/state\n"
        f"pattern write {PREFIX}/%u/ota\n"
        f"pattern read {PREFIX}/%u/ack\n"
        f"pattern read {PREFIX}/%u/cmd\n"
    )


def listener_conf(passwd_path: str, acl_path: str, max_inflight: int,
                  max_queued: int = 1_000_000, refuse_retained: bool = True) -> str:
    # refuse_retained = false only while nodes whose firmware still retains its state and last
    # will (refused at CONNECT otherwise) are being updated: docs/gateway.md
    retained = "retain_available false\n" if refuse_retained else ""
    return (
        "allow_anonymous false\n"
        # the client id is the user name whatever the client asks: no account can take over
        # another's connection (Mosquitto reads this at start only, not on SIGHUP)
        "use_username_as_clientid true\n"
        f"{retained}"
        f"password_file {passwd_path}\n"
        f"acl_file {acl_path}\n"
        # QoS 1 messages in flight to one client (the gateway): beyond this the broker queues,
        # which is where excess load waits (docs/gateway.md, "Back-pressure")
        f"max_inflight_messages {max_inflight}\n"
        f"max_queued_messages {max_queued}\n"
        "max_packet_size 4096\n"
    )
