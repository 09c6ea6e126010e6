# The node's account of itself: the live heap and its peak, the state message and the status
# line, the watchdog, and what happens when a background task dies. Functions of the node
# (node.py) they report on; no state of their own but the heap peak.
import gc
import sys
import time

import asyncio
import version

_peak = 0


def live():
    """Live heap after a full collection; the largest seen is reported as the heap peak.
    (micropython.mem_peak() is no use here: it never subtracts what the GC frees.)"""
    global _peak
    gc.collect()
    used = gc.mem_alloc()
    if used > _peak:
        _peak = used
    return used


def peak():
    return _peak


def state_msg(node, status):
    extra = ()
    if status == "online":
        extra = (
            ("fw", version.VERSION),
            ("hw", node.cfg["hw"]),
            ("slot", node.slot),
            ("up", node.clock.uptime()),
            ("heap", gc.mem_free()),
            ("peak", _peak),
            ("buf", len(node.outbox)),
            ("ev", node.outbox.evicted),
            ("rc", _reset_cause(node.machine)),
        )
    return bytes(node.enc.state(node.clock.now(), status, node.boot, extra))


def _reset_cause(machine):
    try:
        return machine.reset_cause()
    except AttributeError:
        return 0


async def publish_state(node):
    # not retained: the gateway's broker refuses retained messages (docs/protocol.md)
    await node.session.publish(node.t_state, state_msg(node, "online"), 1)


async def status_loop(node):
    every = node.cfg["status_s"]
    while True:
        await asyncio.sleep(every)
        gc.collect()
        print_status(node)
        if node.session.connected.is_set():
            try:
                await publish_state(node)
            except OSError:
                pass  # link lost: the state is published again on reconnect


def print_status(node):
    st = node.stats
    live()
    link = node.session.stats["link_failures"] if node.session else 0
    print("status heap_peak=%d heap_free=%d measured=%d buf=%d sent=%d acked=%d refused=%d"
          " resent=%d ev=%d synced=%d link_failures=%d" % (
              _peak, gc.mem_free(), st["measured"], len(node.outbox), st["sent"],
              st["acked"], st["refused"], st["resent"], node.outbox.evicted,
              node.clock.synced(), link))


async def watchdog_loop(node):
    # a trial boot runs under the watchdog the loader armed (60 s unless wdt_s says less)
    wdt_s = node.cfg["wdt_s"] or (60 if node.trial else 0)
    if not wdt_s or not hasattr(node.machine, "WDT"):
        return
    wdt = node.machine.WDT(timeout=wdt_s * 1000)
    stale_ms = (node.interval + wdt_s) * 1000
    while True:
        # feed only while the measuring loop is alive: a hung loop resets the node. (A trial
        # not confirmed within trial_s is reset by the loader's timer, not by this code.)
        if time.ticks_diff(time.ticks_ms(), node.beat) < stale_ms:
            wdt.feed()
        await asyncio.sleep_ms(wdt_s * 250)


def on_task_death(machine):
    """asyncio's exception handler: a background task that dies would leave the node
    measuring (so fed by the watchdog) but silent: log it and reset, as main() does when the
    measuring loop dies."""

    def died(loop, context):
        print("task died:", context["message"])
        sys.print_exception(context["exception"])
        machine.reset()

    return died
