# Heap the emulation itself takes for a board description: the board modules plus every
# simulated device it wires, instantiated through the machine API. None of it is on a real
# ESP32's heap (machine & co. are in ROM, the devices are other chips), so the host may add
# it to the VM's heap (EmulatedNode(compensate_heap=True)). Prints "BOARD_HEAP <bytes>".
import gc

gc.collect()
_a = gc.mem_alloc()
import _board  # noqa: E402
import esp32  # noqa: E402
import machine  # noqa: E402
import network  # noqa: E402

c = _board.cfg()
# (the Timer class: the loader arms one at every trial boot)
keep = [network.WLAN(0), esp32.NVS("probe"), machine.WDT, machine.RTC(), machine.freq,
        machine.Timer]
for k, b in c.get("i2c", {}).items():
    keep.append(machine.I2C(int(k), scl=b.get("scl"), sda=b.get("sda")))
for k in c.get("uart", {}):
    keep.append(machine.UART(int(k)))
for k in c.get("adc", {}):
    keep.append(machine.ADC(int(k)))
for k in c.get("i2s", {}):
    i2s = machine.I2S(int(k), sck=14, ws=15, sd=32, mode=1, bits=32, format=0, rate=16000, ibuf=64)
    i2s.readinto(bytearray(64))
    keep.append(i2s)
if c.get("ble"):
    import bluetooth

    ble = bluetooth.BLE()
    ble.active(True)
    ble.gap_scan(1)
    keep.append(ble)
if c.get("ultrasonic"):
    _board.trig = True
    machine.time_pulse_us(machine.Pin(c["ultrasonic"]["echo"]), 1, 1)
gc.collect()
print("BOARD_HEAP", gc.mem_alloc() - _a)
