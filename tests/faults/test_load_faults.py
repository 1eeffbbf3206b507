"""The loop under a steady load of form fills and hand-raises (20 leads/s by default,
LEADLOOP_FAULT_RATE) while its parts fail: each service killed with SIGKILL mid-stream and
restarted (routing twice, each time while a webhook or an email is in its hands), the broker
frozen for 10 s, PostgreSQL down for 5 s. Afterwards every lead, SQL, assignment, alert and
report figure is counted (see ledger.py for what and why); `-s` prints the counts."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_cli.infra import EmbeddedBroker, EmbeddedPostgres
from leadloop_cli.kafka import ApacheKafka

from ..processes import ServiceProcess
from ..receivers import SmtpReceiver, WebhookReceiver
from ..waiting import grows, wait_for
from .conftest import Stack
from .ledger import Run, check_everything, drain
from .load import LoadGenerator, env_rate
from .reading import scalar

pytestmark = pytest.mark.both_brokers

RATE = env_rate(20.0)  # leads per second
WARM_UP_ASSIGNMENTS = 20
PROGRESS_ASSIGNMENTS = 10


@pytest.fixture
def run(
    stack: Stack,
    engine: AsyncEngine,
    webhook_receiver: WebhookReceiver,
    smtp_receiver: SmtpReceiver,
    bootstrap_servers: str,
    topic_prefix: str,
) -> Run:
    load = LoadGenerator(stack.http, stack.intake, rate=RATE, run=uuid.uuid4().hex[:6])
    return Run(
        stack, load, engine, webhook_receiver, smtp_receiver, bootstrap_servers, topic_prefix
    )


async def assignments_made(run: Run) -> tuple[int, int]:
    """Assignments routing has made, and those feedback has read."""
    routing = await scalar(run.engine, "SELECT count(*) FROM routing.assignments")
    feedback = await scalar(run.engine, "SELECT count(*) FROM feedback.assignments")
    return int(routing), int(feedback)


async def flowing(run: Run, more: int, what: str) -> None:
    """Wait until `more` new leads went all the way from intake to feedback's read model."""
    routing0, feedback0 = await assignments_made(run)

    async def moved() -> bool:
        routing, feedback = await assignments_made(run)
        return routing >= routing0 + more and feedback >= feedback0 + more

    async def detail() -> str:
        return f"load {run.load.summary()}\n{run.stack.services.logs()}"

    await wait_for(moved, timeout_s=120, what=what, detail=detail)


async def under_load(
    run: Run, faults: Callable[[Run], Awaitable[None]], *, max_resends: int
) -> dict[str, Any]:
    """Start the load, let the loop warm up, inject the faults, stop, drain and count."""
    phases: dict[str, float] = {}
    clock = time.monotonic()

    def lap(phase: str) -> None:
        nonlocal clock
        phases[phase] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()

    run.load.start()
    try:
        await flowing(run, WARM_UP_ASSIGNMENTS, "the loop to carry the first leads")
        lap("warm_up")
        await faults(run)
        lap("faults")
        await flowing(run, PROGRESS_ASSIGNMENTS, "new leads to flow after the last fault")
        lap("recovered")
    finally:
        await run.load.stop()
    await drain(run)
    lap("drain")
    counted = await check_everything(run, max_resends=max_resends)
    lap("check")
    run.notes["phases_s"] = phases
    # Shown with -s: what was counted.
    print(json.dumps({**counted, **run.notes}))
    return counted


@pytest.mark.timeout(420)
async def test_each_service_killed_and_restarted_mid_stream(run: Run) -> None:
    async def down_and_up(service: ServiceProcess) -> None:
        if service.name == "intake":
            # Down for as long as it takes the load to knock on the closed door 5 times.
            await grows(run.load.refused, 5, what="form fills refused while intake is down")
        else:
            # Down while intake accepts 15 more leads: a backlog for the restart to take.
            await grows(
                lambda: len(run.load.accepted()), 15, what=f"a backlog while {service.name} is down"
            )
        await service.restart()
        await flowing(
            run, PROGRESS_ASSIGNMENTS, f"leads to flow again after {service.name} restarted"
        )

    async def kill_each(run: Run) -> None:
        for name in ("intake", "scoring", "routing", "feedback"):
            service = run.stack.services[name]
            if name != "routing":
                service.kill9()
                await down_and_up(service)
                continue
            # Routing dies twice, each time inside its send window: the receiver has the
            # webhook (then the email) and routing is killed before it hears the answer.
            for receiver in (run.webhooks, run.smtp):
                receiver.on_next = service.kill9

                async def dead(service: ServiceProcess = service) -> bool:
                    return not service.alive()

                await wait_for(dead, timeout_s=60, what="routing killed mid-delivery")
                await down_and_up(service)
        run.notes["refused_while_intake_down"] = run.load.refused()
        run.notes["ready_s"] = {s.name: s.ready_s for s in run.stack.services}

    # Each kill inside the send window re-sends that one message, under the same webhook-id or
    # Message-ID; the other kill may catch one more in flight.
    counted = await under_load(run, kill_each, max_resends=2)
    assert counted["webhook_resends"] >= 1, "the webhook routing died sending was never re-sent"
    assert counted["email_resends"] >= 1, "the email routing died sending was never re-sent"


@pytest.mark.timeout(300)
async def test_broker_paused_for_ten_seconds(
    own_broker: EmbeddedBroker | ApacheKafka, run: Run
) -> None:
    async def pause(run: Run) -> None:
        own_broker.pause()
        try:
            # Frozen while intake takes 10 s worth of form fills: the outbox keeps them, so
            # marketing's side never notices the broker is away.
            await grows(
                lambda: len(run.load.accepted()),
                int(RATE * 10),
                what="form fills accepted while the broker is frozen",
            )
        finally:
            own_broker.resume()

    # Nothing of routing's delivery path touches the broker: no alert may go out twice.
    await under_load(run, pause, max_resends=0)


@pytest.mark.timeout(300)
async def test_postgres_restarted(embedded_postgres: EmbeddedPostgres, run: Run) -> None:
    async def restart(run: Run) -> None:
        refused = run.load.refused()
        await asyncio.to_thread(embedded_postgres.stop)
        try:
            # Down until intake has refused (503) as many tries as 5 s of form fills would make:
            # new leads and the retries of the waiting ones, a backlog for the restart to take.
            await grows(
                run.load.refused, int(RATE * 5), what="form fills refused while Postgres is down"
            )
        finally:
            await asyncio.to_thread(embedded_postgres.start)
        run.notes["refused_while_postgres_down"] = run.load.refused() - refused

    # Routing may lose the database between a send and its record: that one goes out again.
    await under_load(run, restart, max_resends=1)
