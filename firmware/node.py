# The node application, put together: the configuration, the node's identity (signer, message
# encoder), its flash state (boot count, counter, outbox, slot) and clock, shared by the parts
# that do the work: meter.py (measuring), uplink.py (MQTT session, sending, acks),
# otaclient.py (offers, update boot, trial), health.py (heap, state, status, watchdog).
# Hardware (machine, network) is injected so the same code runs on an ESP32 and in the
# emulated board. See docs/firmware.md.
import sys
import time

import asyncio
import binascii
import clock
import counter
import health
import outbox
import proto
import slots
import version
from otaclient import OtaClient
from uplink import Uplink


def load_config(path="node.json"):
    """node.json checked against the contract (nodecfg.py), every default filled in. The
    checker is needed once per boot: it leaves the heap once the configuration is loaded."""
    import nodecfg

    try:
        return nodecfg.load(path)
    finally:
        del sys.modules["nodecfg"]


class Node:
    def __init__(self, cfg, machine, network=None, drivers=None):
        # the MQTT client's two 2 KB buffers, first, while the heap is in one piece: every
        # client of this boot reuses them (a noise node's sampling fragments its heap)
        self.mqtt_bufs = (bytearray(2048), bytearray(2048))
        self.cfg = cfg
        self.machine = machine
        self.network = network
        self.id = cfg["id"]
        self.signer = proto.Signer(binascii.unhexlify(cfg["secret"]))
        self.enc = proto.Encoder(self.id, cfg["kid"], self.signer)
        self.boot = counter.bump_boot()
        self.counter = counter.Counter()
        st = slots.load()
        self.slot = slots.current(st)
        self.t_prefix = t = "territoire/v1/node/" + self.id + "/"
        self.t_state = t + "state"
        self.outbox = outbox.Outbox(max_segments=cfg["outbox_segments"])
        self.clock = clock.Clock(machine.RTC() if hasattr(machine, "RTC") else None)
        self.session = None
        self.ota = ota = OtaClient(cfg, self.enc, self.clock, machine, t + "ota", self.slot,
                                   bool(st["tr"]), self.publish_state)
        self.trial = ota.trial  # as this boot started (the watchdog's bound)
        if ota.pending is not None:
            drivers = []  # an update boot measures nothing
        if drivers is None:
            from sensors.build import build

            drivers = build(cfg["sensors"], machine)
        self.sensors = drivers
        self.interval = cfg["interval_s"]
        self.wake = asyncio.Event()  # set when there is something to send or acknowledged
        self.beat = time.ticks_ms()  # the measuring loop's last sign of life
        self.stats = {"measured": 0, "sent": 0, "acked": 0, "refused": 0, "resent": 0,
                      "sensor_errors": 0}
        self.uplink = Uplink(self, ota)

    def alive(self):
        self.beat = time.ticks_ms()

    def publish_state(self):
        return health.publish_state(self)

    async def run(self):
        self.session = self.ota.session = self.uplink.open(self.network)
        print("node", self.id, "boot", self.boot, "fw", version.VERSION, "slot", self.slot,
              "trial" if self.trial else "")
        asyncio.get_event_loop().set_exception_handler(health.on_task_death(self.machine))
        asyncio.create_task(health.watchdog_loop(self))
        asyncio.create_task(self.session.run())
        asyncio.create_task(self.uplink.send_loop())
        asyncio.create_task(health.status_loop(self))
        if self.ota.pending is not None:
            await self.ota.run_update(self.ota.pending, self.alive)
            return
        import meter  # not in an update boot, which measures nothing

        if self.cfg["battery"]:
            await meter.run_battery(self)
        else:
            await meter.measure_loop(self)


def main():
    import machine

    try:
        import network
    except ImportError:
        network = None
    try:
        cfg = load_config()
    except (OSError, ValueError) as e:
        print("node not provisioned:", e)
        return
    node = Node(cfg, machine, network)
    try:
        asyncio.run(node.run())
    except Exception as e:  # last resort: log, then restart the board rather than hang
        sys.print_exception(e)
        time.sleep(1)
        machine.reset()
