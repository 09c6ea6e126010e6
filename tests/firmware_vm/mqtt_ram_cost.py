# Measure what the MQTT modules cost in RAM, for tests/test_mqtt_session_vm.py.
# Usage: micropython mqtt_ram_cost.py PORT   (modules come from MICROPYPATH: source or .mpy)
import gc

import asyncio

# asyncio loads its parts lazily: load them first so they are not charged to mqtt
asyncio.Event()
asyncio.Lock()
_ = asyncio.wait_for_ms, asyncio.open_connection, asyncio.gather
import sys  # noqa: E402

import micropython  # noqa: E402

gc.collect()
base = gc.mem_alloc()
import mqtt  # noqa: E402

gc.collect()
cost_mqtt = gc.mem_alloc() - base
base = gc.mem_alloc()
import mqttsession  # noqa: E402, F401

gc.collect()
cost_session = gc.mem_alloc() - base


async def main():
    gc.collect()
    a = gc.mem_alloc()
    c = mqtt.MQTTClient(b"ram", "127.0.0.1", int(sys.argv[1]))
    gc.collect()
    b = gc.mem_alloc()
    await c.connect()
    await c.publish(b"ram/t", b"warm-up")
    gc.collect()
    d = gc.mem_alloc()
    msg = b"x" * 200
    n = 20
    gc.disable()  # count every byte a steady-state QoS 1 publish allocates
    e = gc.mem_alloc()
    for _ in range(n):
        await c.publish(b"ram/t", msg)
    per = (gc.mem_alloc() - e) // n
    gc.enable()
    await c.disconnect()
    print("import_mqtt=%d import_mqttsession=%d client=%d connected=%d per_publish=%d peak=%d" % (
        cost_mqtt, cost_session, b - a, d - b, per, micropython.mem_peak()))


asyncio.run(main())
