"""The gateway's intake from the broker: bounded, batched, and cheap per message.

Bounded. The gateway acknowledges a reading to the broker only after its commit, and tells
Mosquitto to keep at most ``max_inflight_messages`` unacknowledged messages in flight to it.
Measured here (Mosquitto 2.0.11, `tests/gateway/test_mqtt_intake.py`), that limit does not hold
once acknowledgements flow: at twice the gateway's rate, 230 000 messages piled up in aiomqtt's
unbounded queue (650 MB). So the intake enforces the bound itself: when ``high`` messages wait
it removes the broker's socket from the event loop's readers; the kernel's receive buffer
fills, TCP stops the broker's sends, and the excess waits in the broker. Reading resumes when
the buffer is back under ``low``.

Cheap to read. paho (2.2) reads a packet in three or four ``recv`` calls (its first byte, each
byte of its length, then its body) and one packet per wake-up of the event loop. The intake
gives paho a socket with a read buffer (:class:`BufferedSocket`): one ``recv`` brings up to
64 KiB, and its ``pending()`` (which aiomqtt's reader already honours for TLS sockets) makes
aiomqtt parse every buffered packet in one wake-up.

Cheap to hand over. aiomqtt (2.5) turns each incoming message into its own ``Message`` and
hands it over through an ``asyncio.Queue`` read with a new Task and an ``asyncio.wait`` per
message; with the gateway's own queue behind it, that cost about a fifth of the gateway's core
under load. The intake takes paho's messages as paho delivers them into a deque and wakes the
ingest loop once per batch. aiomqtt still owns the connection (connect, subscribe, publish,
disconnection).

aiomqtt has no API for either: the intake works on its paho client's callbacks and socket, the
same way aiomqtt reads it (``loop_read`` when readable), and hands read errors to aiomqtt as it
does.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

import aiomqtt
import paho.mqtt.client as paho_mqtt

__all__ = ["MqttIntake", "topic_of"]

log = logging.getLogger("territoire.gateway")

Message = paho_mqtt.MQTTMessage


def topic_of(message: Message) -> str:
    """The message's topic; an undecodable one (the broker validates UTF-8, so never seen)
    becomes "", which no node's topic matches: the message is refused as malformed."""
    try:
        return message.topic
    except UnicodeDecodeError:
        return ""


class BufferedSocket:
    """paho's socket, read 64 KiB at a time and, once the intake is armed, written in as few
    ``send`` calls as the event loop allows: paho sends each packet with its own, and under
    load the gateway sends a 4-byte PUBACK per reading. What paho hands to :meth:`send` goes
    out when paho has nothing more to write (:meth:`MqttIntake` hooks paho's
    ``on_socket_unregister_write``) or 64 KiB have gathered. Everything else goes to the
    socket itself."""

    READ_SIZE = 65536
    WRITE_SIZE = 65536

    def __init__(self, sock: Any, intake: MqttIntake) -> None:
        self._sock, self._intake = sock, intake
        self._data = b""
        self._pos = 0
        self._out = bytearray()

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._data):
            data = self._sock.recv(self.READ_SIZE)  # BlockingIOError: paho waits for more
            if not data:
                return b""  # the broker closed the connection
            self._data, self._pos = data, 0
        out = self._data[self._pos:self._pos + size]
        self._pos += len(out)
        return out

    def buffered(self) -> int:
        return len(self._data) - self._pos

    def send(self, data: bytes | bytearray) -> int:
        armed = self._intake.armed
        if len(self._out) >= (self.WRITE_SIZE if armed else 1):
            self.flush()  # an OSError here is paho's: the connection is lost
            if len(self._out) >= (self.WRITE_SIZE if armed else 1):
                raise BlockingIOError  # the kernel's buffer is full: paho keeps its packet
        if not armed:  # connecting, subscribing, closing: as paho would
            sent: int = self._sock.send(data)
            return sent
        self._out += data  # at most WRITE_SIZE and a packet wait here
        return len(data)

    def flush(self) -> None:
        """Send what is gathered, as much as the kernel takes now."""
        out = self._out
        while out:
            try:
                sent = self._sock.send(out)
            except BlockingIOError:
                return
            del out[:sent]

    def unsent(self) -> int:
        return len(self._out)

    def pending(self) -> int:
        """Bytes to parse before waiting for the socket again: none while the intake is
        paused, so that the bound holds (the rest is read on resuming)."""
        return 0 if self._intake.paused else self.buffered()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class MqttIntake:
    """Messages received on ``client``'s connection, taken in batches with :meth:`batch`."""

    def __init__(self, client: aiomqtt.Client, high: int, low: int) -> None:
        if not 0 <= low < high:
            raise ValueError("need 0 <= low < high")
        self.client, self.high, self.low = client, high, low
        self.buffer: collections.deque[Message] = collections.deque()
        self.paused = False
        self.armed = False  # not while subscribing: the SUBACK must still be read
        self.pauses = 0
        self._fd = -1
        self._sock: BufferedSocket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writing = False  # our writer is registered (the rest of a flush waits)
        self._want = 1  # wake the waiting batch() when this many messages are buffered
        self._waiter: asyncio.Future[None] | None = None
        paho = client._client
        on_open = paho.on_socket_open

        def opened(c: Any, userdata: Any, sock: Any) -> None:
            # called in the thread where aiomqtt connects, before any packet is read
            self._fd, self.paused = sock.fileno(), False
            self._sock = c._sock = BufferedSocket(sock, self)
            if on_open is not None:
                on_open(c, userdata, self._sock)

        on_unregister_write = paho.on_socket_unregister_write

        def written(c: Any, userdata: Any, sock: Any) -> None:
            # paho wrote all it had (into our buffer): aiomqtt stops watching for writability,
            # then the buffer goes out, or our own writer waits for the socket to take it
            if on_unregister_write is not None:
                on_unregister_write(c, userdata, sock)
            self._flush_or_wait()

        on_close = paho.on_socket_close

        def closed(c: Any, userdata: Any, sock: Any) -> None:
            # our writer must not outlive its socket: the next one may get the same number
            if self._in_loop():
                self._stop_writing()
            if on_close is not None:
                on_close(c, userdata, sock)

        paho.on_socket_open = opened
        paho.on_socket_unregister_write = written
        paho.on_socket_close = closed
        paho.on_message = self._received  # instead of aiomqtt's: see the module's docstring

    def _received(self, _c: Any, _userdata: Any, message: Message) -> None:
        buffer = self.buffer
        buffer.append(message)
        waiter = self._waiter
        if waiter is not None and len(buffer) >= self._want and not waiter.done():
            waiter.set_result(None)
        if self.armed and not self.paused and len(buffer) >= self.high:
            self._pause()

    def arm(self) -> None:
        """Start regulating and gathering writes: call once the subscriptions are
        acknowledged, in the event loop's thread."""
        self._loop = asyncio.get_running_loop()
        self.armed = True

    def _in_loop(self) -> bool:
        """In the event loop's thread, after arm() (paho also calls hooks while connecting
        and closing, possibly from aiomqtt's connecting thread)."""
        try:
            return self._loop is not None and asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _flush_or_wait(self) -> None:
        sock = self._sock
        if sock is None or not sock.unsent() or self._fd < 0 or not self._in_loop():
            return
        try:
            sock.flush()
        except OSError:
            return  # the connection is lost: paho finds out on its next read or write
        if sock.unsent() and self._loop is not None:
            self._loop.add_writer(self._fd, self._write_rest)
            self._writing = True

    def _write_rest(self) -> None:
        sock = self._sock
        try:
            if sock is not None:
                sock.flush()
        except OSError:
            sock = None  # the connection is lost: paho finds out on its next read or write
        if sock is None or not sock.unsent():
            self._stop_writing()

    def _stop_writing(self) -> None:
        if self._writing and self._loop is not None:
            self._writing = False
            self._loop.remove_writer(self._fd)

    def waiting(self) -> int:
        return len(self.buffer)

    async def _wait_for(self, want: int, within_s: float | None) -> None:
        """Until ``want`` messages are buffered, ``within_s`` passes, or the connection ends
        (then aiomqtt.MqttError, as aiomqtt's own message iterator raises)."""
        disconnected = self.client._disconnected
        self._want = want
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait((waiter, disconnected), timeout=within_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiter = None
            if not waiter.done():
                waiter.cancel()
        if disconnected.done() and len(self.buffer) < want:
            raise aiomqtt.MqttError("Disconnected during message iteration") from (
                disconnected.exception()
            )

    async def batch(self, max_messages: int, wait_s: float) -> list[Message]:
        """The next messages in arrival order: at least one, at most ``max_messages``, waiting
        up to ``wait_s`` after the first for the batch to fill."""
        if not self.buffer:
            await self._wait_for(1, None)
        if len(self.buffer) < max_messages and wait_s > 0:
            await self._wait_for(max_messages, wait_s)
        buffer = self.buffer
        taken = [buffer.popleft() for _ in range(min(max_messages, len(buffer)))]
        if self.paused and len(buffer) <= self.low:
            self._resume()
        return taken

    def disarm(self) -> None:
        """Read and write freely again: before disconnecting, so that paho sees the
        connection close; what was gathered to write goes first."""
        self.armed = False
        if self.paused:
            self._resume()
        self._flush_or_wait()

    def _pause(self) -> None:
        if self._fd < 0:
            return
        asyncio.get_running_loop().remove_reader(self._fd)
        self.paused = True
        self.pauses += 1

    def _resume(self) -> None:
        self.paused = False
        loop = asyncio.get_running_loop()
        loop.add_reader(self._fd, self._read)
        if self._sock is not None and self._sock.buffered():
            loop.call_soon(self._read)  # read while paused: the socket may not wake us for it

    def _read(self) -> None:
        paho, sock = self.client._client, self._sock
        try:
            paho.loop_read()
            while sock is not None and sock.pending() and paho._sock is sock:
                paho.loop_read()
        except Exception as exc:  # any read error ends the connection, as in aiomqtt
            disconnected = self.client._disconnected
            if not disconnected.done():
                disconnected.set_exception(exc)
