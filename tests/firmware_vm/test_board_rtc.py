# The emulated board's machine.RTC, in the VM: RTC memory kept in the node directory
# (so it survives reset and deep sleep; the host clears it at power-on) and the clock.
import json
import sys


def _machine():
    with open("board.json", "w") as f:
        json.dump({"node_id": "ang-0004"}, f)
    import machine

    return machine


def _reboot():
    for name in ("machine", "_m_rtc", "_board"):
        sys.modules.pop(name, None)
    return _machine()


def test_rtc_memory_survives_a_reboot():
    m = _machine()
    r = m.RTC()
    assert r.memory() == b"", "empty after power-on"
    r.memory(b"\x01\x02counter=17")
    m = _reboot()
    assert m.RTC().memory() == b"\x01\x02counter=17"


def test_rtc_memory_is_2k_at_most():
    m = _machine()
    m.RTC().memory(bytes(2048))
    try:
        m.RTC().memory(bytes(2049))
    except ValueError:
        pass
    else:
        raise AssertionError("2049 bytes of RTC memory accepted")


def test_rtc_datetime_set_and_read_back():
    m = _machine()
    r = m.RTC()
    y, mo, d, wd, h, mi, s, us = r.datetime()
    assert y >= 2024 and 1 <= mo <= 12 and 0 <= wd <= 6 and 0 <= us < 1000000
    r.datetime((2030, 6, 15, 0, 12, 30, 0, 0))
    y, mo, d, wd, h, mi, s, us = _reboot().RTC().datetime()
    assert (y, mo, d, h, mi) == (2030, 6, 15, 12, 30) and s <= 2, r.datetime()
    assert wd == 5, "2030-06-15 is a Saturday (Monday = 0)"
