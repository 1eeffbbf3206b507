"""One start order, and shutdown in its exact reverse, each part drained before the next stops."""

from __future__ import annotations

import asyncio

import pytest

from leadloop_platform.tasks import TaskSupervisor
from leadloop_runtime.lifecycle import Parts, Worker, running


class FakeClient:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def start(self) -> None:
        self.log.append(f"{self.name} started")

    async def stop(self) -> None:
        self.log.append(f"{self.name} stopped")


class FakeLoop:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log
        self.stopping = asyncio.Event()
        self.running = asyncio.Event()

    async def run(self) -> None:
        self.log.append(f"{self.name} running")
        self.running.set()
        await self.stopping.wait()
        self.log.append(f"{self.name} drained")

    def stop(self) -> None:
        self.stopping.set()


def parts(log: list[str], last: FakeLoop) -> Parts:
    async def publish_agreement() -> None:
        log.append("start hook")

    return Parts(
        producer=FakeClient("producer", log),
        relay=FakeLoop("relay", log),
        consumer=FakeClient("consumer", log),
        consumer_loop=FakeLoop("consumer loop", log),
        workers=[Worker("sla", FakeLoop("sla", log)), Worker("emails", last)],
        on_start=[publish_agreement],
    )


async def test_parts_start_in_one_order_and_stop_in_its_reverse() -> None:
    log: list[str] = []
    supervisor = TaskSupervisor("runtime-test", stop_process=lambda: log.append("SIGTERM"))
    last = FakeLoop("emails", log)
    async with running(parts(log, last), supervisor):
        await asyncio.wait_for(last.running.wait(), 2)  # the last loop started has begun
        started = list(log)
        log.clear()
        supervisor.stopping()  # as the app does before its lifespan ends
    # The loops run once the lifespan yields to the event loop, in the order they were started.
    assert started == [
        "producer started",
        "start hook",
        "consumer started",
        "relay running",
        "consumer loop running",
        "sla running",
        "emails running",
    ]
    assert log == [
        "sla drained",
        "emails drained",
        "consumer loop drained",
        "consumer stopped",
        "relay drained",
        "producer stopped",
    ]
    assert supervisor.failures == {}


async def test_without_relay_consumer_or_workers_only_the_producer_runs() -> None:
    log: list[str] = []
    supervisor = TaskSupervisor("runtime-test")
    async with running(Parts(producer=FakeClient("producer", log)), supervisor):
        supervisor.stopping()
    assert log == ["producer started", "producer stopped"]


async def test_a_failing_start_stops_what_already_started() -> None:
    log: list[str] = []

    async def broken_hook() -> None:
        raise RuntimeError("agreement file unreadable")

    broken = Parts(producer=FakeClient("producer", log), on_start=[broken_hook])
    with pytest.raises(RuntimeError, match="unreadable"):
        async with running(broken, TaskSupervisor("runtime-test")):
            pass
    assert log == ["producer started", "producer stopped"]
