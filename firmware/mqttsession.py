# Resilient MQTT session over mqtt.MQTTClient: Wi-Fi, connect, on_connect, wait for the link
# to die, reconnect with capped, randomised backoff.
# RAM (unix VM, measured by tests/test_mqtt_session_vm.py): 2.1 KB imported as .mpy,
# 3.9 KB from source; a session object is 0.4 KB.
import asyncio
import gc
from errno import ENOTCONN
from random import uniform
from time import ticks_diff, ticks_ms

from micropython import const

_STABLE_MS = const(30000)  # a link that lived this long resets the backoff
_WIFI_WAIT_MS = const(15000)


def backoff_ms(attempt, cap=10):
    """Reconnect delay: uniform in [0, 1.5 ** min(cap, attempt)] seconds, as aiomqtt does."""
    return int(uniform(0, 1.5 ** min(cap, attempt)) * 1000)


class MQTTSession:
    """Keep an MQTT link up: Wi-Fi, connect, on_connect, wait for the link to die, back off.

    stats["link_failures"] counts every failed connection attempt and every lost link;
    last_error holds the latest cause. `connected` is set once on_connect(client) returned
    (subscriptions made, state published). The backoff attempt count resets only after a
    link that lived more than 30 s, so a broker that accepts and then drops the node at
    once does not see it reconnect in a tight loop. An OSError from on_connect is a link
    failure, and so is a MemoryError (a fragmented heap, retried after the backoff); any
    other exception is a bug and ends run().
    """

    def __init__(self, client_factory, wlan=None, *, on_connect=None, on_message=None,
                 backoff_cap=10, clean=True):
        self._factory = client_factory
        self._wlan = wlan
        self._on_connect = on_connect
        self._on_message = on_message
        self._cap = backoff_cap
        self._clean = clean
        self.client = None
        self.connected = asyncio.Event()
        self.last_error = None
        self.stats = {"connects": 0, "link_failures": 0}

    async def publish(self, topic, msg, qos=1, retain=False):
        c = self.client
        if c is None or not self.connected.is_set():
            raise OSError(ENOTCONN)  # the caller keeps its data and tries again later
        await c.publish(topic, msg, qos, retain)

    async def _wifi(self):
        w = self._wlan
        if w is None or w.isconnected():
            return
        try:
            w.connect()  # ESP32: reconnect with the credentials of the last connect(ssid, key)
        except OSError:
            pass  # already connecting: wait below
        t = ticks_ms()
        while not w.isconnected():
            if ticks_diff(ticks_ms(), t) > _WIFI_WAIT_MS:
                raise OSError(ENOTCONN)
            await asyncio.sleep_ms(250)

    async def run(self):
        attempt = 0
        while True:
            c = None
            t0 = None
            try:
                await self._wifi()
                gc.collect()  # the new client wants its two buffers in one piece each
                c = self._factory()
                if self._on_message is not None:
                    c.set_callback(self._on_message)
                await c.connect(self._clean)
                t0 = ticks_ms()
                self.stats["connects"] += 1
                self.client = c
                if self._on_connect is not None:
                    await self._on_connect(c)
                self.connected.set()
                self.last_error = await c.wait_lost()
            except (OSError, MemoryError) as e:
                # a heap too fragmented for the client's buffers right now is no bug: retry
                self.last_error = e
            finally:
                self.connected.clear()
                self.client = None
                if c is not None:
                    await c.close()
            self.stats["link_failures"] += 1
            if t0 is not None and ticks_diff(ticks_ms(), t0) > _STABLE_MS:
                attempt = 0
            attempt += 1
            await asyncio.sleep_ms(backoff_ms(attempt, self._cap))
