"""Back-pressure on the broker connection: stop reading its socket while our intake is full.

The gateway acknowledges a reading to the broker only after its commit, and tells Mosquitto to
keep at most ``max_inflight_messages`` unacknowledged messages in flight to it. Measured here
(Mosquitto 2.0.11, `hil_tests/test_gateway_overload.py`), that limit does not hold once
acknowledgements flow: at twice the gateway's rate, 230 000 messages piled up in aiomqtt's
unbounded queue (650 MB). So the gateway enforces the bound itself: when ``high`` messages wait
in aiomqtt's queue it removes the socket from the event loop's readers; the kernel's receive
buffer fills, TCP stops the broker's sends, and the excess waits in the broker. Reading resumes
when the queue is back under ``low``.

aiomqtt (2.5) has no API for this: the valve works on its paho client's socket, the same way
aiomqtt reads it (``loop_read`` when readable), and hands read errors to aiomqtt as it does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiomqtt

__all__ = ["IntakeValve"]

log = logging.getLogger("territoire.gateway")


class IntakeValve:
    def __init__(self, client: aiomqtt.Client, high: int, low: int) -> None:
        if not 0 <= low < high:
            raise ValueError("need 0 <= low < high")
        self.client, self.high, self.low = client, high, low
        self.paused = False
        self.armed = False  # not while subscribing: the SUBACK must still be read
        self.pauses = 0
        self._fd = -1
        paho = client._client
        on_open, on_message = paho.on_socket_open, paho.on_message

        def opened(c: Any, userdata: Any, sock: Any) -> None:
            self._fd, self.paused = sock.fileno(), False
            if on_open is not None:
                on_open(c, userdata, sock)

        def received(c: Any, userdata: Any, message: Any) -> None:
            if on_message is not None:
                on_message(c, userdata, message)
            if self.armed and not self.paused and client._queue.qsize() >= self.high:
                self._pause()

        paho.on_socket_open = opened
        paho.on_message = received

    def arm(self) -> None:
        """Start regulating: call once the subscriptions are acknowledged."""
        self.armed = True

    def waiting(self) -> int:
        return self.client._queue.qsize()

    def _pause(self) -> None:
        if self._fd < 0:
            return
        asyncio.get_running_loop().remove_reader(self._fd)
        self.paused = True
        self.pauses += 1

    def taken(self) -> None:
        """Call after taking a message from the client: reopens the valve under ``low``."""
        if self.paused and self.waiting() <= self.low:
            self._resume()

    def disarm(self) -> None:
        """Read freely again: before disconnecting, so that paho sees the connection close."""
        self.armed = False
        if self.paused:
            self._resume()

    def _resume(self) -> None:
        self.paused = False
        asyncio.get_running_loop().add_reader(self._fd, self._read)

    def _read(self) -> None:
        try:
            self.client._client.loop_read()
        except Exception as exc:  # any read error ends the connection, as in aiomqtt
            disconnected = self.client._disconnected
            if not disconnected.done():
                disconnected.set_exception(exc)
