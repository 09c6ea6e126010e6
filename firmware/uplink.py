# The node's link to the gateway: the MQTT session (Wi-Fi, broker, subscriptions, last
# will), the outbox's readings sent oldest first with at most _MAX_INFLIGHT unacknowledged,
# and the gateway's acknowledgements, which alone let a reading leave the outbox
# (docs/firmware.md, "Measuring and sending"). Commands are checked here and handed over.
import time

import asyncio
import health
import proto
import version
from health import live
from micropython import const

_MAX_INFLIGHT = const(8)


class Uplink:
    def __init__(self, node, ota):
        self.node = node
        # the OTA client (otaclient.py): told of this boot's acknowledged readings (its trial),
        # of each connection (its reports), handed every authentic command (its offers, chunks)
        self.ota = ota
        t = node.t_prefix
        self.t_reading = t + "reading"
        self.t_ack = t + "ack"
        self.t_cmd = t + "cmd"
        self.first_c = node.counter.peek()  # counters from here on were measured in this boot
        self.acked_boot = 0
        self.sent = {}  # counter -> ticks_ms of the last send, until acknowledged
        self.ack_timeout_ms = int(node.cfg["ack_timeout_s"] * 1000)

    def open(self, network):
        """The MQTT session, reconnecting for ever once run."""
        import mqttsession

        w = None
        if network is not None:
            w = network.WLAN(network.STA_IF)
            w.active(True)
            wifi = self.node.cfg["wifi"]
            if wifi and not w.isconnected():
                w.connect(wifi["ssid"], wifi["key"])
        return mqttsession.MQTTSession(self.make_client, w, on_connect=self.on_connect,
                                       on_message=self.on_message)

    def make_client(self):
        import mqtt

        node = self.node
        m = node.cfg["mqtt"]
        # not retained: the broker refuses a retained will at CONNECT (docs/protocol.md)
        will = (node.t_state.encode(), health.state_msg(node, "offline"), False, 1)
        return mqtt.MQTTClient(
            node.id, m["host"], m["port"], user=m["user"], password=m["password"],
            keepalive=m["keepalive"], will=will, bufs=node.mqtt_bufs)

    async def on_connect(self, client):
        node = self.node
        await client.subscribe(self.t_ack, 1)
        await client.subscribe(self.t_cmd, 1)
        await client.publish(node.t_state, health.state_msg(node, "online"), 1)
        # a reconnect means in-flight readings may be lost at the broker: send them again now
        self.sent.clear()
        node.wake.set()
        asyncio.create_task(self.ota.report_event())

    def on_message(self, topic, msg):
        if topic == self.t_ack.encode():
            self.on_ack(msg)
        elif topic == self.t_cmd.encode():
            obj = proto.decode_cmd(msg, self.node.id, self.node.signer)
            if obj is None:
                print("cmd refused: not authentic")
            else:
                self.ota.on_cmd(obj)

    def _encode(self, rec):
        node = self.node
        boot, c, t, up, bat, values = rec
        if boot == node.boot & 0xFFFF:
            t = node.clock.stamp(t, up)
        return node.enc.reading(c, t, version.VERSION, values, bat)

    async def send_pending(self):
        """Send what the outbox holds, oldest first, at most _MAX_INFLIGHT unacknowledged."""
        node = self.node
        now = time.ticks_ms()
        fresh = set()
        for c, at in self.sent.items():
            if time.ticks_diff(now, at) < self.ack_timeout_ms:
                fresh.add(c)
        room = _MAX_INFLIGHT - len(fresh)
        if room <= 0:
            return 0
        recs = node.outbox.pending(room, skip=fresh)
        if not recs:
            return 0
        oldest = node.outbox.pending(1)[0][1]
        n = 0
        synced = node.clock.synced()
        cur = node.boot & 0xFFFF
        stats = node.stats
        for rec in recs:
            c = rec[1]
            # a reading of this boot still unstamped waits for the time (the gateway sends it
            # as soon as the node is online); order is kept, so everything after it waits too
            if not synced and rec[2] == 0 and rec[0] == cur:
                break
            # the gateway's replay window: never run further ahead of the oldest unacknowledged
            if c - oldest >= proto.WINDOW:
                break
            msg = self._encode(rec)
            await node.session.publish(self.t_reading, msg, 1, False)
            if c in self.sent:
                stats["resent"] += 1
            self.sent[c] = time.ticks_ms()
            stats["sent"] += 1
            n += 1
        live()  # while the records and the last message are still alive
        return n

    async def send_loop(self):
        node = self.node
        while True:
            await node.session.connected.wait()
            try:
                await self.send_pending()
            except OSError as e:
                if node.cfg["debug"]:
                    print("send failed:", e)
            try:
                await asyncio.wait_for_ms(node.wake.wait(), 1000)
            except asyncio.TimeoutError:
                pass  # no news within a second: look at the outbox and the timers anyway
            node.wake.clear()

    def on_ack(self, msg):
        node = self.node
        res = proto.decode_ack(msg, node.id, node.signer)
        if res is None:
            print("ack refused: not authentic")
            return
        t, ok, no = res
        if t:
            node.clock.sync(t)
        n = 0
        for c in ok:
            n += self._release(c)
        for item in no:
            if self._release(item[0]):
                n += 1
                node.stats["refused"] += 1
                print("reading refused by gateway:", item[0], item[1])
        if n:
            node.outbox.flush_acks()  # a reboot then sends none of them again
        node.wake.set()

    def _release(self, c):
        if c not in self.sent:
            return False
        del self.sent[c]
        self.node.outbox.ack(c)
        self.node.stats["acked"] += 1
        if c >= self.first_c:
            self.acked_boot += 1
            self.ota.acked(self.acked_boot)
        return True
