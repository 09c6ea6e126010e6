# The node application: measure on a schedule, keep every reading in the flash outbox, send
# the outbox oldest first over MQTT, and let a reading go only when the gateway acknowledges
# its counter. Hardware (machine, network) is injected so the same code runs on an ESP32 and
# in the emulated board. See docs/firmware.md.
# RAM: about 9 KB once imported (module bytecode and the Node object).
import gc
import os
import sys
import time

import asyncio
import binascii
import clock
import hashlib
import counter
import outbox
import proto
import slots
import store
import version
from micropython import const

_PREFIX = "territoire/v1/node/"
_MAX_INFLIGHT = const(8)
# readings of this boot the gateway acknowledged: the trial is healthy. A battery node measures
# once per boot (then deep sleeps, and the next wake is a new boot): one is all it can show
_CONFIRM_AFTER = const(2)
_CONFIRM_AFTER_BATTERY = const(1)
_FETCH_TRIES = const(6)
_FETCH_WAIT_MS = const(3000)
_UPDATE_BOOT_S = const(120)  # an update boot gives up after this and measures again
_UPDATE_TRIES = const(3)  # update boots for one offer before it is dropped
_PENDING = "ota.pend"  # the offer an update boot handles: "ver mh ml tries"
# the last release refused: "mh ver why fp", answered without a download while the release
# keys and hardware it was judged with (fp: trust()) are still those of node.json
_REFUSED = "ota.ref"


def load_config(path="node.json"):
    """node.json checked against the contract (nodecfg.py), every default filled in. The
    checker is needed once per boot: it leaves the heap once the configuration is loaded."""
    import nodecfg

    try:
        return nodecfg.load(path)
    finally:
        del sys.modules["nodecfg"]


def trust(cfg):
    """What a refusal depends on besides the release: the hardware and the release keys of
    node.json (order aside), as 16 hex digits. A re-flash with other keys or another hw
    changes it, and the refusals remembered under the old one are forgotten."""
    h = hashlib.sha256(cfg["hw"])
    for n in sorted(k["n"] + " %d" % k["e"] for k in cfg["release_keys"]):
        h.update(" ")
        h.update(n)
    return binascii.hexlify(h.digest()[:8]).decode()


def remembered_refusal(mh, fp):
    """(version, reason) of the release mh if it was refused under this trust, else None; a
    record made under another trust (or by a firmware without one) is removed."""
    ref = (store.read_file(_REFUSED) or b"").split()
    if len(ref) == 4 and ref[3].decode() == fp:
        return (ref[1].decode(), ref[2].decode()) if ref[0].decode() == mh else None
    if ref:
        _remove(_REFUSED)
    return None


def remember_refusal(mh, ver, why, fp):
    store.write_atomic(_REFUSED, ("%s %s %s %s" % (mh, ver, why, fp)).encode())


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass  # none: nothing to remove


_peak = 0


def _live():
    """Live heap after a full collection; the largest seen is reported as the heap peak.
    (micropython.mem_peak() is no use here: it never subtracts what the GC frees.)"""
    global _peak
    gc.collect()
    used = gc.mem_alloc()
    if used > _peak:
        _peak = used
    return used


def _mem_peak():
    return _peak


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
        self.first_c = self.counter.peek()  # counters from here on were measured in this boot
        st = slots.load()
        self.slot = slots.current(st)
        self.trial = bool(st["tr"])  # the loader rolled back already if the trial was used up
        self.acked_boot = 0
        self.ota = None
        self.ota_task = None
        self.refused = {}  # manifest digest -> (version, reason), for repeated offers
        self.want = None  # (object, offset) of the chunk awaited
        self.chunk = None
        self.chunk_ev = asyncio.Event()
        self.reported = False
        # an update runs in a boot of its own, on a heap that sensors and hours of readings
        # have not fragmented (the RSA exponentiation and the manifest want KB-sized blocks)
        self.pending = None
        if self.trial:
            _drop_pending()  # a power cut right after the switch: the trial comes first
        else:
            self.pending = _take_pending()
        self.outbox = outbox.Outbox(max_segments=cfg["outbox_segments"])
        rtc = machine.RTC() if hasattr(machine, "RTC") else None
        self.clock = clock.Clock(rtc)
        if self.pending is not None:
            drivers = []  # an update boot measures nothing
        if drivers is None:
            from sensors.build import build

            drivers = build(cfg["sensors"], machine)
        self.sensors = drivers
        self.interval = cfg["interval_s"]
        self.ack_timeout_ms = int(cfg["ack_timeout_s"] * 1000)
        self.sent = {}  # counter -> ticks_ms of the last send, until acknowledged
        self.session = None
        self.wake = asyncio.Event()
        self.beat = time.ticks_ms()
        self.debug = cfg["debug"]
        self.stats = {"measured": 0, "sent": 0, "acked": 0, "refused": 0, "resent": 0,
                      "sensor_errors": 0}
        t = _PREFIX + self.id + "/"
        self.t_reading = t + "reading"
        self.t_state = t + "state"
        self.t_ack = t + "ack"
        self.t_cmd = t + "cmd"
        self.t_ota = t + "ota"

    # ---------------------------------------------------------------- measuring

    async def measure_once(self):
        values = {}
        for s in self.sensors:
            try:
                await s.read(values)
            except (OSError, ValueError) as e:
                self.stats["sensor_errors"] += 1
                print("sensor error:", type(s).__name__, e)
        bat = values.pop("bat_v", None)
        pairs = [(k, values[k]) for k in proto.KEYS if k in values]
        if not pairs:
            return None
        c = self.counter.next()
        self.outbox.append(c, self.boot, self.clock.uptime(), self.clock.now(), bat, pairs)
        self.stats["measured"] += 1
        self.wake.set()
        return c

    async def measure_loop(self):
        while True:
            start = time.ticks_ms()
            await self.measure_once()
            self.beat = time.ticks_ms()
            _live()
            left = int(self.interval * 1000) - time.ticks_diff(time.ticks_ms(), start)
            await asyncio.sleep_ms(max(0, left))

    # ---------------------------------------------------------------- sending

    def _encode(self, rec):
        boot, c, t, up, bat, values = rec
        if boot == self.boot & 0xFFFF:
            t = self.clock.stamp(t, up)
        return self.enc.reading(c, t, version.VERSION, values, bat)

    async def send_pending(self):
        """Send what the outbox holds, oldest first, at most _MAX_INFLIGHT unacknowledged."""
        now = time.ticks_ms()
        fresh = set()
        for c, at in self.sent.items():
            if time.ticks_diff(now, at) < self.ack_timeout_ms:
                fresh.add(c)
        room = _MAX_INFLIGHT - len(fresh)
        if room <= 0:
            return 0
        recs = self.outbox.pending(room, skip=fresh)
        if not recs:
            return 0
        oldest = self.outbox.pending(1)[0][1]
        n = 0
        synced = self.clock.synced()
        cur = self.boot & 0xFFFF
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
            await self.session.publish(self.t_reading, msg, 1, False)
            if c in self.sent:
                self.stats["resent"] += 1
            self.sent[c] = time.ticks_ms()
            self.stats["sent"] += 1
            n += 1
        _live()  # while the records and the last message are still alive
        return n

    async def send_loop(self):
        while True:
            await self.session.connected.wait()
            try:
                await self.send_pending()
            except OSError as e:
                if self.debug:
                    print("send failed:", e)
            try:
                await asyncio.wait_for_ms(self.wake.wait(), 1000)
            except asyncio.TimeoutError:
                pass  # no news within a second: look at the outbox and the timers anyway
            self.wake.clear()

    def on_message(self, topic, msg):
        if topic == self.t_ack.encode():
            self.on_ack(msg)
        elif topic == self.t_cmd.encode():
            self.on_cmd(msg)

    def on_ack(self, msg):
        res = proto.decode_ack(msg, self.id, self.signer)
        if res is None:
            print("ack refused: not authentic")
            return
        t, ok, no = res
        if t:
            self.clock.sync(t)
        for c in ok:
            self._release(c)
        for item in no:
            if self._release(item[0]):
                self.stats["refused"] += 1
                print("reading refused by gateway:", item[0], item[1])
        self.wake.set()

    def _release(self, c):
        if c not in self.sent:
            return False
        del self.sent[c]
        self.outbox.ack(c)
        self.stats["acked"] += 1
        if c >= self.first_c:
            self.acked_boot += 1
            need = _CONFIRM_AFTER_BATTERY if self.cfg["battery"] else _CONFIRM_AFTER
            if self.trial and self.acked_boot >= need:
                self.confirm()
        return True

    # ---------------------------------------------------------------- over-the-air update

    def confirm(self):
        """The gateway accepted readings of this boot: the trial slot becomes the running one."""
        self.trial = False
        slots.confirm(slots.load())
        print("ota: confirmed slot", self.slot, "version", version.VERSION)
        self.reported = False
        asyncio.create_task(self.report_event())

    async def report_event(self):
        """Tell the gateway the outcome of the last update (once per boot, and after confirm);
        the gateway forwards changes only, so repeating it is harmless."""
        st = slots.load()
        if self.reported or not st["ev"]:
            return
        why = "trial_failed" if st["ev"] == "rolled_back" else ""
        try:
            await self.report(st["ev_v"] or version.VERSION, st["ev"], why)
            self.reported = True
            await self.session.publish(self.t_state, self.state_msg("online"), 1, True)
        except OSError:
            pass  # reported again at the next connection

    async def report(self, ver, st, why=""):
        # a copy: the encoder's buffer is shared, and the send loop may encode a reading into
        # it while this message is still being written to the socket
        msg = bytes(self.enc.ota_progress(self.clock.now(), ver, st, why))
        await self.session.publish(self.t_ota, msg, 1, False)

    def on_cmd(self, msg):
        obj = proto.decode_cmd(msg, self.id, self.signer)
        if obj is None:
            print("cmd refused: not authentic")
            return
        if obj["y"] == "d":
            self.on_chunk(obj)
        elif self.ota_task is None and not self.trial and self.pending is None:
            try:
                ver, mh, ml = str(obj["ver"]), str(obj["mh"]), int(obj["ml"])
            except (KeyError, ValueError, TypeError):
                return
            if len(mh) == 64 and " " not in ver:
                self.ota_task = asyncio.create_task(self.on_offer(ver, mh, ml))

    async def on_offer(self, ver, mh, ml):
        """Answer what is known without loading the updater; else start an update boot."""
        try:
            st = slots.load()
            if st["ev"] == "rolled_back" and st["ev_mh"] == mh:
                await self.report(st["ev_v"] or ver, "rolled_back", "trial_failed")
            elif st["ev_mh"] == mh and ver == version.VERSION:
                await self.report(ver, "confirmed", "")
            else:
                ref = remembered_refusal(mh, trust(self.cfg))
                if ref is not None:
                    await self.report(ref[0], "refused", ref[1])
                elif self.clock.synced():
                    store.write_atomic(_PENDING, ("%s %s %d 0" % (ver, mh, ml)).encode())
                    print("ota: offer of", ver, "- update boot")
                    self.machine.reset()
        except OSError:
            pass  # link lost: the gateway offers again
        finally:
            self.ota_task = None

    def on_chunk(self, obj):
        want = self.want
        if want is None or obj.get("h") != want[0] or obj.get("o") != want[1]:
            return  # late or duplicate answer to an earlier request
        try:
            data = binascii.a2b_base64(obj["b"])
        except (KeyError, ValueError, TypeError):
            data = None
        if data is None or proto.b64url(hashlib.sha256(data).digest()).decode() != obj.get("ch"):
            if self.ota is not None:
                self.ota.stats["bad_chunks"] += 1  # asked again by fetch()
            return
        self.chunk = data
        self.chunk_ev.set()

    async def fetch(self, h, o, n):
        """Bytes [o, o + n) of object h from the gateway, or None after _FETCH_TRIES tries."""
        for _ in range(_FETCH_TRIES):
            gc.collect()  # each chunk leaves ~2 KB of garbage: keep large blocks available
            self.want = (h, o)
            self.chunk = None
            self.chunk_ev.clear()
            try:
                msg = bytes(self.enc.ota_request(self.clock.now(), h, o, n))  # see report()
                await self.session.publish(self.t_ota, msg, 0, False)
                await asyncio.wait_for_ms(self.chunk_ev.wait(), _FETCH_WAIT_MS)
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep_ms(500)
                continue
            data = self.chunk
            if data is not None and len(data) == n:
                self.want = None
                return data
        self.want = None
        return None

    async def run_offer(self, ver, mh, ml):
        gc.collect()
        got = None
        try:
            import ota

            self.ota = ota.Updater(self.cfg, self.fetch, self.report, self.reset_into_trial,
                                   self.clock.now, version.VERSION, _live, self.refused)
            got = await self.ota.offer(ver, mh, ml)
            if got == "refused":
                v, why = self.refused[mh]
                remember_refusal(mh, v, why, trust(self.cfg))
            _live()
            print("ota heap_peak=%d fetched=%d copied=%d bad_chunks=%d" % (
                _mem_peak(), self.ota.stats["fetched"], self.ota.stats["copied"],
                self.ota.stats["bad_chunks"]))
        except (OSError, MemoryError) as e:
            # flash full, link lost, heap too fragmented now: the next offer resumes
            print("ota: stopped:")
            sys.print_exception(e)
        finally:
            self.ota = None
            gc.collect()
        return got

    async def run_update(self, pending):
        """An update boot: connect, handle the pending offer, then boot normally again (unless
        the updater reset into the trial). Bounded in time; the offer comes again if it failed."""
        ver, mh, ml = pending
        start = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), start) < _UPDATE_BOOT_S * 1000:
            self.beat = time.ticks_ms()  # alive: the watchdog is fed
            if self.session.connected.is_set() and self.clock.synced():
                got = await self.run_offer(ver, mh, ml)
                if got is not None:
                    break
            await asyncio.sleep_ms(500)
        _drop_pending()
        print("ota: update boot over")
        self.machine.reset()

    def reset_into_trial(self):
        _live()
        print("ota heap_peak=%d fetched=%d copied=%d" % (
            _mem_peak(), self.ota.stats["fetched"], self.ota.stats["copied"]))
        _drop_pending()  # the trial is set: the next boot runs it
        self.machine.reset()

    # ---------------------------------------------------------------- session

    def state_msg(self, status):
        extra = ()
        if status == "online":
            extra = (
                ("fw", version.VERSION),
                ("hw", self.cfg["hw"]),
                ("slot", self.slot),
                ("up", self.clock.uptime()),
                ("heap", gc.mem_free()),
                ("peak", _mem_peak()),
                ("buf", len(self.outbox)),
                ("ev", self.outbox.evicted),
                ("rc", self.reset_cause()),
            )
        return bytes(self.enc.state(self.clock.now(), status, self.boot, extra))

    def reset_cause(self):
        try:
            return self.machine.reset_cause()
        except AttributeError:
            return 0

    def make_client(self):
        import mqtt

        m = self.cfg["mqtt"]
        will = (self.t_state.encode(), self.state_msg("offline"), True, 1)
        return mqtt.MQTTClient(
            self.id, m["host"], m["port"], user=m["user"], password=m["password"],
            keepalive=m["keepalive"], will=will,
            bufs=self.mqtt_bufs)

    async def on_connect(self, client):
        await client.subscribe(self.t_ack, 1)
        await client.subscribe(self.t_cmd, 1)
        await client.publish(self.t_state, self.state_msg("online"), 1, True)
        # a reconnect means in-flight readings may be lost at the broker: send them again now
        self.sent.clear()
        self.wake.set()
        asyncio.create_task(self.report_event())

    def _wlan(self):
        if self.network is None:
            return None
        w = self.network.WLAN(self.network.STA_IF)
        w.active(True)
        wifi = self.cfg["wifi"]
        if wifi and not w.isconnected():
            w.connect(wifi["ssid"], wifi["key"])
        return w

    async def status_loop(self):
        every = self.cfg["status_s"]
        while True:
            await asyncio.sleep(every)
            gc.collect()
            self.print_status()
            if self.session.connected.is_set():
                try:
                    await self.session.publish(self.t_state, self.state_msg("online"), 1, True)
                except OSError:
                    pass  # link lost: the state is published again on reconnect

    def print_status(self):
        st = self.stats
        _live()
        link = self.session.stats["link_failures"] if self.session else 0
        print("status heap_peak=%d heap_free=%d measured=%d buf=%d sent=%d acked=%d refused=%d"
              " resent=%d ev=%d synced=%d link_failures=%d" % (
                  _mem_peak(), gc.mem_free(), st["measured"], len(self.outbox), st["sent"],
                  st["acked"], st["refused"], st["resent"], self.outbox.evicted,
                  self.clock.synced(), link))

    async def watchdog_loop(self):
        # a trial boot runs under the watchdog the loader armed (60 s unless wdt_s says less)
        wdt_s = self.cfg["wdt_s"] or (60 if self.trial else 0)
        if not wdt_s or not hasattr(self.machine, "WDT"):
            return
        wdt = self.machine.WDT(timeout=wdt_s * 1000)
        stale_ms = (self.interval + wdt_s) * 1000
        while True:
            # feed only while the measuring loop is alive: a hung loop resets the node. (A trial
            # not confirmed within trial_s is reset by the loader's timer, not by this code.)
            if time.ticks_diff(time.ticks_ms(), self.beat) < stale_ms:
                wdt.feed()
            await asyncio.sleep_ms(wdt_s * 250)

    async def run(self):
        import mqttsession

        self.session = mqttsession.MQTTSession(
            self.make_client, self._wlan(), on_connect=self.on_connect,
            on_message=self.on_message)
        print("node", self.id, "boot", self.boot, "fw", version.VERSION, "slot", self.slot,
              "trial" if self.trial else "")
        # a background task that dies would leave the node measuring (so fed by the watchdog)
        # but silent: log it and reset, as main() does when the measuring loop dies
        asyncio.get_event_loop().set_exception_handler(self._task_died)
        asyncio.create_task(self.watchdog_loop())
        asyncio.create_task(self.session.run())
        asyncio.create_task(self.send_loop())
        asyncio.create_task(self.status_loop())
        if self.pending is not None:
            await self.run_update(self.pending)
        elif self.cfg["battery"]:
            await self.run_battery()
        else:
            await self.measure_loop()

    def _task_died(self, loop, context):
        print("task died:", context["message"])
        sys.print_exception(context["exception"])
        self.machine.reset()

    async def run_battery(self):
        """Battery node: measure, send for a bounded time, then deep sleep until the next one."""
        await self.measure_once()
        budget = self.cfg["awake_s"] * 1000
        start = time.ticks_ms()
        while len(self.outbox) and time.ticks_diff(time.ticks_ms(), start) < budget:
            await asyncio.sleep_ms(100)
        # acknowledgements live in RAM: let fully acknowledged segments go now, or the next
        # wake (a new boot) would send every earlier reading of the tail segment again
        self.outbox.drop_acknowledged()
        print("deepsleep heap_peak=%d buf=%d" % (_mem_peak(), len(self.outbox)))
        self.machine.deepsleep(int(self.interval * 1000))


def _take_pending():
    """(ver, mh, ml) of the offer this boot is for, counting the boot; None if there is none
    or it already had its _UPDATE_TRIES boots (then it is dropped: the gateway offers again)."""
    raw = store.read_file(_PENDING)
    if raw is None:
        return None
    try:
        ver, mh, ml, tries = raw.decode().split()
        if int(tries) < _UPDATE_TRIES:
            store.write_atomic(_PENDING, ("%s %s %s %d" % (ver, mh, ml, int(tries) + 1)).encode())
            return ver, mh, int(ml)
    except ValueError:
        pass  # torn or corrupted: dropped below
    _drop_pending()
    return None


def _drop_pending():
    _remove(_PENDING)


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
