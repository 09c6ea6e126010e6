"""Release bundle files: round trip, and the reader never raises on hostile input."""

from __future__ import annotations

import io
import tarfile

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.manifest import MAX_FILE_BYTES, Refusal
from protocol.release_bundle import Bundle, pack, unpack

FILES = {"node.mpy": b"M\x06node", "sensors/pm.mpy": b"M\x06pm" * 10}


def test_pack_then_unpack_gives_the_same_members() -> None:
    out = unpack(pack(files=FILES, body=b"{}"))
    assert out == Bundle(None, b"{}", FILES)
    assert pack(files=FILES, body=b"{}") == pack(files=dict(reversed(FILES.items())), body=b"{}")


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_hostile_members_are_refused_with_a_reason() -> None:
    cases = {
        "../escape.mpy": "outside",
        "/files/abs.mpy": "outside",
        "files/../../etc.mpy": "outside",
        "other/thing.mpy": "unexpected",
    }
    for name, word in cases.items():
        refused = unpack(_tar((tarfile.TarInfo(name), b"x")))
        assert isinstance(refused, Refusal)
        assert word in refused.detail
    big = unpack(_tar((tarfile.TarInfo("files/node.mpy"), b"x" * (MAX_FILE_BYTES + 1))))
    assert isinstance(big, Refusal)
    assert big.reason == "too_large"
    twice = unpack(
        _tar((tarfile.TarInfo("files/a.mpy"), b"1"), (tarfile.TarInfo("files/a.mpy"), b"2"))
    )
    assert isinstance(twice, Refusal)
    assert "twice" in twice.detail
    many = unpack(_tar(*((tarfile.TarInfo(f"files/m{i}.mpy"), b"x") for i in range(60))))
    assert isinstance(many, Refusal)
    assert "members" in many.detail


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert isinstance(unpack(data), Bundle | Refusal)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 10_000), st.binary(min_size=1, max_size=8))
def test_corrupted_bundles_never_raise(where: int, junk: bytes) -> None:
    good = bytearray(pack(files=FILES, manifest=b"x" * 600))
    i = where % len(good)
    good[i : i + len(junk)] = junk
    assert isinstance(unpack(bytes(good)), Bundle | Refusal)
