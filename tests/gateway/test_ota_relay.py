"""The gateway's OTA cache and relay: pure decisions, the disk cache, and the fleet client
against a real HTTP server (hil_tests/fleet_standin.py) serving the contract's endpoints."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.config import OtaSettings
from gateway.fleet_client import FleetError, Identity
from gateway.metrics import Metrics
from gateway.ota_cache import CacheFull, ObjectCache
from gateway.ota_decisions import Bucket, Target, due_offers, judge_request, parse_document
from gateway.ota_relay import OtaRelay
from gateway.store import Store
from hil_tests.fleet_standin import FleetStandIn, Release
from protocol import manifest as mf
from protocol.ota import Request


@functools.cache
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _release(rid: int, version: str, files: dict[str, bytes]) -> Release:
    body = mf.encode_body(
        version=version,
        hardware="emu-x64",
        secure_version=1,
        expires=2_000_000_000,
        created=1_700_000_000,
        files=mf.file_entries(files),
    )
    by_hash = {hashlib.sha256(d).hexdigest(): d for d in files.values()}
    return Release(rid, version, "emu-x64", mf.sign_body(body, _key()), by_hash)


def _target(node: str = "ang-0001", rid: int = 1) -> dict[str, Any]:
    return {
        "node_id": node,
        "release_id": rid,
        "ver": "0.2.0",
        "hw": "emu-x64",
        "mh": "ab" * 32,
        "ml": 2000,
    }


def test_document_drops_keys_listed_under_another_id_and_bad_targets() -> None:
    key = _key()
    doc = parse_document(
        {
            "keys": [
                {"kid": mf.key_id(key.public_key()), "pem": _pem(key)},
                {"kid": "0" * 16, "pem": _pem(key)},
            ],
            "targets": [_target(), {**_target(), "node_id": "../etc"}, {**_target(), "ml": 10**9}],
        },
        max_targets=10,
    )
    assert not isinstance(doc, type(None))
    assert list(doc.keys) == [mf.key_id(key.public_key())]  # type: ignore[union-attr]
    assert [t.node_id for t in doc.targets] == ["ang-0001"]  # type: ignore[union-attr]
    too_many = parse_document({"keys": [], "targets": [_target()] * 11}, max_targets=10)
    assert getattr(too_many, "reason", None) == "too_large"


def test_offers_go_to_nodes_on_another_version_until_a_terminal_report() -> None:
    t = Target("ang-0001", 1, "0.2.0", "emu-x64", "ab" * 32, 2000)
    args: dict[str, Any] = {
        "ready": {1: {}},
        "running": {"ang-0001": "0.1.0"},
        "outcome": {},
        "last_offer": {},
        "now": 100.0,
        "every_s": 60.0,
    }
    assert due_offers((t,), **args) == [t]
    assert due_offers((t,), **{**args, "ready": {}}) == []
    assert due_offers((t,), **{**args, "running": {"ang-0001": "0.2.0"}}) == []
    assert due_offers((t,), **{**args, "last_offer": {"ang-0001": 50.0}}) == []
    for st in ("confirmed", "rolled_back", "refused"):
        assert due_offers((t,), **{**args, "outcome": {("ang-0001", t.mh): st}}) == []
    assert due_offers((t,), **{**args, "outcome": {("ang-0001", t.mh): "downloading"}}) == [t]


def test_a_node_reads_only_the_objects_offered_to_it_within_their_size() -> None:
    allowed = {"aa" * 32: 1000}
    req = Request("ang-0001", 1, 0, "aa" * 32, 512, 488)
    assert judge_request(req, allowed) is None
    assert judge_request(Request("ang-0001", 1, 0, "bb" * 32, 0, 10), allowed) == "not_offered"
    assert judge_request(Request("ang-0001", 1, 0, "aa" * 32, 900, 200), allowed) == (
        "out_of_range"
    )


def test_request_rate_per_node_is_bounded() -> None:
    b = Bucket(3, 0.0)
    served = 0
    for _ in range(10):
        ok, b = b.take(0.0, rate=1.0, burst=3)
        served += ok
    assert served == 3
    ok, b = b.take(1.0, rate=1.0, burst=3)
    assert ok


def test_cache_stores_only_what_hashes_to_its_name_within_its_bound(tmp_path: Path) -> None:
    cache = ObjectCache(tmp_path / "ota", max_bytes=100)
    data = b"x" * 60
    with pytest.raises(ValueError, match="does not match"):
        cache.put("00" * 32, data)
    cache.put(hashlib.sha256(data).hexdigest(), data)
    with pytest.raises(CacheFull):
        cache.put(hashlib.sha256(b"y" * 60).hexdigest(), b"y" * 60)
    with pytest.raises(ValueError, match="not an object name"):
        cache.read("../gateway.db", 0, 10)
    assert ObjectCache(tmp_path / "ota", max_bytes=100).size == 60  # found again after restart
    assert not list((tmp_path / "ota").glob("*.tmp"))


def _relay(tmp_path: Path, metrics: Metrics) -> tuple[OtaRelay, Identity, Store]:
    """A relay with its identity, store and cache in ``tmp_path``; database calls run inline."""
    identity = Identity.load(tmp_path, "gw")
    store = Store(tmp_path / "gw.db", identity.sealing)

    async def run_db(fn: Any) -> Any:
        return fn()

    cache = ObjectCache(tmp_path / "ota", 1 << 20)
    return OtaRelay(OtaSettings(), cache, store, identity, run_db, metrics), identity, store


async def test_release_downloaded_once_verified_and_fetched_again_after_pruning(
    tmp_path: Path,
) -> None:
    relay, identity, store = _relay(tmp_path, Metrics())
    r1 = _release(1, "0.2.0", {"node.mpy": b"one" * 100, "version.mpy": b"v2"})
    r2 = _release(2, "0.3.0", {"node.mpy": b"one" * 100, "version.mpy": b"v3"})
    with FleetStandIn(identity.signing.public_key()) as fleet:
        fleet.add_key(mf.key_id(_key().public_key()), _pem(_key()))
        async with httpx.AsyncClient(base_url=fleet.url) as client:
            fleet.target(r1, ["ang-0001", "ang-0002"])
            assert await relay.poll_once(client)
            assert set(relay.ready) == {1}
            assert fleet.release_bytes_sent() == len(r1.manifest) + 300 + 2
            assert not await relay.poll_once(client)  # 304: nothing fetched again
            fleet.target(r2, ["ang-0001", "ang-0002"])
            assert await relay.poll_once(client)
            assert set(relay.ready) == {2}  # release 1 left the cache
            # node.mpy is shared: only the new version.mpy and manifest cross the uplink
            assert fleet.release_bytes_sent() == len(r1.manifest) + len(r2.manifest) + 304
            fleet.target(r1, ["ang-0002"])  # named again: fetched again, never served half
            assert await relay.poll_once(client)
            assert set(relay.ready) == {1, 2}
            for h in relay.ready[1]:
                assert relay.cache.has(h)
            # a manifest tampered after signing is refused and never offered
            bad = Release(
                3, "0.4.0", "emu-x64", r1.manifest.replace(b'"sv":1', b'"sv":2'), r1.files
            )
            fleet.target(bad, ["ang-0001"])
            await relay.poll_once(client)
            assert 3 not in relay.ready
            assert relay.counters.ota_releases_refused["bad_signature"] == 1
    store.close()


async def test_status_batch_the_fleet_refuses_for_good_is_dropped_counted_and_unblocks_the_rest(
    tmp_path: Path,
) -> None:
    metrics = Metrics()
    relay, identity, store = _relay(tmp_path, metrics)
    report = b'{"node_id":"ang-0001","ver":"0.2.0","st":"confirmed","why":"","at":1}'
    with FleetStandIn(identity.signing.public_key()) as fleet:
        async with httpx.AsyncClient(base_url=fleet.url) as client:
            store.outbox_add("ota", [report], 1.0)
            fleet.state.status_answer = 503  # down for now: kept, the error goes up for backoff
            with pytest.raises(FleetError):
                await relay.forward_once(client, "gw")
            assert len(store.outbox_peek(10, ("ota",))) == 1
            fleet.state.status_answer = 422  # never acceptable: dropped, counted
            assert await relay.forward_once(client, "gw")
            assert store.outbox_peek(10, ("ota",)) == []
            assert metrics.evicted["ota_status_refused_by_fleet"] == 1
            fleet.state.status_answer = 200  # the next report is not held behind it
            store.outbox_add("ota", [report.replace(b"ang-0001", b"ang-0002")], 2.0)
            assert await relay.forward_once(client, "gw")
            assert [s["node_id"] for s in fleet.statuses()] == ["ang-0002"]
    store.close()
