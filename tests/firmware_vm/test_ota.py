# Over-the-air update on the node, in the VM: manifest verification against the vectors made
# by protocol/manifest.py, the OTA messages, the loader's slot choice, the slot record under
# torn writes, and the updater's download (changed files only, resume, refusals).
import binascii
import hashlib
import json
import os

import asyncio
import main as loader
import manifest
import proto
import slots
import store

VEC = os.getenv("TERRITOIRE_REPO") + "/tests/vectors/"


def _load(name):
    with open(VEC + name + ".json") as f:
        return json.load(f)


def _keys(vec):
    return manifest.load_keys([{"n": vec["key"]["n"], "e": vec["key"]["e"]}])


def test_manifest_vectors_accepted_and_refused_with_their_reason():
    vec = _load("manifests")
    keys = _keys(vec)
    assert list(keys) == [vec["key"]["kid"]], keys
    nd = vec["node"]
    for case in vec["cases"]:
        data = binascii.unhexlify(case["manifest_hex"])
        m, why = manifest.verify(data, keys, nd["hw"], nd["running"], nd["min_sv"], nd["now"])
        assert why == case["reason"], (case["name"], why)
        if case["reason"] is None:
            assert m["ver"] == "0.2.0" and m["files"][0][0] == "node.mpy", m


def test_manifest_without_known_time_is_refused_as_no_time():
    vec = _load("manifests")
    good = binascii.unhexlify(vec["cases"][0]["manifest_hex"])
    assert manifest.verify(good, _keys(vec), "emu-x64", "0.1.0", 1, 0)[1] == "no_time"


def test_every_single_byte_change_of_a_signed_manifest_is_refused():
    vec = _load("manifests")
    keys = _keys(vec)
    good = bytearray(binascii.unhexlify(vec["cases"][0]["manifest_hex"]))
    for i in range(0, len(good), 37):
        bad = bytearray(good)
        bad[i] ^= 0x01
        m, why = manifest.verify(bytes(bad), keys, "emu-x64", "0.1.0", 1, vec["node"]["now"])
        assert why is not None, i


def test_ota_message_vectors_encode_and_decode_on_the_node():
    for vec in _load("ota"):
        i = vec["input"]
        signer = proto.Signer(binascii.unhexlify(vec["secret_hex"]))
        enc = proto.Encoder(i["node"], i["kid"], signer)
        msg = vec["message"].encode()
        if i["y"] == "q":
            assert bytes(enc.ota_request(i["t"], i["h"], i["o"], i["l"])) == msg
        elif i["y"] == "p":
            assert bytes(enc.ota_progress(i["t"], i["ver"], i["st"], i["why"])) == msg
        else:
            obj = proto.decode_cmd(msg, i["node"], signer)
            assert obj is not None and obj["y"] == i["y"], vec["name"]
            if i["y"] == "d":
                data = binascii.a2b_base64(obj["b"])
                assert data == binascii.unhexlify(i["b_hex"])
                assert proto.b64url(hashlib.sha256(data).digest()).decode() == obj["ch"]
            assert proto.decode_cmd(msg, "ang-0002", signer) is None
            assert proto.decode_cmd(msg.replace(b'"t":', b'"t":1'), i["node"], signer) is None


# ------------------------------------------------------------------ loader and slot record

def _slot(name, files=("node.mpy",)):
    store.makedirs(name)
    for f in files:
        with open(name + "/" + f, "wb") as fh:
            fh.write(b"x")


def test_loader_without_state_runs_slot_a():
    _slot("a")
    assert loader.pick(None, 1) == ("a", False)


def test_loader_counts_trial_boots_then_rolls_back_after_three():
    _slot("a")
    _slot("b")
    st = {"q": 5, "run": "a", "tr": "b", "n": 0, "tv": "0.2.0", "tmh": "ab"}
    for n in (1, 2, 3):
        assert loader.pick(st, 2) == ("b", True)
        assert st["n"] == n
    assert loader.pick(st, 2) == ("a", True)
    assert st["tr"] is None and st["ev"] == "rolled_back" and st["ev_v"] == "0.2.0", st


def test_loader_does_not_count_deep_sleep_wakes_as_trial_boots():
    _slot("a")
    _slot("b")
    st = {"q": 1, "run": "a", "tr": "b", "n": 2}
    for _ in range(10):
        assert loader.pick(st, 4) == ("b", False)
    assert st["n"] == 2
    assert loader.pick(st, 1) == ("b", True) and st["n"] == 3


def test_loader_rolls_back_at_once_when_the_trial_slot_has_no_app():
    _slot("a")
    store.makedirs("b")
    st = {"q": 1, "run": "a", "tr": "b", "n": 0, "tv": "0.2.0"}
    assert loader.pick(st, 1) == ("a", True)
    assert st["ev"] == "rolled_back"


def test_loader_falls_back_to_the_other_slot_when_the_running_one_has_no_app():
    _slot("b")
    assert loader.pick({"q": 1, "run": "a", "tr": None}, 1) == ("b", False)


def test_slot_record_survives_a_torn_write_of_either_copy():
    _slot("a")
    _slot("b")
    st = slots.load()
    assert st["run"] == "a" and st["q"] == 0
    slots.set_trial(st, "b", "0.2.0", 3, "cd" * 32)
    slots.confirm(slots.load())
    st = slots.load()
    assert st["run"] == "b" and st["sv"] == 3 and st["ev"] == "confirmed", st
    # the copy written last is torn by a power cut: the previous state is what remains
    newest = "slot.a" if loader._decode(store.read_file("slot.a"))["q"] == st["q"] else "slot.b"
    with open(newest, "r+b") as f:
        f.seek(5)
        f.write(b"\x00\x00")
    back = slots.load()
    assert back["q"] == st["q"] - 1 and back["tr"] == "b", back
    # the loader reads the same record and moves on from it
    lst, older = loader.load()
    assert lst["q"] == back["q"] and older == newest, (lst, older)
    assert loader.pick(lst, 1) == ("b", True)
    loader.save(lst, older)
    assert slots.load()["n"] == 1


# ------------------------------------------------------------------ the updater

class Gateway:
    """Serves objects by SHA-256 as the gateway does, counting the bytes sent."""

    def __init__(self, objects):
        self.objects = objects
        self.sent = 0
        self.reports = []
        self.fail_after = None

    async def fetch(self, h, o, n):
        if self.fail_after is not None and self.sent >= self.fail_after:
            return None  # the link dropped
        data = self.objects[h][o : o + n]
        self.sent += len(data)
        return data

    async def report(self, ver, st, why=""):
        self.reports.append((ver, st, why))


def _hex(data):
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def _updater(gw, cfg, resets):
    import ota

    return ota.Updater(cfg, gw.fetch, gw.report, lambda: resets.append(1),
                       lambda: 1764259200, "0.1.0")


def _release():
    """A release signed in the vectors (node.mpy changed, sensors/pm.mpy the same) and the slot
    a it updates."""
    vec = _load("manifests")
    good = binascii.unhexlify(vec["cases"][0]["manifest_hex"])
    node, pm = b"node code " * 400, b"pm code"
    store.makedirs("a")
    store.makedirs("a/sensors")
    with open("a/node.mpy", "wb") as f:
        f.write(b"old node code")
    with open("a/sensors/pm.mpy", "wb") as f:
        f.write(pm)
    objects = {_hex(good): good, _hex(node): node, _hex(pm): pm}
    st = slots.load()
    st["sv"] = vec["node"]["min_sv"]  # the node runs a release of secure version 1
    slots.save(st)
    cfg = {"hw": "emu-x64", "release_keys": [{"n": vec["key"]["n"], "e": vec["key"]["e"]}]}
    return vec, good, node, objects, cfg


async def test_update_fetches_only_changed_files_then_sets_the_trial():
    vec, good, node, objects, cfg = _release()
    gw = Gateway(objects)
    resets = []
    got = await _updater(gw, cfg, resets).offer("0.2.0", _hex(good), len(good))
    assert got == "switching", gw.reports
    assert gw.sent == len(good) + len(node), gw.sent  # pm.mpy copied locally
    assert resets == [1]
    st = slots.load()
    assert st["tr"] == "b" and st["tv"] == "0.2.0" and st["tsv"] == 1, st
    with open("b/sensors/pm.mpy", "rb") as f:
        assert f.read() == b"pm code"
    assert [r[1] for r in gw.reports] == ["downloading", "switching"], gw.reports


async def test_partial_file_resumes_from_its_size_after_a_link_drop():
    vec, good, node, objects, cfg = _release()
    gw = Gateway(objects)
    gw.fail_after = len(good) + 3 * 128  # the link drops during node.mpy
    resets = []
    up = _updater(gw, cfg, resets)
    assert await up.offer("0.2.0", _hex(good), len(good)) is None
    partial = os.stat("b/node.mpy.part")[6]
    assert 0 < partial < len(node), partial
    assert slots.load()["tr"] is None  # nothing switches on a partial download
    # a reboot later: a new updater, the same flash; only the rest of node.mpy travels
    gw2 = Gateway(objects)
    assert await _updater(gw2, cfg, resets).offer("0.2.0", _hex(good), len(good)) == "switching"
    assert gw2.sent == len(node) - partial, (gw2.sent, partial)


async def test_tampered_object_is_refused_and_changes_nothing():
    vec, good, node, objects, cfg = _release()
    objects[_hex(node)] = node[:-1] + b"!"  # served bytes differ from the signed hash
    gw = Gateway(objects)
    resets = []
    assert await _updater(gw, cfg, resets).offer("0.2.0", _hex(good), len(good)) == "refused"
    assert gw.reports[-1] == ("0.2.0", "refused", "bad_hash"), gw.reports
    assert resets == [] and slots.load()["tr"] is None


async def test_refused_manifests_are_reported_with_their_reason_and_change_nothing():
    vec, good, node, objects, cfg = _release()
    resets = []
    for case in vec["cases"][1:]:
        data = binascii.unhexlify(case["manifest_hex"])
        gw = Gateway({case["digest"]: data})
        up = _updater(gw, cfg, resets)
        assert await up.offer("0.2.0", case["digest"], len(data)) == "refused", case["name"]
        assert gw.reports[-1][1:] == ("refused", case["reason"]), (case["name"], gw.reports)
        # offered again: answered from memory, not downloaded again
        sent = gw.sent
        await up.offer("0.2.0", case["digest"], len(data))
        assert gw.sent == sent
    assert resets == [] and slots.load()["tr"] is None
    assert "node.mpy" not in os.listdir("b")


async def test_manifest_digest_mismatch_is_refused_as_bad_hash():
    vec, good, node, objects, cfg = _release()
    gw = Gateway({_hex(good): good[:-2] + b"x\n"})
    got = await _updater(gw, cfg, []).offer("0.2.0", _hex(good), len(good))
    assert got == "refused" and gw.reports[-1][2] == "bad_hash", gw.reports
