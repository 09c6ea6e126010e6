# VM entry point of an emulated node: what the ESP32 does after the ROM
# bootloader. Mounts the LittleFS flash at /flash, makes it the current
# directory and the front of sys.path, then runs boot.py and main.py from it.
# Run by tools/emulator/node.py as: micropython -X heapsize=100K _boot.py
# Exit codes: machine.reset()/deepsleep()/soft_reset() exit with the codes of
# machine.py; 1 = uncaught exception in main.py, 0 = main.py returned (on the
# board: the REPL, where only the watchdog can restart the node).
# With a serial port (env TERRITOIRE_REPL, VM run with -i) the VM enters its
# REPL instead of exiting, and a boot the host marks "nomain" (a soft reset
# from the raw REPL, as the board does for mpremote) skips main.py.
import os
import sys
import time

import _board
import _flash

_flash.mount(_board.path("flash.img"))
del sys.modules["_flash"]
del _flash
os.chdir("/flash")
sys.path.insert(0, "/flash/lib")
sys.path.insert(0, "/flash")


_repl = os.getenv("TERRITOIRE_REPL")


def _run(name):
    try:
        os.stat(name)
    except OSError:
        return 0
    try:
        execfile(name)  # in __main__'s globals, as pyexec_file does
    except Exception as e:  # the board prints it and carries on
        sys.print_exception(e)
        return 1
    except SystemExit as e:
        if not _repl:
            raise  # the VM exits with machine.py's code: the host acts on it
        # with -i the VM would fall into its REPL, where a deep-sleeping node would sit until
        # its watchdog fired; the board leaves at once: hand the code to the host, which ends
        # this VM and acts on it (as for a reset asked from a timer callback)
        _board.write("exit", str(e.args[0] if e.args else 0).encode(), True)
        while True:
            time.sleep_ms(1000)
    return 0

_rc = _run("boot.py")
if not (_repl and _board.read("nomain")):
    _rc |= _run("main.py")
if _rc and not _repl:
    sys.exit(_rc)
