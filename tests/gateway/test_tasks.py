"""The gateway's one way to retry and to run its tasks (gateway/tasks.py): failures the world
causes are retried with capped, randomised backoff; a failure retrying cannot mend (the fleet
refusing this gateway) and anything unexpected stop the loop; the task group ends on the stop
event, raises a failed task's error as itself, and does not wait for ever on a stuck task."""

from __future__ import annotations

import asyncio
import logging
import time

import aiomqtt
import pytest

from gateway.fleet_client import FleetError, GatewayRefused
from gateway.tasks import Backoff, backoff_s, retrying, run_group


def test_backoff_is_randomised_below_an_exponential_bound_and_capped() -> None:
    assert backoff_s(1, 300, 0.999) < 1.5
    assert backoff_s(3, 300, 0.5) == pytest.approx(0.5 * 1.5**3)
    assert backoff_s(100, 300, 0.999) <= 300
    assert backoff_s(100, 300, 0.0) == 0
    b = Backoff(0.05)
    delays = [b.next_s() for _ in range(50)]
    assert all(0 <= d <= 0.05 for d in delays)
    assert len(set(delays)) > 10  # jittered: gateways do not retry in step
    b.reset()
    assert b.attempt == 0


def test_retrying_retries_failures_then_resets_after_a_success(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[float] = []
    failures: list[BaseException] = []
    backoff = Backoff(0.01)

    async def step() -> float:
        calls.append(time.monotonic())
        if len(calls) in (1, 2, 4):
            raise FleetError("fleet unreachable", None)
        if len(calls) == 3:
            assert backoff.attempt == 2
            return 0.0
        assert backoff.attempt == 1  # reset by the success, then one failure
        raise RuntimeError("a bug")

    async def main() -> None:
        await retrying(step, what="fleet sync failed", retry_on=FleetError, backoff=backoff,
                       on_failure=failures.append)

    with caplog.at_level(logging.WARNING, "territoire.gateway"), \
            pytest.raises(RuntimeError, match="a bug"):
        asyncio.run(main())
    assert len(calls) == 5
    assert [str(f) for f in failures] == ["fleet unreachable"] * 3
    assert "fleet sync failed (fleet unreachable); retry in" in caplog.text


def test_a_refused_gateway_is_never_retried() -> None:
    calls = 0

    async def step() -> float:
        nonlocal calls
        calls += 1
        raise GatewayRefused("the fleet refused this gateway (401)", 401)

    async def main() -> None:
        await retrying(step, what="fleet sync failed", retry_on=FleetError,
                       backoff=Backoff(0.01))

    with pytest.raises(GatewayRefused) as info:
        asyncio.run(main())
    assert info.value.status_code == 401
    assert calls == 1


def test_grouped_broker_errors_are_retried_but_mixed_groups_are_not() -> None:
    calls = 0

    async def step() -> float:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ExceptionGroup("lost", [aiomqtt.MqttError("connection lost")])
        raise ExceptionGroup("lost", [aiomqtt.MqttError("again"), KeyError("bug")])

    async def main() -> None:
        await retrying(step, what="broker connection lost", retry_on=aiomqtt.MqttError,
                       backoff=Backoff(0.01))

    with pytest.raises(ExceptionGroup):
        asyncio.run(main())
    assert calls == 2


def test_the_group_stops_on_the_event_and_cancels_every_task() -> None:
    cancelled: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, stop.set)
        names = []
        async def spy() -> None:
            names.extend(t.get_name() for t in asyncio.all_tasks())
            await forever("spy")
        await run_group("gateway[t]", {"a": forever("a"), "b": spy()}, stop, 1.0)
        assert "gateway[t].a" in names
        assert "gateway[t].stop" in names

    asyncio.run(main())
    assert sorted(cancelled) == ["a", "spy"]


def test_a_failed_task_stops_the_others_and_its_error_is_raised_as_itself() -> None:
    cancelled: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append("other")
            raise

    async def refused() -> None:
        await asyncio.sleep(0.01)
        raise GatewayRefused("the fleet refused this gateway (403)", 403)

    async def main() -> None:
        await run_group("gateway[t]", {"other": forever(), "sync": refused()}, None, 1.0)

    with pytest.raises(GatewayRefused, match="403"):
        asyncio.run(main())
    assert cancelled == ["other"]


def test_a_task_stuck_in_its_cancellation_is_left_after_the_stop_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def stuck() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.shield(asyncio.sleep(5))  # a library that ignores cancellation

    async def main() -> float:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.02, stop.set)
        t0 = time.monotonic()
        await run_group("gateway[t]", {"stuck": stuck()}, stop, 0.2)
        return time.monotonic() - t0

    async def outer() -> float:
        took = await main()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()  # what asyncio.run does with what is left
        return took

    with caplog.at_level(logging.WARNING, "territoire.gateway"):
        took = asyncio.run(outer())
    assert took < 2
    assert "task gateway[t].stuck did not stop within 0.2 s" in caplog.text
