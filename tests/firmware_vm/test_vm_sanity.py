# Proves the runner itself works inside the VM with the ESP32-sized heap.
import sys


def test_runs_in_micropython():
    if sys.implementation.name != "micropython":
        raise AssertionError("not running in MicroPython")
