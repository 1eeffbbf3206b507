"""`leadloop dev` as a user runs it: a service killed with kill -9 under load is restarted and
nothing is lost or alerted twice; a stack stopped with events in flight and started again
loses none of them; a second stack in the same data dir refuses to start and leaves the first
one's PostgreSQL alone."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ..factories import ALWAYS
from ..faults.conftest import REPS, Stack
from ..faults.ledger import Run, check_everything, drain
from ..faults.load import LoadGenerator
from ..faults.reading import db_engine, scalar
from ..receivers import SmtpReceiver, WebhookReceiver
from ..waiting import grows, wait_for
from .devstack import DEV_KEY, DevProcess, dev_env, stopped

pytestmark = pytest.mark.e2e

RATE = 10.0  # leads per second
FLOWING = 10  # assignments that must go through the loop after each restart


@pytest.fixture
def dev(tmp_path: Path, smtp_receiver: SmtpReceiver) -> Iterator[DevProcess]:
    """A `leadloop dev` in its own data dir, sending email to the test's SMTP receiver."""
    env = dev_env(
        {
            "LEADLOOP_SMTP_HOST": "127.0.0.1",
            "LEADLOOP_SMTP_PORT": str(smtp_receiver.port),
            "LEADLOOP_SMTP_STARTTLS": "false",
        }
    )
    process = DevProcess(tmp_path / "data", env, tmp_path / "dev.out")
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        headers={"authorization": f"Bearer {DEV_KEY}"}, timeout=httpx.Timeout(20.0)
    ) as client:
        yield client


async def with_reps(dev: DevProcess, http: httpx.AsyncClient, webhooks: WebhookReceiver) -> None:
    """Reps for the load's teams and a webhook subscription, as the fault tests have them."""
    for rep_id, teams in REPS.items():
        r = await http.put(
            f"{dev.url('routing')}/v1/reps/{rep_id}",
            json={
                "name": rep_id.removeprefix("rep-").title(),
                "email": f"{rep_id}@northwind.example",
                "teams": teams,
                "working_hours": ALWAYS,
            },
        )
        assert r.status_code == 200, r.text
    r = await http.post(
        f"{dev.url('routing')}/v1/webhook-subscriptions",
        json={"url": webhooks.url, "description": "CRM bridge"},
    )
    assert r.status_code == 201, r.text
    webhooks.secret = r.json()["secret"]


async def flowing(engine: AsyncEngine, more: int, what: str) -> None:
    """Wait until `more` new assignments reached feedback's read model."""
    before = int(await scalar(engine, "SELECT count(*) FROM feedback.assignments"))

    async def moved() -> bool:
        now = int(await scalar(engine, "SELECT count(*) FROM feedback.assignments"))
        return now >= before + more

    await wait_for(moved, timeout_s=120, what=what)


@contextlib.asynccontextmanager
async def loaded(
    dev: DevProcess,
    http: httpx.AsyncClient,
    webhook_receiver: WebhookReceiver,
    smtp_receiver: SmtpReceiver,
) -> AsyncIterator[tuple[Run, LoadGenerator, AsyncEngine]]:
    """The dev stack up with reps, and leads arriving at RATE until the block's load stops."""
    await dev.up()
    await with_reps(dev, http, webhook_receiver)
    engine = db_engine(dev.database_url)
    try:
        stack = Stack(dev.services(), http)
        load = LoadGenerator(http, dev.url("intake"), rate=RATE, run=uuid.uuid4().hex[:6])
        run = Run(stack, load, engine, webhook_receiver, smtp_receiver, dev.bootstrap_servers, "")
        load.start()
        try:
            yield run, load, engine
        finally:
            await load.stop()
    finally:
        await engine.dispose()


@pytest.mark.timeout(600)
async def test_each_service_killed_is_restarted_and_nothing_is_lost(
    dev: DevProcess,
    http: httpx.AsyncClient,
    webhook_receiver: WebhookReceiver,
    smtp_receiver: SmtpReceiver,
) -> None:
    async with loaded(dev, http, webhook_receiver, smtp_receiver) as (run, load, engine):
        await flowing(engine, FLOWING, "the loop to carry the first leads")
        for name in ("intake", "scoring", "routing", "feedback"):
            await dev.kill9_and_wait_restart(name)
            await flowing(engine, FLOWING, f"leads to flow again after {name} restarted")
        await load.stop()
        await drain(run)
        # A kill may land in routing's send window: that one alert goes out again, same id.
        await check_everything(run, max_resends=1)
    out = dev.output()
    for name in ("intake", "scoring", "routing", "feedback"):
        assert f"{name} exited with code -9; restarting it in 1 s" in out, out[-3000:]
    assert dev.alive()


@pytest.mark.timeout(600)
async def test_a_stack_restart_loses_no_event_in_flight_and_alerts_nothing_twice(
    dev: DevProcess,
    http: httpx.AsyncClient,
    webhook_receiver: WebhookReceiver,
    smtp_receiver: SmtpReceiver,
) -> None:
    async with loaded(dev, http, webhook_receiver, smtp_receiver) as (run, load, engine):
        await flowing(engine, FLOWING, "the loop to carry the first leads")
        # Scoring frozen: what intake publishes from now on is on the broker, read by no one.
        scoring_pid = dev.service_pid("scoring")
        assert scoring_pid is not None
        scoring = psutil.Process(scoring_pid)
        scoring.suspend()
        await grows(lambda: len(load.accepted()), 20, what="leads while scoring is frozen")
        await load.stop()

        async def intake_published() -> bool:
            unsent = "SELECT count(*) FROM intake.outbox WHERE sent_at IS NULL"
            return int(await scalar(engine, unsent)) == 0

        await wait_for(intake_published, timeout_s=60, what="intake to publish every event")
        scoring.kill()  # it never reads them; the stack stops with them only on the broker
        assert await stopped(dev) == 0, dev.output()[-3000:]
        await dev.start().up(times=2)
        await drain(run)
        await check_everything(run, max_resends=0)
    assert "events from the outboxes queued again" in dev.output()


@pytest.mark.timeout(400)
async def test_a_second_stack_in_the_same_data_dir_refuses_and_leaves_the_first_alone(
    dev: DevProcess, tmp_path: Path
) -> None:
    await dev.up()
    second = DevProcess(dev.data_dir, dev_env(), tmp_path / "second.out").start()
    code = second.exit_code()
    assert code == 1, second.output()
    lines = second.output().strip().splitlines()
    pid = dev.proc.pid if dev.proc is not None else None
    expected = f"a dev stack is already running in this clone (pid {pid}); stop it first"
    assert lines == [expected], second.output()
    engine = db_engine(dev.database_url)
    try:
        assert await scalar(engine, "SELECT 1") == 1  # the first one's PostgreSQL still answers
    finally:
        await engine.dispose()
    assert dev.alive() and await dev.ready("intake")
