# The firmware's protocol code, in the MicroPython VM, against the shared test vectors.
import json
import os

import proto

VEC = os.getenv("TERRITOIRE_REPO") + "/tests/vectors/"


def _load(name):
    with open(VEC + name + ".json") as f:
        return json.load(f)


def _unhex(h):
    import binascii

    return binascii.unhexlify(h)


def test_hmac_rfc4231_case_2():
    s = proto.Signer(b"Jefe")
    got = s.mac(b"what do ya want for nothing?")
    want = _unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert got == want, got


def test_hmac_rfc4231_case_6_long_key():
    s = proto.Signer(b"\xaa" * 131)
    got = s.mac(b"Test Using Larger Than Block-Size Key - Hash Key First")
    want = _unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    assert got == want, got


def test_reading_vectors_encode_to_the_exact_bytes():
    for vec in _load("readings"):
        i = vec["input"]
        enc = proto.Encoder(i["node"], i["kid"], proto.Signer(_unhex(vec["secret_hex"])))
        # a flag (people_sat) is one more pair in "m" for the node, after the metrics
        m = i["measures"] + [[f, 1] for f in i.get("flags", ())]
        got = bytes(enc.reading(i["counter"], i["t"], i["fw"], m, i.get("bat")))
        assert got == vec["message"].encode(), (vec["name"], got)


def test_reading_vectors_survive_single_precision_values():
    # an ESP32 stores floats in 32 bits: the wire text must not change
    import struct

    for vec in _load("readings"):
        i = vec["input"]
        m = [(k, struct.unpack("<f", struct.pack("<f", v))[0]) for k, v in i["measures"]]
        m += [(f, 1.0) for f in i.get("flags", ())]
        enc = proto.Encoder(i["node"], i["kid"], proto.Signer(_unhex(vec["secret_hex"])))
        got = bytes(enc.reading(i["counter"], i["t"], i["fw"], m, i.get("bat")))
        assert got == vec["message"].encode(), (vec["name"], got)


def test_state_vector_encodes_to_the_exact_bytes():
    for vec in _load("states"):
        i = vec["input"]
        enc = proto.Encoder(i["node"], i["kid"], proto.Signer(_unhex(vec["secret_hex"])))
        got = bytes(enc.state(i["t"], i["status"], i["boot"], i["extra"]))
        assert got == vec["message"].encode(), got


def test_ack_vectors_decode():
    for vec in _load("acks"):
        i = vec["input"]
        res = proto.decode_ack(vec["message"].encode(), i["node"], proto.Signer(_unhex(vec["secret_hex"])))
        assert res is not None, vec["name"]
        t, ok, no = res
        assert t == i["t"] and ok == i["ok"] and no == i["no"], res


def test_ack_with_bad_mac_or_for_another_node_is_ignored():
    vec = _load("acks")[0]
    signer = proto.Signer(_unhex(vec["secret_hex"]))
    msg = vec["message"].encode()
    assert proto.decode_ack(msg.replace(b'"ok":[1,', b'"ok":[9,'), "ang-0001", signer) is None
    assert proto.decode_ack(msg, "ang-0002", signer) is None
    assert proto.decode_ack(msg, "ang-0001", proto.Signer(b"other")) is None
    assert proto.decode_ack(b"garbage", "ang-0001", signer) is None
    assert proto.decode_ack(b"x" * 2000, "ang-0001", signer) is None


def test_refusal_vectors_fail_the_node_mac_check_or_content():
    # the node-side verifier (used for acks) rejects every tampered/foreign signature
    signer = proto.Signer(bytes(range(32)))
    for vec in _load("refusals"):
        if vec["reason"] != "bad_mac":
            continue
        body, mac = proto.split(vec["message"].encode())
        assert not signer.verify(body, mac), vec["name"]


def test_window_vectors_encode_to_the_exact_bytes():
    # the counter window's edges (H - 1025 .. H + 1, a jump, 2^53 - 1, a ':' in fw): the node
    # builds each of these readings byte for byte as the gateway's vectors expect
    win = _load("window")
    enc = proto.Encoder(win["node"], win["key_id"], proto.Signer(_unhex(win["secret_hex"])))
    for case in win["cases"] + win["sequence"]:
        i = case["input"]
        got = bytes(enc.reading(i["counter"], i["t"], i["fw"], i["measures"], i.get("bat")))
        assert got == case["message"].encode(), (case.get("name"), got)


def test_node_never_has_in_flight_a_counter_below_the_gateway_window():
    # the node sends nothing WINDOW or more above its oldest unacknowledged counter (uplink.py),
    # so when the gateway's highest is H every reading still in flight is >= H - (WINDOW - 1):
    # inside the gateway's window, which window.json shows is H - replay_window .. H
    win = _load("window")
    assert proto.WINDOW <= win["replay_window"], (proto.WINDOW, win["replay_window"])
    offsets = {}
    for c in win["cases"]:
        offsets.setdefault(c["outcome"], []).append(c["window"]["high"] - c["counter"])
    assert max(offsets["accepted"]) == win["replay_window"], offsets
    assert max(offsets["duplicate"]) == win["replay_window"], offsets
    assert min(offsets["replayed_counter"]) == win["replay_window"] + 1, offsets
