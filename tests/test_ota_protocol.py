"""The OTA messages and manifests agree with their vectors on CPython (the firmware checks the
same vectors in the VM: tests/firmware_vm/test_ota.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import manifest as mf
from protocol import ota
from protocol.codec import Reject, parse_body, sign, split_signed

VECTORS = Path(__file__).parent / "vectors"


def _load(name: str) -> Any:
    return json.loads((VECTORS / f"{name}.json").read_text())


@pytest.mark.parametrize("vec", _load("ota"), ids=lambda v: v["name"])
def test_ota_vector_encodes_to_the_exact_bytes_and_decodes_back(vec: dict[str, Any]) -> None:
    i = vec["input"]
    args = (i["node"], i["kid"], i["t"])
    if i["y"] == "o":
        body = ota.encode_offer(*args, i["ver"], i["mh"], i["ml"])
        decoded: Any = ota.decode_offer(json.loads(body))
        assert (decoded.ver, decoded.mh, decoded.ml) == (i["ver"], i["mh"], i["ml"])
    elif i["y"] == "q":
        body = ota.encode_request(*args, i["h"], i["o"], i["l"])
        decoded = ota.decode_request(json.loads(body))
        assert (decoded.h, decoded.o, decoded.length) == (i["h"], i["o"], i["l"])
    elif i["y"] == "d":
        body = ota.encode_chunk(*args, i["h"], i["o"], bytes.fromhex(i["b_hex"]))
        decoded = ota.decode_chunk(json.loads(body))
        assert decoded.data == bytes.fromhex(i["b_hex"])
    else:
        body = ota.encode_progress(*args, i["ver"], i["st"], i["why"])
        decoded = ota.decode_progress(json.loads(body))
        assert (decoded.st, decoded.why) == (i["st"], i["why"])
    assert body.decode() == vec["body"]
    assert sign(bytes.fromhex(vec["secret_hex"]), body).decode() == vec["message"]
    assert len(vec["message"]) <= 1024


def test_chunk_whose_bytes_do_not_match_its_hash_is_refused() -> None:
    body = ota.encode_chunk("ang-0001", 1, 0, "ab" * 32, 0, b"hello")
    obj = json.loads(body)
    obj["b"] = "aGVsbG8h"  # "hello!"
    got = ota.decode_chunk(obj)
    assert isinstance(got, Reject)
    assert got.reason == "bad_hash"


@pytest.mark.parametrize(
    "change",
    [{"l": 513}, {"l": 0}, {"o": -1}, {"h": "../../etc/passwd"}, {"h": "AB" * 32}],
)
def test_requests_out_of_bounds_are_malformed(change: dict[str, Any]) -> None:
    obj = json.loads(ota.encode_request("ang-0001", 1, 0, "ab" * 32, 0, 512))
    obj.update(change)
    got = ota.decode_request(obj)
    assert isinstance(got, Reject)
    assert got.reason == "malformed"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1100))
def test_ota_decoders_never_raise_on_noise(data: bytes) -> None:
    parts = split_signed(data)
    if isinstance(parts, Reject):
        return
    obj = parse_body(parts[0])
    if isinstance(obj, Reject):
        return
    for decode in (ota.decode_offer, ota.decode_request, ota.decode_chunk, ota.decode_progress):
        decode(obj)


@pytest.mark.parametrize("case", _load("manifests")["cases"], ids=lambda c: c["name"])
def test_manifest_vector_gets_the_reason_the_node_gives(case: dict[str, Any]) -> None:
    vec = _load("manifests")
    key = rsa.RSAPublicNumbers(vec["key"]["e"], int(vec["key"]["n"], 16)).public_key()
    data = bytes.fromhex(case["manifest_hex"])
    got = mf.verify_signed(data, {vec["key"]["kid"]: key})
    if isinstance(got, mf.Manifest):
        nd = vec["node"]
        refused = mf.check_installable(
            got,
            hardware=nd["hw"],
            running_version=nd["running"],
            min_secure_version=nd["min_sv"],
            now=nd["now"],
        )
        got_reason = None if refused is None else refused.reason
        assert got.digest == case["digest"]
    else:
        got_reason = got.reason
    assert got_reason == case["reason"]
