# The emulated board's bluetooth.BLE, in the VM: gap_scan delivers the simulated
# advertisements synchronously, then _IRQ_SCAN_DONE, through reused buffers.
import json

_IRQ_SCAN_RESULT = 5
_IRQ_SCAN_DONE = 6


def _ble():
    with open("board.json", "w") as f:
        json.dump({"node_id": "ang-0005", "seed": 3, "speed": 60.0, "ble": "pedestrians"}, f)
    import bluetooth

    return bluetooth.BLE()


def test_scan_delivers_results_then_done():
    ble = _ble()
    try:
        ble.gap_scan(1000)
    except OSError:
        pass
    else:
        raise AssertionError("scanning with BLE inactive")
    ble.active(True)
    seen = []
    done = []

    def irq(event, data):
        if event == _IRQ_SCAN_RESULT:
            addr_type, addr, adv_type, rssi, adv = data
            seen.append((addr_type, bytes(addr), rssi, bytes(adv)))
        elif event == _IRQ_SCAN_DONE:
            done.append(len(seen))

    ble.irq(irq)
    ble.gap_scan(2000, 30000, 30000)
    assert done == [len(seen)], "done comes last, once"
    assert len(seen) >= 2, "at least the two fixed beacons"
    for t, addr, rssi, adv in seen:
        assert len(addr) == 6 and -110 < rssi < 0 and len(adv) <= 31


def test_addr_buffer_is_reused_like_on_the_board():
    ble = _ble()
    ble.active(True)
    kept = []
    ble.irq(lambda e, d: kept.append(d[1]) if e == _IRQ_SCAN_RESULT else None)
    ble.gap_scan(2000)
    assert len(kept) >= 2
    assert all(k is kept[0] or bytes(k) == bytes(kept[0]) for k in kept), (
        "a handler that keeps the memoryview sees it overwritten"
    )


def test_stop_scan_signals_done():
    ble = _ble()
    ble.active(True)
    ev = []
    ble.irq(lambda e, d: ev.append(e))
    ble.gap_scan(None)
    assert ev == [_IRQ_SCAN_DONE]
    assert len(ble.config("mac")[1]) == 6
