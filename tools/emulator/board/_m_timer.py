# Emulated ESP32 machine.Timer (loaded on first use). As on the board the callback is a soft
# interrupt: scheduled (micropython.schedule) and run by the VM between bytecodes, even when the
# application never yields to asyncio. A host thread per armed timer keeps the time (real time:
# like the watchdog, timers are not accelerated by the board's speed).
# RAM: about 5 KB of heap after import (64-bit unix VM; measured, see test_board_ram.py);
# counted as emulation by _probe.py. An armed timer adds a thread (its stack is not heap).
import _thread
import time

import _board as _b
import micropython


def _fire(arg):
    callback, timer = arg
    try:
        callback(timer)
    except SystemExit as e:
        # machine.reset() or deepsleep() from the callback: the board leaves at once, but the
        # VM's scheduler would print the exit and carry on. Hand the exit code to the host,
        # which ends this VM (nothing after the reset runs, as on the board) and acts on it.
        _b.write("exit", str(e.args[0] if e.args else 0).encode(), True)
        while True:
            time.sleep_ms(1000)


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id, **kw):
        if not 0 <= id <= 3:
            raise ValueError("invalid Timer number")
        self._id = id
        self._gen = 0  # each init/deinit starts a new generation: older threads stop
        if kw:
            self.init(**kw)

    def init(self, *, mode=PERIODIC, period=-1, freq=-1, callback=None):
        if freq > 0:
            period = max(1, 1000 // freq)
        if period < 1:
            raise ValueError("period must be >= 1 ms")
        if mode not in (Timer.ONE_SHOT, Timer.PERIODIC):
            raise ValueError("invalid mode")
        self._gen += 1
        _thread.start_new_thread(self._run, (self._gen, mode, period, callback))

    def deinit(self):
        self._gen += 1

    def _run(self, gen, mode, period, callback):
        due = time.ticks_add(time.ticks_ms(), period)
        while gen == self._gen:
            left = time.ticks_diff(due, time.ticks_ms())
            if left > 0:
                # short sleeps: a GC in the main thread signals this one and ends a sleep early
                time.sleep_ms(min(left, 50))
                continue
            if callback is not None:
                micropython.schedule(_fire, (callback, self))
            if mode == Timer.ONE_SHOT:
                return
            due = time.ticks_add(due, period)
