# The emulated board's machine module, in the VM: API shapes of the ESP32 port, and buses
# wired to the simulated devices of the board description (cwd/board.json).
import json
import os

BOARD = {
    "node_id": "ang-0001",
    "seed": 7,
    "speed": 60.0,
    "i2c": {"0": {"scl": 22, "sda": 21, "devices": {"118": "bme280"}}},
    "uart": {"1": "pms5003"},
    "adc": {"34": "soil", "35": "battery"},
    "i2s": {"0": "mic"},
    "ultrasonic": {"trig": 5, "echo": 18},
    "pins": {"4": 1},
}


def _machine(board=BOARD):
    # the board reads its description once: write it before the first import
    with open("board.json", "w") as f:
        json.dump(board, f)
    import machine

    return machine


def _raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc.__name__, fn))


def test_pin_in_out_and_shared_level():
    m = _machine()
    p = m.Pin(2, m.Pin.OUT, value=1)
    assert p.value() == 1 and p() == 1
    p.off()
    assert p.value() == 0
    p.on()
    assert m.Pin(2).value() == 1, "a second Pin object sees the same GPIO"
    assert m.Pin(4, m.Pin.IN).value() == 1, "board-wired input level"
    assert m.Pin(13, m.Pin.IN, m.Pin.PULL_UP).value() == 1
    assert m.Pin(14, m.Pin.IN).value() == 0
    p.irq(handler=lambda x: None, trigger=m.Pin.IRQ_RISING)
    s = m.Signal(m.Pin(15, m.Pin.OUT), invert=True)
    s.on()
    assert m.Pin(15).value() == 0, "Signal works on the emulated Pin"


def test_pin_rejects_what_the_esp32_rejects():
    m = _machine()
    _raises(ValueError, m.Pin, 20)  # no GPIO20 on the ESP32
    _raises(ValueError, m.Pin, 40)
    _raises(ValueError, m.Pin, 34, m.Pin.OUT)  # 34-39 are input only
    m.Pin(34, m.Pin.IN)


def test_i2c_reaches_the_bme280_by_register():
    m = _machine()
    i2c = m.I2C(0, scl=m.Pin(22), sda=m.Pin(21), freq=400000)
    assert i2c.scan() == [118]
    assert i2c.readfrom_mem(118, 0xD0, 1) == b"\x60", "chip id"
    buf = bytearray(1)
    i2c.readfrom_mem_into(118, 0xD0, buf)
    assert buf[0] == 0x60
    # register pointer write, then plain read: how some drivers talk
    assert i2c.writeto(118, b"\xd0") == 1
    assert i2c.readfrom(118, 1) == b"\x60"
    i2c.writeto_mem(118, 0xF4, b"\x25")  # ctrl_meas: forced mode
    e = _raises(OSError, i2c.readfrom_mem, 0x77, 0xD0, 1)
    assert e.errno == 19, "no device at 0x77: ENODEV (no ACK)"
    _raises(ValueError, m.I2C, 2)


def test_soft_i2c_finds_the_bus_by_its_pins_and_miswiring_finds_nothing():
    m = _machine()
    assert m.SoftI2C(scl=m.Pin(22), sda=m.Pin(21)).scan() == [118]
    assert m.SoftI2C(scl=m.Pin(21), sda=m.Pin(22)).scan() == []
    assert m.I2C(0, scl=m.Pin(25), sda=m.Pin(26)).scan() == []
    assert m.I2C(1).scan() == []


def test_same_chip_behind_two_bus_objects():
    m = _machine()
    a = m.I2C(0, scl=m.Pin(22), sda=m.Pin(21))
    a.writeto_mem(118, 0xF2, b"\x03")  # ctrl_hum
    b = m.I2C(0, scl=m.Pin(22), sda=m.Pin(21))
    assert b.readfrom_mem(118, 0xF2, 1) == b"\x03", "recreating the bus does not reset the chip"


def test_uart_delivers_pms5003_frames_within_timeout():
    m = _machine()
    u = m.UART(1, baudrate=9600, tx=17, rx=16, timeout=2500)
    buf = bytearray(64)
    n = u.readinto(buf)
    assert n and n >= 2, "a frame arrives within the timeout"
    assert bytes(buf[:2]) == b"BM", bytes(buf[:n])
    assert u.any() >= 0
    assert m.UART(2, timeout=0).read() is None, "nothing wired on UART2"
    assert u.write(b"\x42\x4d\xe1\x00\x01\x01\x71") == 7


async def test_uart_works_under_asyncio_stream_reader():
    import asyncio

    m = _machine()
    r = asyncio.StreamReader(m.UART(1, baudrate=9600))
    head = await asyncio.wait_for(r.readexactly(2), 3)
    assert head == b"BM", head


def test_adc_reads_the_simulated_sources():
    m = _machine()
    soil = m.ADC(m.Pin(34), atten=m.ADC.ATTN_11DB)
    u16 = soil.read_u16()
    assert 0 < u16 < 65536
    assert 0 <= soil.read() < 4096
    soil.width(m.ADC.WIDTH_10BIT)
    assert 0 <= soil.read() < 1024
    bat = m.ADC(35)
    uv = bat.read_uv()
    assert 1000000 < uv < 3100000, "half of a Li-ion cell's voltage: %d" % uv
    _raises(ValueError, m.ADC, m.Pin(5))  # not an ADC pin
    assert m.ADC(m.Pin(36)).read_u16() == 0, "nothing wired: reads low"


def test_i2s_fills_the_buffer_at_the_sample_rate():
    import time

    m = _machine()
    mic = m.I2S(0, sck=m.Pin(14), ws=m.Pin(15), sd=m.Pin(32), mode=m.I2S.RX, bits=32,
                format=m.I2S.MONO, rate=16000, ibuf=8000)
    buf = bytearray(16000)  # 250 ms of 32-bit mono at 16 kHz
    t = time.ticks_ms()
    assert mic.readinto(buf) == 16000
    took = time.ticks_diff(time.ticks_ms(), t)
    assert took >= 200, "the DMA delivers in real time, not at once: %d ms" % took
    assert any(buf[i] for i in range(0, 400)), "samples, not silence"


def test_time_pulse_us_answers_a_trigger_with_the_echo():
    import time

    m = _machine()
    trig = m.Pin(5, m.Pin.OUT, value=0)
    echo = m.Pin(18, m.Pin.IN)
    assert m.time_pulse_us(echo, 1, 1000) == -2, "no trigger, no echo"
    trig.value(1)
    time.sleep_us(10)
    trig.value(0)
    t = m.time_pulse_us(echo, 1, 40000)
    assert 0 < t <= 38000, t
    assert m.time_pulse_us(echo, 1, 1000) == -2, "one echo per trigger"


def test_reset_cause_and_wake_reason_come_from_the_host():
    m = _machine()
    assert m.reset_cause() == m.PWRON_RESET and m.wake_reason() == 0
    with open("boot", "w") as f:
        f.write("%d %d" % (m.DEEPSLEEP_RESET, m.TIMER_WAKE))
    assert m.reset_cause() == m.DEEPSLEEP_RESET
    assert m.wake_reason() == m.TIMER_WAKE


def test_reset_and_sleep_exit_with_the_runner_codes():
    m = _machine()
    e = _raises(SystemExit, m.reset)
    assert e.args[0] == 110
    e = _raises(SystemExit, m.soft_reset)
    assert e.args[0] == 112
    e = _raises(SystemExit, m.deepsleep, 60000)
    assert e.args[0] == 111
    with open("wake") as f:
        assert f.read() == "60000"


def test_watchdog_feed_is_a_heartbeat_file():
    import time

    m = _machine()
    _raises(ValueError, m.WDT, timeout=0)
    w = m.WDT(timeout=2000)
    with open("wdt") as f:
        assert f.read() == "2000"
    before = os.stat("wdt")[8]
    time.sleep(1.1)
    w.feed()
    assert os.stat("wdt")[8] > before, "feed() moves the heartbeat"


def test_misc_functions():
    import network

    m = _machine()
    uid = m.unique_id()
    assert len(uid) == 6 and uid == network.WLAN(network.STA_IF).config("mac")
    assert m.freq() == 160000000
    m.freq(240000000)
    assert m.freq() == 240000000
    _raises(ValueError, m.freq, 123)
    s = m.disable_irq()
    m.enable_irq(s)
    m.idle()
    m.lightsleep(60)  # 1 ms at speed 60
    _raises(AttributeError, getattr, m, "NoSuchPeripheral")


def _busy_ms(ms):
    # a loop that never yields: a soft timer callback still runs between its bytecodes
    import time

    t = time.ticks_ms()
    spins = 0
    while time.ticks_diff(time.ticks_ms(), t) < ms:
        spins += 1
    return spins


def test_one_shot_timer_calls_back_once_while_the_app_never_yields():
    m = _machine()
    fired = []
    t = m.Timer(0)
    t.init(mode=m.Timer.ONE_SHOT, period=60, callback=lambda tm: fired.append(tm))
    _busy_ms(30)
    assert fired == []
    _busy_ms(300)
    assert fired == [t]


def test_periodic_timer_repeats_until_deinit():
    m = _machine()
    fired = []
    t = m.Timer(1, mode=m.Timer.PERIODIC, period=20, callback=lambda tm: fired.append(1))
    _busy_ms(230)
    t.deinit()
    n = len(fired)
    assert 6 <= n <= 12, n
    _busy_ms(100)
    assert len(fired) == n


def test_timer_rearmed_forgets_its_earlier_period():
    m = _machine()
    fired = []
    t = m.Timer(2)
    t.init(mode=m.Timer.ONE_SHOT, period=40, callback=lambda tm: fired.append("first"))
    t.init(mode=m.Timer.ONE_SHOT, period=150, callback=lambda tm: fired.append("second"))
    _busy_ms(100)
    assert fired == []
    _busy_ms(200)
    assert fired == ["second"]


def test_timer_rejects_what_the_esp32_rejects():
    m = _machine()
    _raises(ValueError, m.Timer, 4)
    _raises(ValueError, m.Timer(0).init, mode=m.Timer.ONE_SHOT, period=0)
