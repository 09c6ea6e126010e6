"""Regenerate tests/vectors/*.json from the CPython codec (run only when the protocol changes).

The vectors are the contract: tests check that the CPython codec still produces them and that
the firmware, inside the MicroPython VM, produces the same bytes and MACs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from protocol.codec import encode_ack, encode_reading, encode_state, sign

HERE = Path(__file__).parent
SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(100, 132))


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


def main() -> None:
    for name, data in [
        ("readings", readings()),
        ("acks", acks()),
        ("states", states()),
        ("refusals", refusals()),
    ]:
        (HERE / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
