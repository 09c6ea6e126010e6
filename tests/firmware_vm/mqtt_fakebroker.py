# A scripted MQTT server inside the VM, for what a real Mosquitto will not do on demand:
# answer with a chosen CONNACK, send a malformed packet, then stay silent (no PUBACK,
# no PINGRESP) or even stop reading. It records every byte the client sent.
import asyncio
import random

CONNACK_OK = b"\x20\x02\x00\x00"


class FakeBroker:
    def __init__(self, connack=CONNACK_OK, then=b"", keep_reading=True):
        self.connack = connack
        self.then = then
        self.keep_reading = keep_reading  # False: a broker that hangs, filling TCP buffers
        self.rx = bytearray()
        self.got = asyncio.Event()
        self.closed = asyncio.Event()
        self.port = 0
        self.server = None

    async def start(self):
        # MicroPython has no getsockname: try random high ports until one binds
        for _ in range(50):
            port = random.randint(20000, 60000)
            try:
                self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
            except OSError:
                continue
            self.port = port
            return self
        raise OSError("no free port for the fake broker")

    def stop(self):
        if self.server is not None:
            self.server.close()

    async def _serve(self, r, w):
        buf = bytearray(256)
        first = True
        try:
            while True:
                n = await r.readinto(buf)
                if not n:
                    break
                self.rx.extend(buf[:n])
                self.got.set()
                if first:
                    first = False
                    if self.connack:
                        w.write(self.connack + self.then)
                        await w.drain()
                    if not self.keep_reading:
                        await self.closed.wait()
        except OSError:
            pass  # the client reset the connection: that is its right
        self.closed.set()
        await w.wait_closed()

    async def wait_rx(self, n, ms=3000):
        t = 0
        while len(self.rx) < n and t < ms:
            await asyncio.sleep_ms(10)
            t += 10
        return bytes(self.rx)
