"""Connector deliveries on the real broker and Postgres: a lead alert queues one job per enabled
connector (once, however often the event is consumed), the worker performs it, a 429 waits for
its Retry-After, a transient failure retries from the recorded progress, a crash between perform
and record performs again from the same progress, and an admin redelivers through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from leadloop_connectors.http import RateLimited, TransientError
from leadloop_events import topics
from leadloop_events.envelope import CloudEvent, new_event
from leadloop_events.intake import LeadErased
from leadloop_platform.settings import CommonSettings
from leadloop_routing.adapters.tables import connector_deliveries
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.adapters.webhook_sender import RETRY_SCHEDULE
from leadloop_routing.alerts import Outbound
from leadloop_routing.bootstrap import create_app
from leadloop_routing.config import Settings
from leadloop_routing.domain.connectors import ConnectorResult, JobContext
from leadloop_routing.entrypoints.connector_workers import ConnectorDeliveries

from ...factories import ALWAYS, agreement_published, stage_changed
from ...unit.routing.connector_fakes import ASSIGNED, FakeConnector
from ...waiting import wait_for
from ..messaging.support import produce
from .conftest import KEY


@dataclass
class Connected:
    """Routing with a fake HubSpot and a fake Slack connector enabled."""

    app: FastAPI
    http: httpx.AsyncClient
    hubspot: FakeConnector
    slack: FakeConnector
    settings: CommonSettings

    @property
    def worker(self) -> ConnectorDeliveries:
        worker: ConnectorDeliveries = self.app.state.connectors
        return worker

    async def alert(self, lead_id: str, twice: bool = False) -> None:
        """`lead_id` becomes an SQL (its event sent twice: consumed twice)."""
        event = new_event(stage_changed(lead_id), subject=lead_id)
        records = [(lead_id.encode(), event.to_bytes())] * (2 if twice else 1)
        await produce(
            self.settings.kafka_bootstrap_servers, self.settings.topic(topics.LIFECYCLE), records
        )

    async def jobs(self, **filters: str) -> list[dict[str, Any]]:
        """The connector delivery log through the API."""
        r = await self.http.get("/v1/connector-deliveries", params=filters)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def queued(self, lead_id: str, count: int) -> list[dict[str, Any]]:
        """Wait until `lead_id` has `count` jobs; them."""
        found: list[dict[str, Any]] = []

        async def there() -> bool:
            found[:] = await self.jobs(lead_id=lead_id)
            return len(found) >= count

        await wait_for(there, what=f"{count} connector jobs for {lead_id}")
        return found


Start = Callable[..., Awaitable[Connected]]


async def rows_of(uow: SqlUnitOfWork, lead_id: str) -> list[Any]:
    """The lead's connector delivery rows as stored."""
    d = connector_deliveries
    return list(await uow.conn.execute(sa.select(d).where(d.c.lead_id == lead_id)))


@pytest.fixture
async def start(settings: CommonSettings) -> AsyncIterator[Start]:
    async with AsyncExitStack() as stack:

        async def started(
            hubspot: FakeConnector, slack: FakeConnector, interval_s: float = 3600.0
        ) -> Connected:
            shared = settings.model_dump(
                exclude={"service_name", "bootstrap_api_key", "log_json", "outbox_poll_interval_s"}
            )
            routing = Settings(
                **shared,
                bootstrap_api_key=KEY,
                log_json=False,
                outbox_poll_interval_s=0.2,
                consumer_group="routing-test",
                sla_interval_s=3600,
                connector_interval_s=interval_s,
                hubspot_access_token="pat-na1-4f2c9e1a-7b3d-4e8f-a1c5-2d6b9e0f3a7c",
                reps_sync_interval_s=0,  # no owner sync: its CRM would be api.hubapi.com
                slack_bot_token="xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx",
            )
            registry = {"hubspot": lambda _: hubspot, "slack": lambda _: slack}
            app = create_app(routing, connectors=registry)
            await produce(
                settings.kafka_bootstrap_servers,
                settings.topic(topics.LIFECYCLE),
                [(b"agreement", new_event(agreement_published(), subject="agreement").to_bytes())],
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://routing",
                    headers={"authorization": f"Bearer {KEY}"},
                )
            )
            rep = {
                "name": "Alice",
                "email": "rep-alice@northwind.example",
                "teams": ["dach"],
                "working_hours": ALWAYS,
            }
            assert (await http.put("/v1/reps/rep-alice", json=rep)).status_code == 200
            return Connected(app, http, hubspot, slack, settings)

        yield started


def hubspot(*script: Any) -> FakeConnector:
    return FakeConnector("hubspot", (ASSIGNED,), *script)


def slack(*script: Any) -> FakeConnector:
    return FakeConnector("slack", (ASSIGNED,), *script)


async def test_an_alert_queues_one_job_per_connector_once_and_the_worker_performs_it(
    start: Start,
) -> None:
    routing = await start(hubspot(), slack(), interval_s=0.2)
    await routing.alert("lead-ACME-DENTAL", twice=True)  # consumed twice: queued once

    async def performed() -> bool:
        jobs = await routing.jobs(lead_id="lead-ACME-DENTAL")
        return len(jobs) == 2 and all(j["status"] == "succeeded" for j in jobs)

    await wait_for(performed, what="both connector jobs performed")
    jobs = await routing.jobs(lead_id="lead-ACME-DENTAL")
    assert sorted(j["connector"] for j in jobs) == ["hubspot", "slack"]
    assert {j["event_type"] for j in jobs} == {ASSIGNED} and len({j["event_id"] for j in jobs}) == 1
    for fake in (routing.hubspot, routing.slack):
        [(job, progress)] = fake.calls
        assert job.data["lead_id"] == "lead-ACME-DENTAL" and job.data["owner_rep_id"] == "rep-alice"
        assert progress == {} and job.event_id == jobs[0]["event_id"]
    assert jobs[0]["progress"] == {"contact_id": "contact-lead-ACME-DENTAL"}
    [only] = await routing.jobs(connector="slack", status="succeeded")
    assert only["lead_id"] == "lead-ACME-DENTAL"


async def test_the_same_event_queued_again_is_one_job_per_connector(start: Start) -> None:
    routing = await start(hubspot(), slack())
    alert = new_event(stage_changed("lead-HOOLI"), subject="lead-HOOLI")
    outbound = Outbound(
        connectors=tuple(FakeConnector(n, (alert.type,)) for n in ("hubspot", "slack"))
    )
    now = datetime.now(UTC)

    context = JobContext(slack_channel="C0123456789", lead_name="Hooli")

    async def queue(uow: SqlUnitOfWork, event: CloudEvent) -> None:
        await outbound.queue_connector_jobs(uow, event, "lead-HOOLI", now, context)

    for _ in range(2):
        await routing.app.state.transactions.run(queue, alert)
    jobs = await routing.jobs(lead_id="lead-HOOLI")
    assert sorted(j["connector"] for j in jobs) == ["hubspot", "slack"]
    # A later event of the lead waits behind the first at each connector: one lease per line.
    later = new_event(stage_changed("lead-HOOLI"), subject="lead-HOOLI")
    await routing.app.state.transactions.run(queue, later)
    leased = await routing.worker.lease(now, 10)
    assert sorted((d.connector, d.event_id) for d in leased) == [
        ("hubspot", alert.id),
        ("slack", alert.id),
    ]
    assert all(d.job().context == context for d in leased)  # stored with the row, read back
    assert await routing.worker.lease(now, 10) == []  # not while the first is in flight


async def test_a_rate_limited_job_is_performed_again_after_retry_after(start: Start) -> None:
    routing = await start(hubspot(RateLimited(1.0)), slack(), interval_s=0.2)
    await routing.alert("lead-GLOBEX")

    async def succeeded() -> bool:
        return [j["status"] for j in await routing.jobs(connector="hubspot")] == ["succeeded"]

    await wait_for(succeeded, what="the rate-limited job performed again")
    [job] = await routing.jobs(connector="hubspot")
    first, second = job["attempts"]
    assert (first["outcome"], first["retry_after_s"], second["outcome"]) == ("retry", 1.0, "ok")
    waited = datetime.fromisoformat(second["at"]) - datetime.fromisoformat(first["at"])
    assert waited >= timedelta(seconds=1)


async def test_a_transient_failure_is_retried_on_the_schedule_from_its_progress(
    start: Start,
) -> None:
    routing = await start(hubspot(TransientError("HTTP 503")), slack())
    await routing.alert("lead-INITECH")
    await routing.queued("lead-INITECH", 2)
    now = datetime.now(UTC)
    assert await routing.worker.run_once(now) == 2
    [job] = await routing.jobs(connector="hubspot")
    assert job["status"] == "pending" and job["attempts"][0]["error"] == "TransientError: HTTP 503"
    assert datetime.fromisoformat(job["next_attempt_at"]) == now + RETRY_SCHEDULE[0]
    assert await routing.worker.run_once(now + RETRY_SCHEDULE[0] / 2) == 0
    assert await routing.worker.run_once(now + RETRY_SCHEDULE[0]) == 1
    progress = [p for _, p in routing.hubspot.calls]
    assert progress == [{}, {"contact_id": "contact-lead-INITECH"}]
    assert routing.hubspot.contacts_created == 1
    assert [j["status"] for j in await routing.jobs(connector="hubspot")] == ["succeeded"]


async def test_a_crash_between_perform_and_record_performs_again_from_the_same_progress(
    start: Start,
) -> None:
    partly = ConnectorResult.retry("task not created yet", progress={"contact_id": "c-7"})
    routing = await start(hubspot(partly), slack())
    await routing.alert("lead-UMBRELLA")
    await routing.queued("lead-UMBRELLA", 2)
    now = datetime.now(UTC)
    await routing.worker.run_once(now)  # recorded: {"contact_id": "c-7"}, retry in 5 s
    later = now + RETRY_SCHEDULE[0]
    [leased] = await routing.worker.lease(later, 10)
    stalled = await routing.worker.perform(leased, later)  # the process dies: nothing recorded
    assert await routing.worker.lease(later, 10) == []  # its lease holds
    assert leased.next_attempt_at is not None
    [taken_over] = await routing.worker.lease(leased.next_attempt_at, 10)
    performed = await routing.worker.perform(taken_over, leased.next_attempt_at)
    assert await routing.worker.record(stalled) is False  # the late writer records nothing
    assert await routing.worker.record(performed) is True
    again = {"contact_id": "c-7"}
    assert [p for _, p in routing.hubspot.calls] == [{}, again, again]
    [job] = await routing.jobs(connector="hubspot")
    assert job["status"] == "succeeded" and len(job["attempts"]) == 2


async def test_an_admin_redelivers_a_job_and_unknown_ids_are_404_problems(start: Start) -> None:
    routing = await start(hubspot(), slack())
    await routing.alert("lead-STARK")
    await routing.queued("lead-STARK", 2)
    await routing.worker.run_once(datetime.now(UTC))
    [job] = await routing.jobs(connector="hubspot")
    assert job["status"] == "succeeded"
    r = await routing.http.post(f"/v1/connector-deliveries/{job['delivery_id']}/redeliver")
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text

    async def performed_again() -> bool:
        await routing.worker.run_once(datetime.now(UTC))
        return len(routing.hubspot.calls) == 2

    await wait_for(performed_again, what="the redelivered job performed")
    assert routing.hubspot.calls[1][1] == {"contact_id": "contact-lead-STARK"}
    missing = await routing.http.post("/v1/connector-deliveries/nope/redeliver")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_the_log_pages_with_a_cursor_and_refuses_a_foreign_one(start: Start) -> None:
    routing = await start(hubspot(), slack())
    await routing.alert("lead-WAYNE")
    await routing.queued("lead-WAYNE", 2)
    r = await routing.http.get("/v1/connector-deliveries", params={"limit": 1})
    first = r.json()
    assert len(first["items"]) == 1 and r.headers["link"] == f'<{first["next"]}>; rel="next"'
    second = (await routing.http.get(first["next"])).json()
    assert second["next"] is None and len(second["items"]) == 1
    assert first["items"][0]["delivery_id"] != second["items"][0]["delivery_id"]
    bad = await routing.http.get("/v1/connector-deliveries", params={"cursor": "bm9wZQ"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/query/cursor"


async def test_an_erased_lead_leaves_no_job_to_perform(start: Start) -> None:
    routing = await start(hubspot(), slack())
    await routing.alert("lead-ERASED")
    [job, _] = await routing.queued("lead-ERASED", 2)
    before = await routing.app.state.transactions.run(rows_of, "lead-ERASED")
    erased = LeadErased(lead_id="lead-ERASED", erased_at=datetime.now(UTC))
    await produce(
        routing.settings.kafka_bootstrap_servers,
        routing.settings.topic(topics.INTAKE),
        [(b"lead-ERASED", new_event(erased, subject="lead-ERASED").to_bytes())],
    )

    async def cancelled() -> bool:
        jobs = await routing.jobs(lead_id="lead-ERASED")
        return all(j["status"] == "cancelled" for j in jobs)

    assert all(row.context["rep"]["rep_id"] == "rep-alice" for row in before)
    await wait_for(cancelled, what="the erased lead's connector jobs cancelled")
    after = await routing.app.state.transactions.run(rows_of, "lead-ERASED")
    assert [(r.payload, r.progress, r.context) for r in after] == [({}, {}, {})] * 2
    assert await routing.worker.run_once(datetime.now(UTC)) == 0
    redeliver = await routing.http.post(f"/v1/connector-deliveries/{job['delivery_id']}/redeliver")
    assert redeliver.status_code == 404 and routing.hubspot.calls == []
