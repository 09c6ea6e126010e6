"""The gateway's side of tests/vectors/window.json and verify.json: each case through the batch
verifier, the acknowledgement the node would get, and the counter window persisted in a real
store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from gateway.ingest import NodeEntry, ack_messages, verify_batch
from gateway.store import Store
from protocol.codec import Ack, decode_ack, parse_body, split_signed
from protocol.topics import node_topic
from protocol.verify import VerifyLimits
from tests.test_protocol_vectors import CASES, VERIFY, WINDOW, vector_creds, vector_window

ZONE = "centre-ville"


def _nodes(registry: str) -> dict[str, NodeEntry]:
    creds = vector_creds(registry)
    return {} if creds is None else {creds.node_id: NodeEntry(creds, ZONE)}


def _acks(out: list[tuple[str, bytes]]) -> list[Ack]:
    acks = []
    for _topic, payload in out:
        parts = split_signed(payload)
        assert isinstance(parts, tuple)
        obj = parse_body(parts[0])
        assert isinstance(obj, dict)
        ack = decode_ack(obj)
        assert isinstance(ack, Ack)
        acks.append(ack)
    return acks


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_gateway_counts_stores_and_acknowledges_each_verify_vector(case: dict[str, Any]) -> None:
    nodes = _nodes(case["registry"])
    topic_node = case["topic"]
    windows = {topic_node: vector_window(case["window"])}
    message = case["message"].encode()
    now = VERIFY["now"]
    batch = verify_batch(
        [(node_topic(topic_node, "reading"), message)], nodes, windows, now, VerifyLimits(), 1024
    )
    acks = _acks(ack_messages(batch, nodes, now))
    ok = [c for a in acks for c in a.ok]
    no = [pair for a in acks for pair in a.no]
    outcome = case["outcome"]
    if outcome == "accepted":
        assert [r.counter for r, _, _ in batch.accepted] == [case["counter"]]
        assert batch.windows[topic_node].classify(case["counter"]) == "duplicate"
        assert (ok, no, batch.duplicates, dict(batch.rejections)) == ([case["counter"]], [], 0, {})
    elif outcome == "duplicate":
        # acknowledged again, counted once, not stored twice
        assert (batch.accepted, batch.windows) == ([], {})
        assert (ok, no, batch.duplicates, dict(batch.rejections)) == ([case["counter"]], [], 1, {})
    else:
        assert (batch.accepted, batch.windows, batch.duplicates) == ([], {}, 0)
        assert dict(batch.rejections) == {outcome: 1}
        assert [q[2] for q in batch.quarantine] == [outcome]
        assert ok == []
        assert no == ([(case["counter"], outcome)] if case["told"] else [])


def test_gateway_window_sequence_survives_the_store_between_batches(tmp_path: Path) -> None:
    """Each step is its own batch, committed; the next is verified against the window read
    back from the database, so the persisted bitmap must hold H - 1024 too."""
    nodes = _nodes("known")
    node = VERIFY["node"]
    store = Store(tmp_path / "gateway.db", X25519PrivateKey.generate())
    try:
        stored: list[int] = []
        for step in WINDOW["sequence"]:
            batch = verify_batch(
                [(node_topic(node, "reading"), step["message"].encode())],
                nodes,
                store.windows(),
                VERIFY["now"],
                VerifyLimits(),
                1024,
            )
            store.commit_batch(
                batch.accepted, batch.windows, dict(batch.rejections), batch.quarantine, 100
            )
            got = (
                "accepted"
                if batch.accepted
                else "duplicate"
                if batch.duplicates
                else next(iter(batch.rejections))
            )
            assert got == step["outcome"], step["counter"]
            stored += [r.counter for r, _, _ in batch.accepted]
        assert sorted(store.counters(node)) == sorted(stored)
        assert len(stored) == len(set(stored))
    finally:
        store.close()


def test_window_row_from_before_h_minus_1024_was_kept_reads_it_as_seen(tmp_path: Path) -> None:
    """A row written when the window held 1024 bits never says whether H - 1024 was stored:
    it is taken as stored (acknowledged as a duplicate), never stored a second time."""
    store = Store(tmp_path / "gateway.db", X25519PrivateKey.generate())
    try:
        # H = 5000 with H - 1023 .. H - 1 all unseen, as the 1024-bit window wrote it
        missing = ((1 << 1024) - 2).to_bytes(128, "little")
        store.db.execute(
            "INSERT INTO windows (node_id, high, missing) VALUES (?,?,?)",
            ("ang-0001", 5000, missing),
        )
        window = store.windows()["ang-0001"]
        assert window.classify(5000 - 1024) == "duplicate"
        assert [window.classify(5000 - i) for i in (1, 1023)] == ["new", "new"]
        assert window.classify(5000 - 1025) == "old"
    finally:
        store.close()
