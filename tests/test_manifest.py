"""Signed release manifests: what a node and the fleet accept and refuse (protocol/manifest.py)."""

from __future__ import annotations

import functools

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import manifest as mf

NOW = 1_764_259_200


@functools.cache
def _key(seed: int) -> rsa.RSAPrivateKey:
    del seed  # one distinct key per seed value, made once per test run
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def _signed(version: str = "0.2.0", hardware: str = "emu-x64", sv: int = 1) -> bytes:
    files = mf.file_entries({"node.mpy": b"node code", "sensors/pm.mpy": b"pm code"})
    body = mf.encode_body(
        version=version,
        hardware=hardware,
        secure_version=sv,
        expires=NOW + 86400,
        created=NOW,
        files=files,
    )
    return mf.sign_body(body, _key(1))


def _keys(*seeds: int) -> dict[str, rsa.RSAPublicKey]:
    return {mf.key_id(_key(s).public_key()): _key(s).public_key() for s in seeds}


def test_signed_manifest_round_trips_with_its_files() -> None:
    data = _signed()
    m = mf.verify_signed(data, _keys(1))
    assert isinstance(m, mf.Manifest)
    assert m.version == "0.2.0"
    assert m.hardware == "emu-x64"
    assert m.secure_version == 1
    assert [f.path for f in m.files] == ["node.mpy", "sensors/pm.mpy"]
    assert m.total_bytes == len(b"node code") + len(b"pm code")
    assert len(m.digest) == 64


def test_key_not_trusted_is_refused_as_unknown_key() -> None:
    refused = mf.verify_signed(_signed(), _keys(2))
    assert isinstance(refused, mf.Refusal)
    assert refused.reason == "unknown_key"


def test_changed_body_byte_is_refused_as_bad_signature() -> None:
    data = bytearray(_signed())
    data[data.index(b"0.2.0")] = ord("9")
    refused = mf.verify_signed(bytes(data), _keys(1))
    assert isinstance(refused, mf.Refusal)
    assert refused.reason == "bad_signature"


def test_signature_by_another_key_under_a_trusted_id_is_refused() -> None:
    body, kid, _ = mf.parse_signed(_signed())  # type: ignore[misc]
    forged = mf.sign_body(body, _key(2)).replace(
        mf.key_id(_key(2).public_key()).encode(), kid.encode()
    )
    refused = mf.verify_signed(forged, _keys(1))
    assert isinstance(refused, mf.Refusal)
    assert refused.reason == "bad_signature"


def test_unsigned_body_is_refused_as_malformed() -> None:
    body = _signed().split(b"\n")[0]
    refused = mf.verify_signed(body, _keys(1))
    assert isinstance(refused, mf.Refusal)
    assert refused.reason == "malformed"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "1.2"}, "MAJOR.MINOR.PATCH"),
        ({"hardware": "esp8266"}, "hardware"),
        ({"files": [mf.FileEntry("../boot.py", 3, "0" * 64)]}, "not allowed"),
        ({"files": [mf.FileEntry("main.py", 3, "0" * 64)]}, "not allowed"),
        ({"files": [mf.FileEntry("a.mpy", mf.MAX_FILE_BYTES + 1, "0" * 64)]}, "size"),
        ({"files": []}, "1 to"),
    ],
)
def test_builder_refuses_what_a_node_would_refuse(change: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "version": "0.2.0",
        "hardware": "esp32",
        "secure_version": 0,
        "expires": NOW + 1,
        "created": NOW,
        "files": mf.file_entries({"node.mpy": b"x"}),
    }
    args.update(change)
    with pytest.raises(ValueError, match=message):
        mf.encode_body(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"hardware": "esp32"}, "wrong_hw"),
        ({"now": NOW + 86400}, "expired"),
        ({"running_version": "0.2.0"}, "downgrade"),
        ({"running_version": "0.10.0"}, "downgrade"),
        ({"min_secure_version": 2}, "secver"),
    ],
)
def test_node_rules_refuse_wrong_hw_expired_downgrade_and_old_secver(
    kwargs: dict[str, object], reason: str
) -> None:
    m = mf.verify_signed(_signed(), _keys(1))
    assert isinstance(m, mf.Manifest)
    args: dict[str, object] = {
        "hardware": "emu-x64",
        "running_version": "0.1.0",
        "min_secure_version": 1,
        "now": NOW,
    }
    args.update(kwargs)
    refused = mf.check_installable(m, **args)  # type: ignore[arg-type]
    assert refused is not None
    assert refused.reason == reason
    args.update(
        {"hardware": "emu-x64", "running_version": "0.1.0", "min_secure_version": 1, "now": NOW}
    )
    assert mf.check_installable(m, **args) is None  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_parser_never_raises_and_never_accepts_noise(data: bytes) -> None:
    assert isinstance(mf.verify_signed(data, _keys(1)), mf.Refusal)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_any_single_byte_change_is_refused(position: int, value: int) -> None:
    data = bytearray(_signed())
    i = position % len(data)
    if data[i] == value:
        return
    data[i] = value
    assert isinstance(mf.verify_signed(bytes(data), _keys(1)), mf.Refusal)
