# Measuring: every configured sensor into one reading, which gets the next counter and goes
# into the flash outbox before anything is sent; the schedule of a mains node (every
# interval_s) and the wake of a battery node (measure, send for awake_s, deep sleep).
# Functions of the node (node.py): no state of their own.
import time

import asyncio
import proto
from health import live, peak


async def measure_once(node):
    values = {}
    stats = node.stats
    for s in node.sensors:
        try:
            await s.read(values)
        except (OSError, ValueError) as e:
            stats["sensor_errors"] += 1
            print("sensor error:", type(s).__name__, e)
    bat = values.pop("bat_v", None)
    pairs = [(k, values[k]) for k in proto.KEYS if k in values]
    if not pairs:
        return None
    c = node.counter.next()
    clk = node.clock
    node.outbox.append(c, node.boot, clk.uptime(), clk.now(), bat, pairs)
    stats["measured"] += 1
    node.wake.set()
    return c


async def measure_loop(node):
    while True:
        start = time.ticks_ms()
        await measure_once(node)
        node.beat = time.ticks_ms()
        live()
        left = int(node.interval * 1000) - time.ticks_diff(time.ticks_ms(), start)
        await asyncio.sleep_ms(max(0, left))


async def run_battery(node):
    """Battery node: measure, send for a bounded time, then deep sleep until the next one."""
    await measure_once(node)
    budget = node.cfg["awake_s"] * 1000
    start = time.ticks_ms()
    while len(node.outbox) and time.ticks_diff(time.ticks_ms(), start) < budget:
        await asyncio.sleep_ms(100)
    # an update offer comes just before the acknowledgement: let it reach its update boot
    while node.ota.task is not None and time.ticks_diff(time.ticks_ms(), start) < budget:
        await asyncio.sleep_ms(50)
    # acknowledgements live in RAM: let fully acknowledged segments go now, or the next wake
    # (a new boot) would send every earlier reading of the tail segment again
    node.outbox.drop_acknowledged()
    print("deepsleep heap_peak=%d buf=%d" % (peak(), len(node.outbox)))
    node.machine.deepsleep(int(node.interval * 1000))
