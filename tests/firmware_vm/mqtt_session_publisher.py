# An emulated node for tests/test_mqtt_session_vm.py: an MQTTSession that publishes a numbered
# QoS 1 message every 100 ms on PREFIX/n until a message arrives on PREFIX/stop.
# The number advances only once the broker acknowledged it (the caller keeps its data).
# Usage: micropython mqtt_session_publisher.py PORT PREFIX
import asyncio
import gc
import sys

import micropython
from mqtt import MQTTClient
from mqttsession import MQTTSession

PORT = int(sys.argv[1])
PREFIX = sys.argv[2].encode()
T_N = PREFIX + b"/n"
T_STOP = PREFIX + b"/stop"
T_STATE = PREFIX + b"/state"
stop = asyncio.Event()


def on_message(topic, msg):
    if topic == T_STOP:
        stop.set()


async def on_connect(client):
    await client.subscribe(T_STOP, 1)
    await client.publish(T_STATE, b"online", 1, True)
    print("connected")


def factory():
    return MQTTClient(b"vm-publisher", "127.0.0.1", PORT, keepalive=5,
                      will=(T_STATE, b"offline", True, 1), timeout_ms=2000)


async def publish_numbers(session):
    n = failed = high = 0
    while not stop.is_set():
        try:
            await session.publish(T_N, b"%d" % n, 1)
            n += 1
        except OSError:
            failed += 1
        gc.collect()  # live heap only: without a collection mem_alloc() counts garbage too
        used = gc.mem_alloc()
        if used > high:
            high = used
        await asyncio.sleep_ms(100)
    return n, failed, high


async def main():
    session = MQTTSession(factory, None, on_connect=on_connect, on_message=on_message)
    runner = asyncio.create_task(session.run())
    n, failed, high = await asyncio.wait_for(publish_numbers(session), 150)
    runner.cancel()
    await asyncio.sleep_ms(0)
    print("published=%d failed=%d connects=%d link_failures=%d heap_peak=%d live_heap_high=%d" % (
        n, failed, session.stats["connects"], session.stats["link_failures"],
        micropython.mem_peak(), high))


asyncio.run(main())
