"""Regenerate tests/vectors/*.json from the CPython codec (run only when the protocol changes).

The vectors are the contract: tests check that the CPython codec still produces them and that
the firmware, inside the MicroPython VM, produces the same bytes and MACs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from protocol import ota
from protocol.codec import encode_ack, encode_reading, encode_state, sign
from protocol.gateway_requests import sign_request, signing_message, timestamp_text
from protocol.sealed_secrets import node_secret_aad, seal_secret, sealed_to_text
from tests.vectors.verify_vectors import verify, window

HERE = Path(__file__).parent
SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(100, 132))
MANIFEST_NOW = 1764259200


def _reading(name: str, secret: bytes, **kw: Any) -> dict[str, Any]:
    body = encode_reading(
        kw["node"], kw["kid"], kw["counter"], kw["t"], kw["fw"], kw["measures"], kw.get("bat"),
        kw.get("flags", ()),
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
        _reading(
            "people_counter_saturated",
            SECRET,
            node="ang-0001",
            kid=1,
            counter=5,
            t=1764259380,
            fw="0.1.0",
            measures=[["people_n", 128]],
            bat=3.52,
            flags=["people_sat"],
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
        "extra": [["fw", "0.1.0"], ["hw", "esp32"], ["slot", "a"], ["up", 42], ["buf", 3],
                  ["ev", 0]],
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
        {"name": "flag_without_measure", "message": signed(base % '{"people_sat":1}'),
         "reason": "malformed"},
        {"name": "flag_not_one", "message": signed(base % '{"people_n":3,"people_sat":0}'),
         "reason": "out_of_range"},
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


_SECRET_HEX = SECRET.hex()
_KEY_N = "c" + "0123456789abcdef" * 47 + "0123456789abcde"  # 768 hex digits: 3072 bits


def _node(**kw: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"id": "ang-0001", "kid": 1, "secret": _SECRET_HEX, "hw": "esp32",
                           "mqtt": {"host": "gw-centre.local"}, "sensors": []}
    cfg.update(kw)
    return {k: v for k, v in cfg.items() if v is not _DROP}


_DROP: Any = object()


def node_configs() -> dict[str, Any]:
    """node.json as the node must take it (normalised, every default filled in) or refuse it
    (the key named): protocol/node_config.py and firmware/nodecfg.py are both checked."""
    from protocol.node_config import defaults, validate

    bme = {"kind": "bme280", "i2c": 0, "scl": 22, "sda": 21, "addr": 118}
    valid = [
        ("minimal", _node()),
        ("provisioned_board", _node(
            zone="centre", wifi={"ssid": "capteurs-angers", "key": "k3y"},
            mqtt={"host": "gw-centre.local", "port": 1883, "user": "ang-0001",
                  "password": "p" * 43},
            sensors=[bme, {"kind": "battery", "pin": 35, "ratio": 2.0}], interval_s=60,
            status_s=300, wdt_s=30, battery=True, release_keys=[{"n": _KEY_N, "e": 65537}])),
        ("emulated_fast_node", _node(
            hw="emu-x64", wifi=None, interval_s=0.5, status_s=2, ack_timeout_s=3, trial_s=60,
            sensors=[{"kind": "pms5003", "uart": 1, "tx": 17, "rx": 16, "passive": True}],
            release_keys=[{"n": _KEY_N}, {"n": "8" + _KEY_N[1:], "e": 65537}])),
        ("bounds", _node(
            id="a-b", kid=65535, interval_s=0.1, status_s=86400, ack_timeout_s=600,
            wdt_s=3600, awake_s=1, outbox_segments=4, trial_s=1, debug=True,
            zone="z" * 32, mqtt={"host": "h" * 253, "port": 65535, "keepalive": 5},
            sensors=[{"kind": k} for k in ("bme280", "pms5003", "sds011", "mic", "people",
                                           "bin", "soil", "battery")])),
    ]
    mqtt = {"host": "gw"}
    invalid = [
        ("not_an_object", ["id"], "node.json"),
        ("missing_id", _node(id=_DROP), "id"),
        ("id_upper_case", _node(id="ANG-0001"), "id"),
        ("id_leading_dash", _node(id="-ang"), "id"),
        ("kid_zero", _node(kid=0), "kid"),
        ("kid_boolean", _node(kid=True), "kid"),
        ("kid_fraction", _node(kid=1.5), "kid"),
        ("secret_short", _node(secret=_SECRET_HEX[:62]), "secret"),
        ("secret_upper_case", _node(secret=_SECRET_HEX.upper()), "secret"),
        ("missing_hw", _node(hw=_DROP), "hw"),
        ("unknown_hw", _node(hw="esp8266"), "hw"),
        ("missing_mqtt", _node(mqtt=_DROP), "mqtt"),
        ("mqtt_not_an_object", _node(mqtt="gw"), "mqtt"),
        ("mqtt_port_zero", _node(mqtt={**mqtt, "port": 0}), "mqtt.port"),
        ("mqtt_empty_host", _node(mqtt={"host": ""}), "mqtt.host"),
        ("mqtt_password_without_user", _node(mqtt={**mqtt, "password": "x"}), "mqtt.user"),
        ("mqtt_unknown_key", _node(mqtt={**mqtt, "tls": True}), "mqtt.tls"),
        ("wifi_ssid_too_long", _node(wifi={"ssid": "s" * 33}), "wifi.ssid"),
        ("wifi_key_too_long", _node(wifi={"ssid": "s", "key": "k" * 64}), "wifi.key"),
        ("wifi_without_ssid", _node(wifi={"key": "k"}), "wifi.ssid"),
        ("too_many_sensors", _node(sensors=[bme] * 9), "sensors"),
        ("sensors_not_a_list", _node(sensors={"kind": "bme280"}), "sensors"),
        ("unknown_sensor_kind", _node(sensors=[{"kind": "lidar"}]), "sensors.0.kind"),
        ("sensor_value_a_list", _node(sensors=[bme, {"kind": "soil", "pin": [34]}]),
         "sensors.1.pin"),
        ("interval_zero", _node(interval_s=0), "interval_s"),
        ("interval_text", _node(interval_s="60"), "interval_s"),
        ("status_too_long", _node(status_s=86401), "status_s"),
        ("wdt_fraction", _node(wdt_s=2.5), "wdt_s"),
        ("battery_number", _node(battery=1), "battery"),
        ("outbox_too_small", _node(outbox_segments=3), "outbox_segments"),
        ("trial_too_short", _node(trial_s=0.5), "trial_s"),
        ("zone_null", _node(zone=None), "zone"),
        ("misspelt_key", _node(intervall_s=30), "intervall_s"),
        ("release_key_short", _node(release_keys=[{"n": _KEY_N[:-2]}]), "release_keys.0.n"),
        ("release_key_upper_case", _node(release_keys=[{"n": _KEY_N.upper()}]),
         "release_keys.0.n"),
        ("release_key_under_3072_bits", _node(release_keys=[{"n": "7" + _KEY_N[1:]}]),
         "release_keys.0.n"),
        ("release_key_exponent_3", _node(release_keys=[{"n": _KEY_N, "e": 3}]),
         "release_keys.0.e"),
        ("release_key_extra_field", _node(release_keys=[{"n": _KEY_N, "kid": "x"}]),
         "release_keys.0"),
        ("too_many_release_keys", _node(release_keys=[{"n": _KEY_N}] * 9), "release_keys"),
    ]
    return {
        "defaults": defaults(),
        "valid": [{"name": n, "config": c, "normalised": validate(c)} for n, c in valid],
        "invalid": [{"name": n, "config": c, "key": k} for n, c, k in invalid],
    }


GATEWAY_SIGNING_SEED = bytes(range(32, 64))  # Ed25519 private key of the vectors' gateway
GATEWAY_SEALING_KEY = bytes(range(64, 96))  # its X25519 private key
EPHEMERAL_KEY = bytes(range(96, 128))  # the fleet's ephemeral X25519 key, fixed for vectors


def gateway_requests() -> dict[str, Any]:
    """protocol/gateway_requests.py: signed requests (Ed25519 is deterministic)."""
    key = Ed25519PrivateKey.from_private_bytes(GATEWAY_SIGNING_SEED)
    cases = [
        ("sync", "GET", "/api/v1/gateway/sync?cursor=42", b"", 1764262800.25),
        ("ingest", "POST", "/api/v1/gateway/ingest",
         b'{"batch_id":"gw-1:1-2","health":[],"aggregates":[]}', 1764262801.0),
        ("lowercase_method", "post", "/api/v1/gateway/ota/status",
         b'{"batch_id":"gw-1:ota:7-7","items":[]}', 1764262802.123456),
    ]
    out = []
    for name, method, target, body, now in cases:
        headers = sign_request(key, "gw-angers-1", method, target, body, now)
        out.append({
            "name": name,
            "gateway_id": "gw-angers-1",
            "method": method,
            "target": target,
            "body_hex": body.hex(),
            "now": now,
            "message": signing_message(method, target, timestamp_text(now), body).decode(),
            "headers": headers,
        })
    return {
        "signing_key_hex": GATEWAY_SIGNING_SEED.hex(),
        "public_key_hex": key.public_key().public_bytes_raw().hex(),
        "requests": out,
    }


def sealed_secrets() -> dict[str, Any]:
    """protocol/sealed_secrets.py: node secrets sealed for a gateway, with the fleet's
    ephemeral key and nonce fixed (in service both are fresh)."""
    gateway = X25519PrivateKey.from_private_bytes(GATEWAY_SEALING_KEY)
    gateway_pub = gateway.public_key().public_bytes_raw()
    cases = [("first_key", "ang-0001", 1, SECRET, bytes(range(12))),
             ("rotated_key", "ang-doutre-7", 7, OTHER_SECRET, bytes(range(12, 24)))]
    out = []
    for name, node_id, key_id, secret, nonce in cases:
        blob = seal_secret(gateway_pub, secret, node_id, key_id,
                           ephemeral=X25519PrivateKey.from_private_bytes(EPHEMERAL_KEY),
                           nonce=nonce)
        out.append({
            "name": name,
            "node_id": node_id,
            "key_id": key_id,
            "secret_hex": secret.hex(),
            "nonce_hex": nonce.hex(),
            "aad": node_secret_aad(node_id, key_id).decode(),
            "sealed": sealed_to_text(blob),
        })
    return {
        "gateway_private_hex": GATEWAY_SEALING_KEY.hex(),
        "gateway_public_hex": gateway_pub.hex(),
        "ephemeral_private_hex": EPHEMERAL_KEY.hex(),
        "sealed": out,
    }


def main() -> None:
    (HERE / "gateway_requests.json").write_text(json.dumps(gateway_requests(), indent=1) + "\n")
    (HERE / "sealed_secrets.json").write_text(json.dumps(sealed_secrets(), indent=1) + "\n")
    (HERE / "node_configs.json").write_text(json.dumps(node_configs(), indent=1) + "\n")
    (HERE / "manifests.json").write_text(json.dumps(manifests(), indent=1) + "\n")
    for name, data in [
        ("ota", ota_messages()),
        ("readings", readings()),
        ("acks", acks()),
        ("states", states()),
        ("refusals", refusals()),
        ("window", window()),
        ("verify", verify()),
    ]:
        (HERE / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
