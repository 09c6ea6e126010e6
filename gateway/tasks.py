"""How the gateway's long-running tasks run: together in one named TaskGroup, and retried one
way (capped, randomised exponential backoff) when the world fails them.

A task that fails with an error it does not retry stops the gateway: the group cancels the
others and :func:`run_group` raises that error, as itself. A failure retrying cannot mend (the
fleet refuses this gateway) is a :class:`GiveUp`, never retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from typing import Any, NoReturn

__all__ = ["Backoff", "GiveUp", "backoff_s", "retrying", "run_group"]

log = logging.getLogger("territoire.gateway")


class GiveUp(Exception):
    """A failure no retry can mend: the task stops, and the gateway with it, saying why."""


def backoff_s(attempt: int, cap_s: float, rand: float) -> float:
    """Capped exponential backoff, randomised over [0, bound) so gateways do not retry in step."""
    return rand * min(cap_s, 1.5 ** min(attempt, 30))


class Backoff:
    """The delays of successive failures; :meth:`reset` after a success."""

    def __init__(self, cap_s: float) -> None:
        self.cap_s = cap_s
        self.attempt = 0

    def reset(self) -> None:
        self.attempt = 0

    def next_s(self) -> float:
        self.attempt += 1
        return backoff_s(self.attempt, self.cap_s, random.random())  # noqa: S311 - jitter


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _retryable(
    exc: BaseException, retry_on: type[BaseException] | tuple[type[BaseException], ...]
) -> BaseException | None:
    """The failure to report when ``exc`` is to be retried (libraries may group them)."""
    leaves = list(_leaves(exc))
    if all(isinstance(e, retry_on) and not isinstance(e, GiveUp) for e in leaves):
        return leaves[0]
    return None


async def retrying(
    step: Callable[[], Awaitable[float]],
    *,
    what: str,
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    backoff: Backoff,
    on_failure: Callable[[BaseException], None] | None = None,
) -> NoReturn:
    """Run ``step`` for ever. After a success, wait the seconds it returns (0: at once); after
    a ``retry_on`` failure, log ``what (error)`` and wait ``backoff``'s next delay. Anything
    else (a :class:`GiveUp`, a cancellation, a bug) ends the loop."""
    while True:
        try:
            pause = await step()
        except BaseException as exc:
            failure = _retryable(exc, retry_on)
            if failure is None:
                raise
            if on_failure is not None:
                on_failure(failure)
            delay = backoff.next_s()
            log.warning("%s (%s); retry in %.1f s", what, failure, delay)
            await asyncio.sleep(delay)
            continue
        backoff.reset()
        if pause > 0:
            await asyncio.sleep(pause)


class _Stopped(Exception):
    """The stop event was set: the group ends, no error."""


async def _bounded(coro: Coroutine[Any, Any, Any], name: str, timeout_s: float) -> None:
    """Run ``coro`` as its own task; once cancelled, give it ``timeout_s`` to finish: a task
    stuck in a library's cancellation must not keep the process alive."""
    inner = asyncio.get_running_loop().create_task(coro, name=name + ".inner")
    try:
        await asyncio.shield(inner)
    except asyncio.CancelledError:
        inner.cancel()
        _done, stuck = await asyncio.wait({inner}, timeout=timeout_s)
        if stuck:
            log.warning("task %s did not stop within %g s", name, timeout_s)
        raise


async def _until(stop: asyncio.Event) -> None:
    await stop.wait()
    raise _Stopped


async def run_group(
    name: str,
    tasks: Mapping[str, Coroutine[Any, Any, Any]],
    stop: asyncio.Event | None,
    stop_timeout_s: float,
) -> None:
    """Run the named tasks (``<name>.<task>``) in one TaskGroup until ``stop`` is set or one
    fails; then the others are cancelled and the failure, if any, is raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            for label, coro in tasks.items():
                task_name = f"{name}.{label}"
                group.create_task(_bounded(coro, task_name, stop_timeout_s), name=task_name)
            if stop is not None:
                group.create_task(_until(stop), name=f"{name}.stop")
    except BaseExceptionGroup as failed:
        first = next((e for e in failed.exceptions if not isinstance(e, _Stopped)), None)
        if first is not None:
            raise first from None
