"""The intake bounds what waits in the gateway, whatever the broker sends (real Mosquitto)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

import aiomqtt

from gateway.broker import MosquittoProcess
from gateway.mqtt_intake import BufferedSocket, MqttIntake

BACKLOG = 20_000


def _client(port: int) -> aiomqtt.Client:
    c = aiomqtt.Client("127.0.0.1", port, identifier="intake", clean_session=False)
    c._client.manual_ack_set(True)
    return c


def _queue_backlog(port: int) -> None:
    """Subscribe once (a persistent session), then publish a backlog while away."""

    async def subscribe() -> None:
        async with _client(port) as c:
            await c.subscribe("t/#", qos=1)

    asyncio.run(subscribe())
    subprocess.run(
        ["mosquitto_pub", "-p", str(port), "-q", "1", "-M", "1000", "-l", "-t", "t/x"],
        input=b"".join(b"%06d" % i + b"x" * 144 + b"\n" for i in range(BACKLOG)),
        check=True,
        timeout=120,
    )


async def _drain_through_intake(port: int, high: int) -> tuple[int, int, list[bytes]]:
    """Come back and consume slowly in batches of 100, acking each message after taking it, as
    the gateway does. Returns (most messages seen waiting, pauses, payloads in order)."""
    c = _client(port)
    intake = MqttIntake(c, high, high // 2)
    largest = 0
    payloads: list[bytes] = []
    async with c:
        await c.subscribe("t/#", qos=1)
        intake.arm()
        while len(payloads) < BACKLOG:
            largest = max(largest, intake.waiting())
            batch = await intake.batch(100, 0.01)
            largest = max(largest, intake.waiting() + len(batch))
            for m in batch:
                payloads.append(bytes(m.payload))
                c._client.ack(m.mid, m.qos)
            await asyncio.sleep(0.005)  # a consumer slower than the socket
        intake.disarm()
    return largest, intake.pauses, payloads


async def _drain_through_aiomqtt(port: int) -> tuple[int, int]:
    """The same consumer on aiomqtt's own message queue. Returns (largest queue seen,
    messages received)."""
    c = _client(port)
    largest = received = 0
    async with c:
        await c.subscribe("t/#", qos=1)
        async for m in c.messages:
            largest = max(largest, c._queue.qsize())
            received += 1
            c._client.ack(m.mid, m.qos)
            if received % 100 == 0:
                await asyncio.sleep(0.005)
            if received == BACKLOG:
                break
    return largest, received


def test_intake_keeps_what_waits_at_its_bound_and_loses_nothing_in_order(
    tmp_path: Path,
) -> None:
    conf = "max_inflight_messages 256\nmax_queued_messages 1000000\n"
    with MosquittoProcess(tmp_path / "b", extra_conf=conf) as broker:
        _queue_backlog(broker.port)
        largest, pauses, payloads = asyncio.run(_drain_through_intake(broker.port, high=512))
    assert payloads == [b"%06d" % i + b"x" * 144 for i in range(BACKLOG)]
    assert pauses > 0  # the consumer is slower than the socket: the intake had to close
    # one socket read may bring a few more messages after the intake closes
    assert largest <= 512 + 64, largest


def test_a_batch_waits_for_the_first_message_and_ends_on_disconnection(tmp_path: Path) -> None:
    async def scenario(broker: MosquittoProcess) -> tuple[int, str]:
        c = _client(broker.port)
        intake = MqttIntake(c, 64, 32)
        async with c:
            await c.subscribe("t/#", qos=1)
            intake.arm()
            pending = asyncio.ensure_future(intake.batch(10, 0.05))
            await asyncio.sleep(0.3)
            assert not pending.done()  # nothing published yet: still waiting
            pub = await asyncio.create_subprocess_exec(
                "mosquitto_pub", "-p", str(broker.port), "-q", "1", "-t", "t/y", "-m", "one")
            assert await pub.wait() == 0
            first = await asyncio.wait_for(pending, 10)
            waiting = asyncio.ensure_future(intake.batch(10, 0.05))
            await asyncio.sleep(0.1)
            broker.stop()
            try:
                await asyncio.wait_for(waiting, 30)
            except aiomqtt.MqttError as exc:
                return len(first), str(exc)
            return len(first), "no error"

    with MosquittoProcess(tmp_path / "b") as broker:
        got, error = asyncio.run(scenario(broker))
    assert got == 1
    assert error == "Disconnected during message iteration"


def test_without_the_intake_mosquitto_inflight_limit_does_not_bound_aiomqtts_queue(
    tmp_path: Path,
) -> None:
    """Why the intake bounds itself: with acknowledgements flowing, Mosquitto 2.0 sent far more
    than its max_inflight_messages. If this starts failing, the broker honours the limit: good news,
    and docs/gateway.md should say so."""
    conf = "max_inflight_messages 256\nmax_queued_messages 1000000\n"
    with MosquittoProcess(tmp_path / "b", extra_conf=conf) as broker:
        _queue_backlog(broker.port)
        largest, received = asyncio.run(_drain_through_aiomqtt(broker.port))
    assert received == BACKLOG
    assert largest > 4 * 256, largest


class _CountingSocket:
    """A real socket that counts the ``send`` calls made on it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.sends = sock, 0

    def send(self, data: bytes | bytearray) -> int:
        self.sends += 1
        return self.sock.send(data)

    def recv(self, size: int) -> bytes:
        return self.sock.recv(size)


async def test_gathered_writes_reach_the_peer_whole_and_in_order_through_a_full_kernel_buffer(
) -> None:
    """What paho would do with PUBACKs: send each packet, keep it on BlockingIOError and send it
    again later. Everything arrives once, in order, in far fewer system calls."""
    ours, peer = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    ours.setblocking(False)
    counting = _CountingSocket(ours)
    intake = MqttIntake(aiomqtt.Client("127.0.0.1", 1), 4, 2)
    intake.armed = True
    sock = BufferedSocket(counting, intake)
    packets = [b"\x40\x02" + i.to_bytes(2, "big") for i in range(20_000)]
    received = bytearray()
    blocked = 0
    for packet in packets:
        while True:
            try:
                assert sock.send(packet) == len(packet)
                break
            except BlockingIOError:  # as paho: keep the packet, let the peer read, retry
                blocked += 1
                received += peer.recv(1 << 16)
    while sock.unsent():
        sock.flush()
        received += peer.recv(1 << 16)
    ours.close()
    while chunk := peer.recv(1 << 16):
        received += chunk
    assert bytes(received) == b"".join(packets)
    assert blocked > 0  # the kernel's buffer did fill
    assert counting.sends < len(packets) // 10, counting.sends


async def test_before_the_intake_is_armed_writes_go_straight_to_the_socket() -> None:
    ours, peer = socket.socketpair()
    intake = MqttIntake(aiomqtt.Client("127.0.0.1", 1), 4, 2)
    sock = BufferedSocket(_CountingSocket(ours), intake)
    assert sock.send(b"\x10\x00") == 2  # e.g. CONNECT, while aiomqtt connects
    assert sock.unsent() == 0
    assert peer.recv(16) == b"\x10\x00"
