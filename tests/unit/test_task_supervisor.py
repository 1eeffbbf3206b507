"""The task supervisor: a background task that dies makes the service unhealthy and stop once;
one cancelled, or returning because the service stops, does not."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import create_async_engine

from leadloop_platform.http.app import create_app
from leadloop_platform.settings import CommonSettings
from leadloop_platform.tasks import TaskSupervisor

SERVICE = "supervisor-tests"


def failures(task: str) -> float:
    value = REGISTRY.get_sample_value(
        "leadloop_background_task_failures_total", {"service": SERVICE, "task": task}
    )
    return value or 0.0


class Stops:
    """The injected stop: counts calls instead of signalling the test process."""

    def __init__(self) -> None:
        self.calls = 0
        self.called = asyncio.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.called.set()


async def crash_after(started: asyncio.Event, message: str) -> None:
    started.set()
    raise RuntimeError(message)


async def run_forever(started: asyncio.Event) -> None:
    started.set()
    await asyncio.Event().wait()


async def fall_out() -> None:
    """A loop that ends although nobody asked it to."""


async def run_until_stopped(stop: asyncio.Event) -> None:
    await stop.wait()


async def test_a_task_that_raises_is_reported_counted_and_stops_the_process_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stops = Stops()
    tasks = TaskSupervisor(SERVICE, stop_process=stops)
    before = failures("relay-raises")
    started = asyncio.Event()
    with caplog.at_level(logging.CRITICAL, logger="leadloop_platform.tasks"):
        relay = tasks.start("relay-raises", crash_after(started, "cursor already closed"))
        second = tasks.start("worker-raises", crash_after(asyncio.Event(), "boom"))
        await relay  # the supervised task ends quietly: awaiting it does not raise
        await second
        await asyncio.wait_for(stops.called.wait(), 1)
    assert tasks.failures["relay-raises"] == "RuntimeError: cursor already closed"
    problem = tasks.problem()
    assert problem is not None and "relay-raises: RuntimeError: cursor already closed" in problem
    assert failures("relay-raises") == before + 1
    assert stops.calls == 1, "two dead tasks ask the process to stop once"
    record = next(r for r in caplog.records if "relay-raises" in r.getMessage())
    assert record.levelno == logging.CRITICAL and record.exc_info is not None


async def test_cancellation_and_returning_while_stopping_are_not_failures() -> None:
    stops = Stops()
    tasks = TaskSupervisor(SERVICE, stop_process=stops)
    stop = asyncio.Event()
    running = asyncio.Event()
    cancelled = tasks.start("cancelled", run_forever(running))
    stopped = tasks.start("stopped", run_until_stopped(stop))
    await running.wait()  # cancelled while it runs, not before it started
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    tasks.stopping()
    stop.set()
    await stopped
    assert tasks.failures == {} and tasks.problem() is None
    assert stops.calls == 0
    assert failures("cancelled") == 0 and failures("stopped") == 0


async def test_a_task_returning_while_the_service_runs_is_a_failure() -> None:
    stops = Stops()
    tasks = TaskSupervisor(SERVICE, stop_process=stops)
    before = failures("fell-out")
    await tasks.start("fell-out", fall_out())
    await asyncio.wait_for(stops.called.wait(), 1)
    assert tasks.failures == {"fell-out": "returned while the service was running"}
    assert failures("fell-out") == before + 1


async def test_shutting_down_before_the_delay_runs_out_sends_no_stop() -> None:
    stops = Stops()
    tasks = TaskSupervisor(SERVICE, stop_delay_s=0.05, stop_process=stops)
    await tasks.start("dies-then-shutdown", crash_after(asyncio.Event(), "boom"))
    tasks.stopping()  # SIGTERM from elsewhere arrived first
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stops.called.wait(), 0.2)
    assert tasks.failures, "the failure is still reported"


async def test_healthz_and_readyz_answer_503_naming_the_dead_task() -> None:
    settings = CommonSettings(service_name=SERVICE, task_failure_stop_delay_s=0)
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(title="t", settings=settings, engine=engine, routers=[], ready_checks={})
    stops = Stops()
    app.state.tasks.stop_process = stops
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://svc"
    ) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        assert (await http.get("/readyz")).status_code == 200
        await app.state.tasks.start("consumer", crash_after(asyncio.Event(), "unexpected"))
        for path in ("/healthz", "/readyz"):
            r = await http.get(path)
            assert r.status_code == 503
            assert r.headers["content-type"] == "application/problem+json"
            body = r.json()
            assert body["type"].endswith("/background-task-died")
            assert "consumer: RuntimeError: unexpected" in body["detail"]
    await asyncio.wait_for(stops.called.wait(), 1)
    await engine.dispose()
