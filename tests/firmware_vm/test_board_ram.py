# Heap cost of the emulated board itself (it counts against the node's 100 KB; on the real
# board these modules are in ROM). Numbers are for the 64-bit unix VM, about twice what the
# same bytecode and objects take on the 32-bit ESP32.
import gc
import json

# budget for machine + network + esp32 at import: a regression guard, not a target
_CORE_BUDGET = 16000


def _cost(names):
    gc.collect()
    a = gc.mem_alloc()
    for n in names:
        __import__(n)
    gc.collect()
    return gc.mem_alloc() - a


def test_board_core_import_cost_within_budget():
    with open("board.json", "w") as f:
        json.dump({"node_id": "ang-0006"}, f)
    board = _cost(["_board"])
    core = _cost(["machine", "network", "esp32"])
    import machine
    import esp32

    each = []
    for name, get in (
        ("WDT+RTC", lambda: (machine.WDT, machine.RTC)),
        ("I2C", lambda: machine.I2C),
        ("UART", lambda: machine.UART),
        ("ADC", lambda: machine.ADC),
        ("I2S", lambda: machine.I2S),
        ("misc", lambda: machine.freq),
        ("Timer", lambda: machine.Timer),
        ("Partition", lambda: esp32.Partition),
    ):
        gc.collect()
        a = gc.mem_alloc()
        get()
        gc.collect()
        each.append("%s=%d" % (name, gc.mem_alloc() - a))
    bt = _cost(["bluetooth"])
    print("RAM _board=%d machine+network+esp32=%d bluetooth=%d; on first use: %s" % (
        board, core, bt, " ".join(each)))
    assert core < _CORE_BUDGET, "board core grew to %d bytes" % core
