# A refused release is remembered (ota.ref) only under the trust it was judged with: the
# node.json hardware and release keys. Re-flashing with other keys or another hw forgets it.
import os

import otaclient

MH = "ab" * 32


def _cfg(hw="esp32", keys=()):
    # the fields trust() reads, as nodecfg.load() returns them
    return {"id": "ang-0001", "hw": hw, "release_keys": [{"n": n, "e": 65537} for n in keys]}


K1 = "c" + "1" * 767
K2 = "d" + "2" * 767


def test_trust_changes_with_hw_or_keys_and_not_with_key_order():
    base = otaclient.trust(_cfg(keys=(K1, K2)))
    assert len(base) == 16, base
    assert otaclient.trust(_cfg(keys=(K2, K1))) == base
    assert otaclient.trust(_cfg(hw="emu-x64", keys=(K1, K2))) != base
    assert otaclient.trust(_cfg(keys=(K1,))) != base
    assert otaclient.trust(_cfg(keys=())) != otaclient.trust(_cfg(hw="emu-x64", keys=()))


def test_refusal_is_answered_again_under_the_same_trust():
    fp = otaclient.trust(_cfg(keys=(K1,)))
    otaclient.remember_refusal(MH, "0.2.0", "unknown_key", fp)
    assert otaclient.remembered_refusal(MH, fp) == ("0.2.0", "unknown_key")
    assert otaclient.remembered_refusal("cd" * 32, fp) is None  # another release: judged anew
    assert "ota.ref" in os.listdir()


def test_refusal_is_forgotten_when_the_keys_change():
    # provisioned without keys: every release refused as unknown_key; re-flashed with the
    # fleet's key, the same release must be fetched and judged again
    otaclient.remember_refusal(MH, "0.2.0", "unknown_key", otaclient.trust(_cfg(keys=())))
    assert otaclient.remembered_refusal(MH, otaclient.trust(_cfg(keys=(K1,)))) is None
    assert "ota.ref" not in os.listdir()


def test_refusal_is_forgotten_when_the_hardware_changes():
    otaclient.remember_refusal(MH, "0.2.0", "wrong_hw", otaclient.trust(_cfg(hw="emu-x64", keys=(K1,))))
    assert otaclient.remembered_refusal(MH, otaclient.trust(_cfg(hw="esp32", keys=(K1,)))) is None
    assert "ota.ref" not in os.listdir()


def test_refusal_recorded_without_trust_by_an_older_firmware_is_forgotten():
    with open("ota.ref", "w") as f:
        f.write("%s 0.2.0 unknown_key" % MH)
    assert otaclient.remembered_refusal(MH, otaclient.trust(_cfg(keys=(K1,)))) is None
    assert "ota.ref" not in os.listdir()
