# The simulated street behind the emulated board: plausible, deterministic signals and
# devices that behave like the parts at the register / frame level.
import simdev
import sim_env

_D = 86400
_CFG = {"seed": 7, "zone": "centre-ville"}


def _at(day, hour):
    return _D * day + hour * 3600.0


def test_temperature_is_coldest_at_dawn_warmest_mid_afternoon():
    for day in range(500, 510):
        temps = [sim_env.temp_c(_CFG, _at(day, h)) for h in range(24)]
        lo = temps.index(min(temps))
        hi = temps.index(max(temps))
        if not (4 <= lo <= 8 and 13 <= hi <= 17):
            raise AssertionError("day %d: min at %d h, max at %d h" % (day, lo, hi))
        if not -15 < min(temps) < max(temps) < 40:
            raise AssertionError(temps)


def test_humidity_anticorrelated_and_pressure_slow():
    for day in range(500, 505):
        t6, t15 = sim_env.temp_c(_CFG, _at(day, 6)), sim_env.temp_c(_CFG, _at(day, 15))
        h6, h15 = sim_env.rh_pct(_CFG, _at(day, 6)), sim_env.rh_pct(_CFG, _at(day, 15))
        if not (t15 > t6 and h15 < h6):
            raise AssertionError((day, t6, t15, h6, h15))
    for h in range(0, 72, 1):
        a, b = sim_env.p_hpa(_CFG, _at(500, h)), sim_env.p_hpa(_CFG, _at(500, h + 1))
        if abs(a - b) > 2.5 or not 960 < a < 1060:
            raise AssertionError((h, a, b))


def test_particulates_peak_with_traffic_and_have_episodes():
    rush = night = 0.0
    peak = 0.0
    for day in range(300, 340):
        rush += sim_env.pm25(_CFG, _at(day, 8.3))
        night += sim_env.pm25(_CFG, _at(day, 3))
        for h in range(0, 24, 3):
            peak = max(peak, sim_env.pm25(_CFG, _at(day, h)))
        if sim_env.pm10(_CFG, _at(day, 8)) <= sim_env.pm25(_CFG, _at(day, 8)):
            raise AssertionError("PM10 below PM2.5")
    if not rush > night * 1.4:
        raise AssertionError((rush, night))
    if peak < 40:
        raise AssertionError("no pollution episode in 40 days (max %.1f)" % peak)


def test_traffic_noise_louder_by_day_with_pass_bys():
    stats = []
    for hour in (14, 3):
        lo, hi, total = 200.0, 0.0, 0.0
        for s in range(0, 600, 2):
            v = sim_env.noise_dba(_CFG, _at(600, hour) + s)
            lo, hi, total = min(lo, v), max(hi, v), total + v
        stats.append((lo, hi, total / 300))
    (day_lo, day_hi, day_mean), (_, _, night_mean) = stats
    if not day_mean > night_mean + 15:
        raise AssertionError(stats)
    if not day_hi > day_lo + 8:
        raise AssertionError("no pass-by events by day: %r" % stats)


def test_pedestrians_peak_at_rush_hours():
    r = [sim_env.people_per_min(_CFG, _at(600, h)) for h in (3, 8.3, 11, 17.8)]
    if not (r[1] > 3 * r[2] / 2 and r[3] > r[2] and r[0] < 1):
        raise AssertionError(r)


def test_bin_fills_over_days_then_is_emptied():
    fills = [sim_env.fill_pct(_CFG, _at(700, 0) + h * 3600) for h in range(0, 24 * 12, 6)]
    drops = sum(1 for i in range(len(fills) - 1) if fills[i + 1] < fills[i] - 40)
    if drops < 2:
        raise AssertionError(fills)


def test_soil_dries_between_waterings_and_battery_discharges():
    soil = [sim_env.soil_pct(_CFG, _at(800, 0) + h * 3600) for h in range(0, 24 * 10)]
    wet = sum(1 for i in range(len(soil) - 1) if soil[i + 1] > soil[i] + 10)
    dry = sum(1 for i in range(len(soil) - 1) if soil[i + 1] < soil[i])
    if wet < 1 or dry < len(soil) // 2:
        raise AssertionError((wet, dry))
    v = [sim_env.bat_v(_CFG, _at(900, 0) + d * _D) for d in range(30)]
    if not (2.9 < min(v) and max(v) < 4.2 and sum(1 for i in range(29) if v[i + 1] < v[i]) >= 28):
        raise AssertionError(v)


def test_signals_are_deterministic_per_seed_and_differ_between_seeds():
    t = _at(1234, 10.5)
    other = {"seed": 8, "zone": "centre-ville"}
    a = [f(_CFG, t) for f in (sim_env.temp_c, sim_env.pm25, sim_env.noise_dba, sim_env.soil_pct)]
    b = [
        f(dict(_CFG), t)
        for f in (sim_env.temp_c, sim_env.pm25, sim_env.noise_dba, sim_env.soil_pct)
    ]
    c = [f(other, t) for f in (sim_env.temp_c, sim_env.pm25, sim_env.noise_dba, sim_env.soil_pct)]
    if a != b or a == c:
        raise AssertionError((a, b, c))


def test_bme280_registers_behave_like_the_part():
    dev = simdev.i2c_device("bme280", dict(_CFG, clock=lambda: _at(100, 12)))
    b = bytearray(1)
    dev.readfrom_mem_into(0xD0, b)
    if b[0] != 0x60:
        raise AssertionError("chip id %x" % b[0])
    d = bytearray(8)
    dev.readfrom_mem_into(0xF7, d)
    if d != bytearray(b"\x80\x00\x00\x80\x00\x00\x80\x00"):
        raise AssertionError("data registers before any conversion: %r" % d)
    dev.writeto_mem(0xF4, b"\x25")  # forced, but ctrl_hum never written: humidity skipped
    dev.readfrom_mem_into(0xF3, b)
    if not b[0] & 0x08:
        raise AssertionError("status does not show the conversion")
    dev.readfrom_mem_into(0xF3, b)
    dev.readfrom_mem_into(0xF4, d)
    if b[0] & 0x08 or d[0] & 3:
        raise AssertionError("forced mode did not return to sleep")
    dev.readfrom_mem_into(0xF7, d)
    if d[6:8] != b"\x80\x00" or d[3:6] == b"\x80\x00\x00":
        raise AssertionError("ctrl_hum must be latched by a ctrl_meas write: %r" % d)
    dev.writeto_mem(0xE0, b"\xb6")
    dev.readfrom_mem_into(0xF7, d)
    if d != bytearray(b"\x80\x00\x00\x80\x00\x00\x80\x00"):
        raise AssertionError("soft reset did not restore the data registers")


def test_pms5003_streams_checksummed_frames_and_obeys_commands():
    dev = simdev.uart_device("pms5003", dict(_CFG, clock=lambda: _at(100, 8)))
    dev._next = 0  # a frame is due now
    f = bytearray(64)
    n = dev.readinto(f)
    if n != 32 or f[:4] != b"\x42\x4d\x00\x1c" or sum(f[:30]) != f[30] << 8 | f[31]:
        raise AssertionError(bytes(f[:n]))
    dev.write(b"\x42\x4d\xe1\x00\x00\x01\x70")  # passive mode
    n = dev.readinto(f)
    if dev.active or n != 8 or f[:6] != b"\x42\x4d\x00\x04\xe1\x00":
        raise AssertionError(bytes(f[:n]))
    dev.write(b"\x42\x4d\xe2\x00\x00\x01\x72")  # bad checksum: ignored
    if dev.any():
        raise AssertionError("answered a corrupted command")
    dev.write(b"\x42\x4d\xe2\x00\x00\x01\x71")
    if dev.any() != 32:
        raise AssertionError("no answer to a passive read")


def test_unknown_device_kind_is_valueerror():
    for f, kind in ((simdev.i2c_device, "sht31"), (simdev.uart_device, "gps"),
                    (simdev.adc_device, "ldr"), (simdev.i2s_device, "speaker"),
                    (simdev.ble_source, "bikes")):  # fmt: skip
        try:
            f(kind, _CFG)
        except ValueError as e:
            if kind not in str(e):
                raise AssertionError(str(e))
        else:
            raise AssertionError(kind)
