# The firmware's node.json contract (nodecfg.py), in the MicroPython VM, against the vectors
# protocol/node_config.py is checked against too (tests/vectors/node_configs.json).
import gc
import json
import os

import nodecfg

VEC = os.getenv("TERRITOIRE_REPO") + "/tests/vectors/"


def _load():
    with open(VEC + "node_configs.json") as f:
        return json.load(f)


def test_valid_configs_are_normalised_as_on_cpython():
    for vec in _load()["valid"]:
        got = nodecfg.check(vec["config"])
        assert got == vec["normalised"], (vec["name"], got)


def test_invalid_configs_are_refused_naming_the_same_key():
    for vec in _load()["invalid"]:
        try:
            nodecfg.check(vec["config"])
        except ValueError as e:
            key = str(e).split(": ")[0]
            assert key == vec["key"], (vec["name"], str(e))
        else:
            raise AssertionError("accepted: " + vec["name"])


def test_defaults_are_those_of_the_contract():
    assert nodecfg.defaults() == _load()["defaults"], nodecfg.defaults()


def test_the_loader_reads_trial_s_as_the_contract_does():
    # main.py stays in the root across updates and cannot import nodecfg from a slot
    import main as loader

    for vec in _load()["valid"]:
        with open("node.json", "w") as f:
            json.dump(vec["config"], f)
        assert loader.trial_seconds() == vec["normalised"]["trial_s"], vec["name"]


def test_load_reads_node_json_from_flash():
    vec = _load()["valid"][1]
    with open("node.json", "w") as f:
        json.dump(vec["config"], f)
    assert nodecfg.load() == vec["normalised"]


def test_loading_the_config_leaves_nothing_of_the_checker_in_the_heap():
    # what node.load_config and the self-test do: load, then drop the module (its tables and
    # checks cost several KB while imported, figure in nodecfg.py's header)
    import sys

    vec = _load()["valid"][1]
    with open("node.json", "w") as f:
        json.dump(vec["config"], f)
    del vec
    sys.modules.pop("nodecfg", None)
    gc.collect()
    before = gc.mem_alloc()
    import nodecfg as again

    gc.collect()
    loaded = gc.mem_alloc() - before
    cfg = again.load()
    del again
    sys.modules.pop("nodecfg", None)
    del cfg
    gc.collect()
    left = gc.mem_alloc() - before
    print("nodecfg imported", loaded, "left after unloading", left)
    assert loaded < 12000, loaded
    assert left < 256, left
