# The OTA client of the application (docs/ota.md): answers the gateway's offers, turns an
# offer into an update boot (ota.pend) and runs that boot (the chunks it asks for, the
# updater in ota.py), confirms a trial once readings of the new code got through, and reports
# every outcome. The updater (ota.py, manifest.py) is imported only in an update boot.
# What it needs of the node is passed in: the configuration (hw, release_keys), the message
# encoder, the clock, machine (reset), the MQTT session (set once it exists), the slot it
# runs from, and a coroutine function that publishes the node's state.
import binascii
import gc
import hashlib
import os
import sys
import time

import asyncio
import proto
import slots
import store
import version
from health import live, peak
from micropython import const

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


def take_pending():
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
    drop_pending()
    return None


def drop_pending():
    _remove(_PENDING)


class OtaClient:
    def __init__(self, cfg, enc, clock, machine, topic, slot, trial, publish_state):
        self.cfg = cfg
        self.enc = enc
        self.clock = clock
        self.machine = machine
        self.topic = topic  # territoire/v1/node/<id>/ota
        self.slot = slot
        self.trial = trial  # the loader rolled back already if the trial was used up
        self.publish_state = publish_state
        self.session = None
        self.updater = None
        self.task = None
        self.refused = {}  # manifest digest -> (version, reason), for repeated offers
        self.want = None  # (object, offset) of the chunk awaited
        self.chunk = None
        self.chunk_ev = asyncio.Event()
        self.reported = False
        # an update runs in a boot of its own, on a heap that sensors and hours of readings
        # have not fragmented (the RSA exponentiation and the manifest want KB-sized blocks)
        self.pending = None
        if trial:
            drop_pending()  # a power cut right after the switch: the trial comes first
        else:
            self.pending = take_pending()

    # ---------------------------------------------------------------- trial and reports

    def acked(self, n):
        """n readings of this boot acknowledged by the gateway: enough confirm a trial."""
        need = _CONFIRM_AFTER_BATTERY if self.cfg["battery"] else _CONFIRM_AFTER
        if self.trial and n >= need:
            self.confirm()

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
            await self.publish_state()
        except OSError:
            pass  # reported again at the next connection

    async def report(self, ver, st, why=""):
        # a copy: the encoder's buffer is shared, and the send loop may encode a reading into
        # it while this message is still being written to the socket
        msg = bytes(self.enc.ota_progress(self.clock.now(), ver, st, why))
        await self.session.publish(self.topic, msg, 1, False)

    # ---------------------------------------------------------------- offers

    def on_cmd(self, obj):
        """An authentic command for this node: a chunk (y = d) or an offer (y = o)."""
        if obj["y"] == "d":
            self.on_chunk(obj)
        elif self.task is None and not self.trial and self.pending is None:
            try:
                ver, mh, ml = str(obj["ver"]), str(obj["mh"]), int(obj["ml"])
            except (KeyError, ValueError, TypeError):
                return
            if len(mh) == 64 and " " not in ver:
                self.task = asyncio.create_task(self.on_offer(ver, mh, ml))

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
            self.task = None

    # ---------------------------------------------------------------- update boot

    def on_chunk(self, obj):
        want = self.want
        if want is None or obj.get("h") != want[0] or obj.get("o") != want[1]:
            return  # late or duplicate answer to an earlier request
        try:
            data = binascii.a2b_base64(obj["b"])
        except (KeyError, ValueError, TypeError):
            data = None
        if data is None or proto.b64url(hashlib.sha256(data).digest()).decode() != obj.get("ch"):
            if self.updater is not None:
                self.updater.stats["bad_chunks"] += 1  # asked again by fetch()
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
                await self.session.publish(self.topic, msg, 0, False)
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

            self.updater = ota.Updater(self.cfg, self.fetch, self.report, self.reset_into_trial,
                                       self.clock.now, version.VERSION, live, self.refused)
            got = await self.updater.offer(ver, mh, ml)
            if got == "refused":
                v, why = self.refused[mh]
                remember_refusal(mh, v, why, trust(self.cfg))
            live()
            st = self.updater.stats
            print("ota heap_peak=%d fetched=%d copied=%d bad_chunks=%d" % (
                peak(), st["fetched"], st["copied"], st["bad_chunks"]))
        except (OSError, MemoryError) as e:
            # flash full, link lost, heap too fragmented now: the next offer resumes
            print("ota: stopped:")
            sys.print_exception(e)
        finally:
            self.updater = None
            gc.collect()
        return got

    async def run_update(self, pending, beat):
        """An update boot: connect, handle the pending offer, then boot normally again (unless
        the updater reset into the trial). Bounded in time; the offer comes again if it failed.
        beat() tells the watchdog this boot is alive."""
        ver, mh, ml = pending
        start = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), start) < _UPDATE_BOOT_S * 1000:
            beat()
            if self.session.connected.is_set() and self.clock.synced():
                got = await self.run_offer(ver, mh, ml)
                if got is not None:
                    break
            await asyncio.sleep_ms(500)
        drop_pending()
        print("ota: update boot over")
        self.machine.reset()

    def reset_into_trial(self):
        live()
        st = self.updater.stats
        print("ota heap_peak=%d fetched=%d copied=%d" % (peak(), st["fetched"], st["copied"]))
        drop_pending()  # the trial is set: the next boot runs it
        self.machine.reset()
