# The emulated board's esp32 module, in the VM: NVS persisted (atomically) in the node
# directory, and the OTA partition API over ota.json.
import json
import sys


def _esp32():
    with open("board.json", "w") as f:
        json.dump({"node_id": "ang-0003"}, f)
    import esp32

    return esp32


def _reboot():
    # a new VM process: module state gone, only the node directory remains
    for name in ("esp32", "_e_part", "_board"):
        sys.modules.pop(name, None)
    return _esp32()


def _err(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    raise AssertionError("no OSError from %s" % fn)


def test_nvs_values_survive_a_reboot_after_commit():
    e = _esp32()
    nvs = e.NVS("territoire")
    nvs.set_i32("counter", 41)
    nvs.set_i32("neg", -2147483648)
    nvs.set_blob("key", b"\x00\x01secret")
    nvs.commit()
    e = _reboot()
    nvs = e.NVS("territoire")
    assert nvs.get_i32("counter") == 41
    assert nvs.get_i32("neg") == -2147483648
    buf = bytearray(16)
    n = nvs.get_blob("key", buf)
    assert bytes(buf[:n]) == b"\x00\x01secret"


def test_nvs_uncommitted_changes_are_lost_at_reset():
    e = _esp32()
    nvs = e.NVS("territoire")
    nvs.set_i32("counter", 1)
    nvs.commit()
    nvs.set_i32("counter", 2)
    assert e.NVS("territoire").get_i32("counter") == 2, "visible to every handle at once"
    e = _reboot()
    assert e.NVS("territoire").get_i32("counter") == 1


def test_nvs_errors_are_the_esp_idf_ones():
    e = _esp32()
    nvs = e.NVS("territoire")
    assert _err(nvs.get_i32, "missing") == -4354  # ESP_ERR_NVS_NOT_FOUND
    assert _err(nvs.erase_key, "missing") == -4354
    nvs.set_blob("blob", b"12345678")
    assert _err(nvs.get_i32, "blob") == -4354, "wrong type: not found, as in ESP-IDF"
    assert _err(nvs.get_blob, "blob", bytearray(4)) == -4364  # ESP_ERR_NVS_INVALID_LENGTH
    assert _err(nvs.set_i32, "a_key_of_16_char", 1) == -4361  # ESP_ERR_NVS_KEY_TOO_LONG
    assert _err(e.NVS, "a_namespace_of_16") == -4358
    try:
        nvs.set_i32("big", 2**31)
    except OverflowError:
        pass
    else:
        raise AssertionError("i32 overflow accepted")


def test_nvs_erase_and_namespaces_are_separate():
    e = _esp32()
    a = e.NVS("a")
    b = e.NVS("b")
    a.set_i32("x", 1)
    b.set_i32("x", 2)
    a.commit()
    b.commit()
    a.erase_key("x")
    a.commit()
    e = _reboot()
    assert _err(e.NVS("a").get_i32, "x") == -4354
    assert e.NVS("b").get_i32("x") == 2


def test_nvs_commit_leaves_no_temporary_file():
    import os

    e = _esp32()
    nvs = e.NVS("ns")
    nvs.set_i32("v", 5)
    nvs.commit()
    names = os.listdir()
    assert "nvs.ns" in names and "nvs.ns.tmp" not in names, names


def test_partition_api_and_set_boot_marks_a_new_image():
    e = _esp32()
    P = e.Partition
    run = P(P.RUNNING)
    assert run.info()[4] == "ota_0" and run.info()[0] == P.TYPE_APP
    nxt = run.get_next_update()
    assert nxt.info()[4] == "ota_1"
    assert nxt.get_next_update() == run
    assert [p.info()[4] for p in P.find(P.TYPE_APP)] == ["ota_0", "ota_1"]
    assert P.find(P.TYPE_DATA, label="vfs")[0].info()[3] == 2 * 1024 * 1024
    nxt.set_boot()
    assert P(P.BOOT).info()[4] == "ota_1"
    assert P(P.RUNNING).info()[4] == "ota_0", "runs on until the next boot"
    with open("ota.json") as f:
        assert json.load(f)["st"]["ota_1"] == "new"


def test_mark_app_valid_confirms_a_trial_boot():
    with open("ota.json", "w") as f:  # as the host's bootloader leaves it on a trial boot
        json.dump({"boot": "ota_1", "run": "ota_1", "st": {"ota_1": "pending"}}, f)
    e = _esp32()
    e.Partition.mark_app_valid_cancel_rollback()
    with open("ota.json") as f:
        assert json.load(f)["st"]["ota_1"] == "valid"
