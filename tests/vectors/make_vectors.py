"""Regenerate tests/vectors/*.json from the CPython codec (run only when the protocol changes).

The vectors are the contract: tests check that the CPython codec still produces them and that
the firmware, inside the MicroPython VM, produces the same bytes and MACs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from protocol import ota
from protocol.codec import encode_ack, encode_reading, encode_state, sign

HERE = Path(__file__).parent
SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(100, 132))
MANIFEST_NOW = 1764259200


def _reading(name: str, secret: bytes, **kw: Any) -> dict[str, Any]:
    body = encode_reading(
        kw["node"], kw["kid"], kw["counter"], kw["t"], kw["fw"], kw["measures"], kw.get("bat")
    )
    return {
        "name": name,
        "secret_hex": secret.hex(),
        "input": kw,
        "body": body.decode(),
        "message": sign(secret, body).decode(),
    }


def readings() -> list[dict[str, Any]]:
    return [
        _reading(
            "weather_node",
            SECRET,
            node="ang-0001",
            kid=1,
            counter=1,
            t=1764259200,
            fw="0.1.0",
            measures=[["temp_c", 21.43], ["rh_pct", 55.2], ["p_hpa", 1013.2]],
            bat=3.71,
        ),
        _reading(
            "air_quality_mains_powered",
            SECRET,
            node="ang-0001",
            kid=1,
            counter=4097,
            t=1764259260,
            fw="0.1.0",
            measures=[["pm25_ugm3", 8.0], ["pm10_ugm3", 12.5]],
        ),
        _reading(
            "noise_and_people",
            OTHER_SECRET,
            node="ang-doutre-7",
            kid=2,
            counter=123456789,
            t=1764262800,
            fw="1.2.3-rc1",
            measures=[["laeq_db", 54.3], ["lamax_db", 71.0], ["people_n", 37]],
            bat=3.3,
        ),
        _reading(
            "untimed_before_first_sync",
            SECRET,
            node="ang-0001",
            kid=1,
            counter=2,
            t=0,
            fw="0.1.0",
            measures=[["fill_pct", 43], ["soil_pct", 31.5]],
        ),
        _reading(
            "negative_temperature",
            SECRET,
            node="ang-0001",
            kid=1,
            counter=3,
            t=1764259320,
            fw="0.1.0",
            measures=[["temp_c", -5.07]],
        ),
    ]


def acks() -> list[dict[str, Any]]:
    out = []
    for name, kw in [
        ("ack_two", {"node": "ang-0001", "kid": 1, "t": 1764259201, "ok": [1, 2], "no": []}),
        (
            "ack_with_refusal",
            {"node": "ang-0001", "kid": 1, "t": 1764259202, "ok": [3], "no": [[4, "out_of_range"]]},
        ),
        ("time_only", {"node": "ang-0001", "kid": 1, "t": 1764259203, "ok": [], "no": []}),
    ]:
        body = encode_ack(kw["node"], kw["kid"], kw["t"], kw["ok"], [tuple(x) for x in kw["no"]])
        out.append(
            {
                "name": name,
                "secret_hex": SECRET.hex(),
                "input": kw,
                "message": sign(SECRET, body).decode(),
            }
        )
    return out


def states() -> list[dict[str, Any]]:
    kw: dict[str, Any] = {
        "node": "ang-0001",
        "kid": 1,
        "t": 1764259200,
        "status": "online",
        "boot": 12,
        "extra": [["fw", "0.1.0"], ["slot", "a"], ["up", 42], ["buf", 3], ["ev", 0]],
    }
    body = encode_state(kw["node"], kw["kid"], kw["t"], kw["status"], kw["boot"], dict(kw["extra"]))
    return [{"name": "online", "secret_hex": SECRET.hex(), "input": kw,
             "message": sign(SECRET, body).decode()}]


def refusals() -> list[dict[str, Any]]:
    """Messages the verifier must refuse, with the reason, for node ang-0001 (SECRET, key 1)."""
    good = readings()[0]["message"]
    body = good[: -44]
    tampered = body.replace("21.43", "31.43") + good[-44:]
    def signed(text: str) -> str:
        return sign(SECRET, text.encode()).decode()
    base = '{"y":"r","n":"ang-0001","k":1,"c":9,"t":1764259200,"fw":"0.1.0","m":%s}'
    return [
        {"name": "tampered_value", "message": tampered, "reason": "bad_mac"},
        {"name": "wrong_key", "message": sign(OTHER_SECRET, body.encode()).decode(),
         "reason": "bad_mac"},
        {"name": "no_signature", "message": body, "reason": "malformed"},
        {"name": "not_json", "message": signed("hello world"), "reason": "malformed"},
        {"name": "out_of_range", "message": signed(base % '{"temp_c":99.5}'),
         "reason": "out_of_range"},
        {"name": "unknown_metric", "message": signed(base % '{"co2_ppm":400}'),
         "reason": "unknown_metric"},
        {"name": "empty_measures", "message": signed(base % "{}"), "reason": "malformed"},
        {"name": "boolean_value", "message": signed(base % '{"temp_c":true}'),
         "reason": "malformed"},
        {"name": "unknown_key_id",
         "message": signed(base.replace('"k":1', '"k":7') % '{"temp_c":1}'),
         "reason": "unknown_key"},
        {"name": "other_node_in_body",
         "message": signed(base.replace("ang-0001", "ang-0002") % '{"temp_c":1}'),
         "reason": "topic_mismatch"},
        {"name": "oversized", "message": "x" * 1100, "reason": "oversized"},
    ]


def ota_messages() -> list[dict[str, Any]]:
    """The four OTA messages (docs/protocol.md, "Over-the-air updates"), node ang-0001."""
    h = "9f" * 32
    data = bytes(range(256)) * 2
    bodies = [
        ("offer", "o", {"ver": "0.2.0", "mh": h, "ml": 2893},
         ota.encode_offer("ang-0001", 1, 1764259200, "0.2.0", h, 2893)),
        ("request", "q", {"h": h, "o": 1024, "l": 512},
         ota.encode_request("ang-0001", 1, 1764259201, h, 1024, 512)),
        ("chunk", "d", {"h": h, "o": 1024, "b_hex": data.hex(), "ch": ota.chunk_hash(data)},
         ota.encode_chunk("ang-0001", 1, 1764259202, h, 1024, data)),
        ("progress_refused", "p", {"ver": "0.2.0", "st": "refused", "why": "expired"},
         ota.encode_progress("ang-0001", 1, 1764259203, "0.2.0", "refused", "expired")),
        ("progress_confirmed", "p", {"ver": "0.2.0", "st": "confirmed", "why": ""},
         ota.encode_progress("ang-0001", 1, 1764259204, "0.2.0", "confirmed", "")),
    ]
    out = []
    for name, kind, fields, body in bodies:
        t = 1764259200 + len(out)
        out.append({"name": name, "secret_hex": SECRET.hex(),
                    "input": {"y": kind, "node": "ang-0001", "kid": 1, "t": t, **fields},
                    "body": body.decode(), "message": sign(SECRET, body).decode()})
    return out


def manifests() -> dict[str, Any]:
    """Signed manifests made by protocol/manifest.py and what a node (emu-x64, running 0.1.0,
    secure version 1, at MANIFEST_NOW) must answer. New keys each time this runs."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from protocol import manifest as mf

    key, other = (rsa.generate_private_key(public_exponent=65537, key_size=3072) for _ in "ab")
    now = MANIFEST_NOW
    files = mf.file_entries({"node.mpy": b"node code " * 400, "sensors/pm.mpy": b"pm code"})

    def signed(k: rsa.RSAPrivateKey = key, *, ver: str = "0.2.0", hw: str = "emu-x64",
               sv: int = 1, exp: int = now + 86400) -> bytes:
        body = mf.encode_body(version=ver, hardware=hw, secure_version=sv, expires=exp,
                              created=min(now, exp - 1), files=files)
        return mf.sign_body(body, k)

    good = signed()
    tampered = good.replace(b'"ver":"0.2.0"', b'"ver":"0.9.0"')
    forged = signed(other).replace(mf.key_id(other.public_key()).encode(),
                                   mf.key_id(key.public_key()).encode())
    cases = [
        ("good", good, None),
        ("tampered_body", tampered, "bad_signature"),
        ("other_key", signed(other), "unknown_key"),
        ("other_key_under_trusted_id", forged, "bad_signature"),
        ("expired", signed(exp=now - 1), "expired"),
        ("downgrade", signed(ver="0.1.0"), "downgrade"),
        ("wrong_hw", signed(hw="esp32"), "wrong_hw"),
        ("old_secure_version", signed(sv=0), "secver"),
        ("unsigned", good.split(b"\n")[0], "malformed"),
    ]
    n, e = mf.public_numbers(key.public_key())
    return {
        "key": {"n": format(n, "x"), "e": e, "kid": mf.key_id(key.public_key())},
        "node": {"hw": "emu-x64", "running": "0.1.0", "min_sv": 1, "now": now},
        "cases": [{"name": name, "manifest_hex": data.hex(), "reason": reason,
                   "digest": hashlib.sha256(data).hexdigest()} for name, data, reason in cases],
    }


def main() -> None:
    (HERE / "manifests.json").write_text(json.dumps(manifests(), indent=1) + "\n")
    for name, data in [
        ("ota", ota_messages()),
        ("readings", readings()),
        ("acks", acks()),
        ("states", states()),
        ("refusals", refusals()),
    ]:
        (HERE / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
