# MQTT client and session, in the VM, against the private Mosquitto (and, for what a real
# broker will not do on demand, the scripted server in mqtt_fakebroker.py).
import asyncio
import os
from errno import ECONNREFUSED, ENOBUFS, ENOTCONN, ETIMEDOUT
from time import ticks_diff, ticks_ms

import mqtt
from mqtt_fakebroker import FakeBroker

NEEDS_BROKER = True
HOST = "127.0.0.1"
PORT = int(os.getenv("TERRITOIRE_BROKER_PORT") or "0")
_EPROTO = 71


def client(cid, port=PORT, **kw):
    return mqtt.MQTTClient(cid, HOST, port, **kw)


class Inbox:
    """A message callback that keeps what it got."""

    def __init__(self):
        self.msgs = []

    def __call__(self, topic, msg):
        self.msgs.append((topic, msg))

    async def wait(self, n, ms=3000):
        t0 = ticks_ms()
        while len(self.msgs) < n:
            if ticks_diff(ticks_ms(), t0) > ms:
                raise AssertionError("got %d of %d messages" % (len(self.msgs), n))
            await asyncio.sleep_ms(10)
        return self.msgs


async def expect_oserror(aw, errno_):
    try:
        await aw
    except OSError as e:
        if e.errno != errno_:
            raise AssertionError("errno %r, wanted %d" % (e.args, errno_)) from None
        return e
    raise AssertionError("no OSError")


async def lost_within(c, ms):
    try:
        return await asyncio.wait_for_ms(c.wait_lost(), ms)
    except asyncio.TimeoutError:
        raise AssertionError("link not declared lost within %d ms" % ms) from None


# ------------------------------------------------------------------ real broker

async def test_publish_qos1_then_receive_own_message_by_subscription():
    inbox = Inbox()
    c = client("own")
    c.set_callback(inbox)
    await c.connect()
    assert c.is_connected()
    await c.subscribe(b"t/own/#", 1)
    await c.publish(b"t/own/a", b"hello", qos=1)
    await c.publish("t/own/b", "str too", qos=0)
    msgs = await inbox.wait(2)
    assert msgs == [(b"t/own/a", b"hello"), (b"t/own/b", b"str too")], msgs
    await c.disconnect()
    assert not c.is_connected()
    assert (await lost_within(c, 100)) is None  # a chosen disconnect is not a link failure
    await expect_oserror(c.publish(b"t/own/a", b"late"), ENOTCONN)


async def test_retained_message_is_delivered_on_subscribe():
    a = client("ret-a")
    await a.connect()
    await a.publish(b"t/ret", b"state", qos=1, retain=True)
    await a.disconnect()
    inbox = Inbox()
    b = client("ret-b")
    b.set_callback(inbox)
    await b.connect()
    await b.subscribe(b"t/ret")
    assert (await inbox.wait(1)) == [(b"t/ret", b"state")]
    await b.disconnect()


async def test_last_will_is_published_when_socket_dies_without_disconnect():
    inbox = Inbox()
    watcher = client("will-watch")
    watcher.set_callback(inbox)
    await watcher.connect()
    await watcher.subscribe(b"t/will")
    will = (b"t/will", b"offline", False, 1)
    polite = client("will-polite", will=will)
    await polite.connect()
    await polite.disconnect()  # a DISCONNECT discards the will (3.1.2.5)
    await asyncio.sleep_ms(500)
    assert inbox.msgs == [], inbox.msgs
    dying = client("will-dying", will=will)
    await dying.connect()
    await dying.close()  # socket closed, no DISCONNECT: what a crash or power cut looks like
    assert (await inbox.wait(1)) == [(b"t/will", b"offline")]
    await watcher.disconnect()


async def test_oversized_incoming_publish_drops_the_link_with_enobufs():
    inbox = Inbox()
    small = client("small", max_packet=256)
    small.set_callback(inbox)
    await small.connect()
    await small.subscribe(b"t/big")
    sender = client("sender")
    await sender.connect()
    await sender.publish(b"t/big", b"x" * 200)  # fits: delivered
    await inbox.wait(1)
    await sender.publish(b"t/big", b"y" * 1000)  # does not fit the 256-byte buffer
    err = await lost_within(small, 3000)
    assert isinstance(err, OSError) and err.errno == ENOBUFS, err
    assert len(inbox.msgs) == 1
    assert not small.is_connected()
    await expect_oserror(small.publish(b"t/big", b"z"), ENOTCONN)
    await sender.disconnect()


async def test_outgoing_message_larger_than_the_buffer_is_sent_in_two_writes():
    c = client("twowrites", max_packet=128)
    await c.connect()
    r = client("twowrites-r")
    r2 = Inbox()
    r.set_callback(r2)
    await r.connect()
    await r.subscribe(b"t/two")
    await c.publish(b"t/two", b"q" * 1000)
    assert (await r2.wait(1)) == [(b"t/two", b"q" * 1000)]
    await r.disconnect()
    await c.disconnect()


async def test_concurrent_qos1_publishes_from_many_tasks_are_all_acknowledged():
    inbox = Inbox()
    c = client("many")
    c.set_callback(inbox)
    await c.connect()
    await c.subscribe(b"t/many")
    n = 12  # three times the in-flight table: the extra callers wait for a slot

    async def one(i):
        await c.publish(b"t/many", b"%d" % i, qos=1)
        return i

    done = await asyncio.gather(*[one(i) for i in range(n)])
    assert sorted(done) == list(range(n))
    msgs = await inbox.wait(n)
    assert sorted(int(m) for _, m in msgs) == list(range(n))
    await c.disconnect()


async def test_keepalive_pings_keep_an_idle_link_alive():
    inbox = Inbox()
    c = client("idle", keepalive=1)
    c.set_callback(inbox)
    await c.connect()
    await c.subscribe(b"t/idle")
    # Mosquitto drops a client silent for 1.5 x keepalive: idle for more than twice that
    await asyncio.sleep_ms(3500)
    assert c.is_connected()
    await c.ping()
    await c.publish(b"t/idle", b"still here")
    assert (await inbox.wait(1)) == [(b"t/idle", b"still here")]
    await c.disconnect()


async def test_connect_to_a_port_without_broker_raises_oserror():
    fake = await FakeBroker().start()
    port = fake.port
    fake.stop()
    await asyncio.sleep_ms(50)
    c = client("nobody", port=port)
    await expect_oserror(c.connect(), ECONNREFUSED)
    assert not c.is_connected()
    assert isinstance(await lost_within(c, 100), OSError)


async def test_session_reconnects_after_takeover_and_waits_for_wifi():
    class WLAN:  # the network.WLAN interface the session uses
        def __init__(self):
            self.t0 = ticks_ms()
            self.connects = 0

        def isconnected(self):
            return ticks_diff(ticks_ms(), self.t0) > 300

        def connect(self):
            self.connects += 1

    wlan = WLAN()
    seen = []

    async def on_connect(cl):
        seen.append(cl)
        await cl.subscribe(b"t/sess")
        await cl.publish(b"t/sess", b"online %d" % len(seen))

    inbox = Inbox()
    s = mqtt.MQTTSession(lambda: client("sess"), wlan, on_connect=on_connect, on_message=inbox)
    await expect_oserror(s.publish(b"t/sess", b"early"), ENOTCONN)
    task = asyncio.create_task(s.run())
    await asyncio.wait_for_ms(s.connected.wait(), 3000)
    assert wlan.connects == 1 and ticks_diff(ticks_ms(), wlan.t0) > 300
    await inbox.wait(1)
    # a second client with the same id makes the broker drop the first (3.1.4)
    thief = client("sess")
    await thief.connect()
    await asyncio.sleep_ms(100)
    await asyncio.wait_for_ms(s.connected.wait(), 5000)
    assert s.stats["connects"] == 2 and s.stats["link_failures"] == 1, s.stats
    assert len(seen) == 2 and seen[0] is not seen[1]
    await s.publish(b"t/sess", b"after")
    await inbox.wait(3)
    assert inbox.msgs[-1] == (b"t/sess", b"after"), inbox.msgs
    task.cancel()
    await asyncio.sleep_ms(10)
    assert not s.connected.is_set()
    await thief.close()


def test_connect_packet_larger_than_the_buffer_is_refused_at_construction():
    try:
        client("x" * 300, max_packet=256)
    except ValueError:
        return
    raise AssertionError("no ValueError")


def test_backoff_stays_within_its_cap():
    for attempt in range(1, 30):
        top = 1.5 ** min(4, attempt) * 1000
        for _ in range(20):
            d = mqtt.backoff_ms(attempt, 4)
            assert 0 <= d <= top, (attempt, d)


# ------------------------------------------------------------------ scripted server

async def test_connect_and_publish_put_the_exact_bytes_on_the_wire():
    fake = await FakeBroker().start()
    c = client("node-1", port=fake.port, user=b"u", password=b"p",
               will=(b"w/t", b"bye", True, 1), timeout_ms=500)
    await c.connect()
    connect = (b"\x10\x22\x00\x04MQTT\x04\xee\x00\x1e\x00\x06node-1"
               b"\x00\x03w/t\x00\x03bye\x00\x01u\x00\x01p")
    await c.publish(b"a/b", b"hi", qos=0, retain=True)
    got = await fake.wait_rx(len(connect) + 9)
    assert got == connect + b"\x31\x07\x00\x03a/bhi", got
    # QoS 1 to a broker that never acks: ETIMEDOUT after timeout_ms, and the link is closed
    t0 = ticks_ms()
    await expect_oserror(c.publish(b"a/b", b"hi", qos=1), ETIMEDOUT)
    assert 450 <= ticks_diff(ticks_ms(), t0) < 1500
    assert bytes(fake.rx).endswith(b"\x32\x09\x00\x03a/b\x00\x01hi"), bytes(fake.rx)
    assert not c.is_connected()
    fake.stop()


async def test_connack_refusal_raises_oserror_with_the_return_code():
    fake = await FakeBroker(connack=b"\x20\x02\x00\x05").start()
    c = client("refused", port=fake.port)
    e = await expect_oserror(c.connect(), ECONNREFUSED)
    assert e.args[1] == 5, e.args  # 5: not authorized (3.2.2.3)
    assert not c.is_connected()
    fake.stop()


async def test_silent_broker_is_declared_dead_after_one_and_a_half_keepalives():
    fake = await FakeBroker().start()
    c = client("silent", port=fake.port, keepalive=1)
    await c.connect()
    t0 = ticks_ms()
    err = await lost_within(c, 3000)
    dt = ticks_diff(ticks_ms(), t0)
    assert isinstance(err, OSError) and err.errno == ETIMEDOUT, err
    assert 1500 <= dt < 2200, dt
    assert b"\xc0\x00" in fake.rx  # it did ask (PINGREQ) before giving up
    fake.stop()


async def test_write_stuck_on_a_broker_that_stopped_reading_times_out():
    fake = await FakeBroker(keep_reading=False).start()
    c = client("stuck", port=fake.port, max_packet=4096, timeout_ms=500)
    await c.connect()
    chunk = b"s" * 4000
    t0 = ticks_ms()
    sent = 0
    try:
        while sent < 100000:  # 400 MB: far more than any TCP buffer holds
            await c.publish(b"t/stuck", chunk, qos=0)
            sent += 1
    except OSError as e:
        if e.errno != ETIMEDOUT:
            raise
    dt = ticks_diff(ticks_ms(), t0)
    assert 0 < sent < 100000, sent
    assert not c.is_connected()
    err = await lost_within(c, 100)
    assert err.errno == ETIMEDOUT, err
    print("stuck after %d KB in %d ms" % (sent * 4, dt))
    fake.closed.set()
    fake.stop()


async def test_remaining_length_of_five_bytes_is_a_protocol_error():
    fake = await FakeBroker(then=b"\x30\xff\xff\xff\xff\x01").start()
    c = client("malformed", port=fake.port)
    await c.connect()
    err = await lost_within(c, 2000)
    assert isinstance(err, OSError) and err.errno == _EPROTO, err
    fake.stop()


async def test_announced_huge_packet_is_refused_before_reading_it():
    fake = await FakeBroker(then=b"\x30\xff\xff\xff\x7f").start()  # 256 MiB announced
    c = client("huge", port=fake.port)
    await c.connect()
    err = await lost_within(c, 2000)
    assert isinstance(err, OSError) and err.errno == ENOBUFS, err
    fake.stop()


async def test_incoming_qos1_publish_is_acked_only_after_the_callback_returned():
    fake = await FakeBroker(then=b"\x32\x09\x00\x03c/x\x00\x07go").start()
    seen = []

    def cb(topic, msg):
        seen.append((topic, msg, bytes(fake.rx)))

    c = client("acker", port=fake.port)
    c.set_callback(cb)
    await c.connect()
    got = await fake.wait_rx(4 + 20)  # CONNECT (20 bytes) then PUBACK
    assert len(seen) == 1 and seen[0][:2] == (b"c/x", b"go"), seen
    assert b"\x40\x02" not in seen[0][2]  # no PUBACK yet while the callback ran
    assert got.endswith(b"\x40\x02\x00\x07"), got
    await c.disconnect()
    fake.stop()


async def test_callback_that_raises_leaves_the_message_unacked_and_ends_the_link():
    fake = await FakeBroker(then=b"\x32\x09\x00\x03c/x\x00\x07go").start()

    def cb(topic, msg):
        raise ValueError("bad command")

    c = client("crashy", port=fake.port)
    c.set_callback(cb)
    await c.connect()
    err = await lost_within(c, 2000)
    assert isinstance(err, ValueError), err
    await asyncio.sleep_ms(100)
    assert b"\x40\x02" not in fake.rx, bytes(fake.rx)
    fake.stop()


async def test_incoming_qos2_publish_is_a_protocol_error():
    fake = await FakeBroker(then=b"\x34\x09\x00\x03c/x\x00\x07go").start()
    c = client("qos2", port=fake.port)
    await c.connect()
    err = await lost_within(c, 2000)
    assert isinstance(err, OSError) and err.errno == _EPROTO, err
    fake.stop()
