"""The one periodic worker: rounds on start, on wake and on time; failures retried or raised."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from leadloop_runtime import Periodic

HOUR = 3600.0


class FakeStep:
    """Returns the next planned result (or raises it) and signals each call."""

    def __init__(self, *plan: int | BaseException) -> None:
        self.plan = list(plan)
        self.calls = 0
        self.called = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        self.called.set()
        outcome = self.plan.pop(0) if self.plan else 0
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


async def until(called: asyncio.Event, condition: Callable[[], bool]) -> None:
    """Wait for `condition`, re-checked each time a step signals `called`."""
    async with asyncio.timeout(2):
        while not condition():
            called.clear()  # no step runs between the check and the wait: none is missed
            await called.wait()


async def test_a_round_runs_at_start_again_when_woken_and_stop_ends_run() -> None:
    step = FakeStep()
    worker = Periodic("sla", step, HOUR)
    task = asyncio.create_task(worker.run())
    await until(step.called, lambda: step.calls == 1)
    worker.wake()
    await until(step.called, lambda: step.calls == 2)
    worker.stop()
    await asyncio.wait_for(task, 2)
    assert step.calls == 2


async def test_a_full_batch_runs_the_step_again_at_once() -> None:
    step = FakeStep(10, 10, 3)
    worker = Periodic("decay", step, HOUR, batch=10)
    task = asyncio.create_task(worker.run())
    await until(step.called, lambda: step.calls == 3)
    worker.stop()
    await asyncio.wait_for(task, 2)
    assert step.calls == 3 and worker.steps == 3


async def test_the_interval_brings_the_next_round_without_a_wake() -> None:
    step = FakeStep()
    worker = Periodic("emails", step, 0.001)
    task = asyncio.create_task(worker.run())
    await until(step.called, lambda: step.calls >= 3)
    worker.stop()
    await asyncio.wait_for(task, 2)


async def test_an_expected_failure_is_retried_by_the_next_round() -> None:
    step = FakeStep(OSError("database away"), 1)
    worker = Periodic("webhooks", step, HOUR)
    task = asyncio.create_task(worker.run())
    await until(step.called, lambda: step.calls == 1)
    worker.wake()
    await until(step.called, lambda: step.calls == 2)
    assert not task.done()
    worker.stop()
    await asyncio.wait_for(task, 2)


async def test_an_unexpected_failure_ends_run_for_the_supervisor() -> None:
    worker = Periodic("decay", FakeStep(ValueError("unreadable row")), HOUR)
    with pytest.raises(ValueError, match="unreadable row"):
        await asyncio.wait_for(worker.run(), 2)


async def test_a_wake_during_a_round_is_not_lost() -> None:
    release, called = asyncio.Event(), asyncio.Event()
    calls = 0

    async def slow_step() -> int:
        nonlocal calls
        calls += 1
        called.set()
        if calls == 1:
            await release.wait()
        return 0

    worker = Periodic("webhooks", slow_step, HOUR)
    task = asyncio.create_task(worker.run())
    await until(called, lambda: calls == 1)
    worker.wake()  # arrives while the first round still runs
    release.set()
    await until(called, lambda: calls == 2)
    worker.stop()
    await asyncio.wait_for(task, 2)
