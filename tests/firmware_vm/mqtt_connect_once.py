# Connect once with the given credentials, for tests/test_mqtt_session_vm.py.
# Usage: micropython mqtt_connect_once.py PORT USER PASSWORD
# Prints "connected" or "refused ERRNO CODE" (CODE is the CONNACK return code).
import asyncio
import sys

from mqtt import MQTTClient


async def main():
    c = MQTTClient(b"once", "127.0.0.1", int(sys.argv[1]), user=sys.argv[2], password=sys.argv[3])
    try:
        await c.connect()
    except OSError as e:
        print("refused", e.errno, e.args[1] if len(e.args) > 1 else -1)
        return
    await c.publish(b"once/hello", b"hi")
    await c.disconnect()
    print("connected")


asyncio.run(main())
