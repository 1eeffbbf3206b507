"""Connector deliveries in memory: a lead alert queues a job per enabled connector that handles
it, through the real registry; the worker performs it through the real handlers and transaction
runner, keeps the progress across attempts, honours Retry-After, and records nothing late."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from leadloop_connectors.http import PermanentError, RateLimited, TransientError
from leadloop_db.uow import Transactions
from leadloop_events.envelope import EventData, new_event
from leadloop_events.intake import LeadErased
from leadloop_routing.adapters.webhook_sender import RETRY_SCHEDULE
from leadloop_routing.alerts import Outbound
from leadloop_routing.domain.connectors import (
    ConnectorDelivery,
    ConnectorDeliveryNotFound,
    ConnectorResult,
    RedeliverConnectorJob,
)
from leadloop_routing.entrypoints.connector_workers import ConnectorDeliveries
from leadloop_routing.handlers import registry
from leadloop_routing.handlers.connectors import redeliver_connector_job

from ...factories import agreement_published, stage_changed
from .connector_fakes import ASSIGNED, BREACHED, FakeConnector, Step
from .fakes import FakeTransactions
from .support import rep

LEAD = "lead-ACME-DENTAL"


class Harness:
    """Routing in memory with connectors: `alert` a lead, `run` the worker at a time."""

    def __init__(self, *connectors: FakeConnector) -> None:
        self.uow = FakeTransactions()
        self.jobs = self.uow.connectors
        self.transactions = Transactions(lambda: self.uow)
        outbound = Outbound(connectors=connectors)
        self.handlers = registry(outbound=outbound).handlers()
        self.worker = ConnectorDeliveries(self.transactions, connectors, batch=10, timeout_s=5)

    async def send(self, data: EventData) -> None:
        event = new_event(data, subject=getattr(data, "lead_id", "agreement"))
        await self.transactions.run(self.handlers[event.type], event, data)

    async def alert(self, lead_id: str = LEAD) -> None:
        """The agreement in force, a rep on staff, and `lead_id` an SQL."""
        if not self.uow.repo.agreements:
            await self.send(agreement_published())
            await self.uow.repo.save_rep(rep("rep-alice"), datetime.now(UTC))
        await self.send(stage_changed(lead_id))


def crm(*script: Step) -> FakeConnector:
    """A fake HubSpot connector that acts on lead alerts."""
    return FakeConnector("hubspot", (ASSIGNED,), *script)


def later_event(job: ConnectorDelivery, event_id: str) -> ConnectorDelivery:
    """`job` as a later event of the same lead, for the same connector."""
    return dataclasses.replace(
        job, delivery_id=event_id, event_id=event_id, attempts=(), progress={}
    )


async def test_a_lead_alert_queues_one_job_per_connector_that_handles_it() -> None:
    hubspot, slack = crm(), FakeConnector("slack", (BREACHED,))
    h = Harness(hubspot, slack)
    await h.alert()
    [job] = h.jobs.of("hubspot")
    assert (job.event_type, job.lead_id, job.status, job.progress) == (
        ASSIGNED,
        LEAD,
        "pending",
        {},
    )
    [alert] = h.uow.sent(ASSIGNED)
    assert job.payload["data"]["assignment_id"] == alert["assignment_id"]
    assert job.payload["id"] == job.event_id and h.jobs.of("slack") == []


async def test_a_job_carries_what_routing_knew_when_it_was_queued() -> None:
    hubspot = crm()
    h = Harness(hubspot)
    await h.alert()
    [job] = h.jobs.of("hubspot")
    assert job.context["rep"]["rep_id"] == "rep-alice" and "rejection_reasons" in job.context
    assert job.context["lead_name"] and job.context["company"]
    await h.worker.run_once(datetime.now(UTC))
    [(performed, _)] = hubspot.calls
    assert performed.context.rep is not None and performed.context.rep.rep_id == "rep-alice"
    assert performed.context.reasons() == job.context["rejection_reasons"]


async def test_the_worker_performs_a_job_and_records_success() -> None:
    hubspot = crm()
    h = Harness(hubspot)
    await h.alert()
    now = datetime.now(UTC)
    assert await h.worker.run_once(now) == 1
    [job] = h.jobs.of("hubspot")
    assert (job.status, job.finished_at, job.lease_id) == ("succeeded", now, None)
    assert job.progress == {"contact_id": f"contact-{LEAD}"}
    [(performed, _)] = hubspot.calls
    assert performed.attempt == 1 and performed.data["lead_id"] == LEAD
    assert await h.worker.run_once(now + timedelta(hours=1)) == 0


async def test_a_transient_failure_is_retried_from_the_progress_it_left() -> None:
    hubspot = crm(TransientError("HTTP 503"))
    h = Harness(hubspot)
    await h.alert()
    now = datetime.now(UTC)
    await h.worker.run_once(now)
    [job] = h.jobs.of("hubspot")
    assert job.status == "pending" and job.next_attempt_at == now + RETRY_SCHEDULE[0]
    assert job.progress == {"contact_id": f"contact-{LEAD}"}  # kept although perform raised
    assert await h.worker.run_once(now + RETRY_SCHEDULE[0] / 2) == 0
    await h.worker.run_once(now + RETRY_SCHEDULE[0])
    assert [progress for _, progress in hubspot.calls] == [{}, {"contact_id": f"contact-{LEAD}"}]
    assert hubspot.contacts_created == 1 and h.jobs.of("hubspot")[0].status == "succeeded"


async def test_a_rate_limited_job_waits_for_retry_after() -> None:
    h = Harness(crm(RateLimited(42.0)))
    await h.alert()
    now = datetime.now(UTC)
    await h.worker.run_once(now)
    [job] = h.jobs.of("hubspot")
    assert job.next_attempt_at == now + timedelta(seconds=42)
    assert job.attempts[0]["retry_after_s"] == 42.0 and "retry after 42" in job.attempts[0]["error"]


async def test_a_refused_request_fails_for_good_and_a_bug_is_retried() -> None:
    buggy = FakeConnector("slack", (ASSIGNED,), KeyError("x"))
    h = Harness(crm(PermanentError(400, "bad email")), buggy)
    await h.alert()
    now = datetime.now(UTC)
    assert await h.worker.run_once(now) == 2
    [hub], [slack] = h.jobs.of("hubspot"), h.jobs.of("slack")
    assert (hub.status, hub.next_attempt_at) == ("failed", None)
    assert slack.status == "pending" and slack.attempts[0]["error"] == "KeyError: 'x'"


async def test_a_crash_between_perform_and_record_performs_again_from_the_same_progress() -> None:
    hubspot = crm(ConnectorResult.retry("task not yet", progress={"contact_id": "c-7"}))
    h = Harness(hubspot)
    await h.alert()
    now = datetime.now(UTC)
    await h.worker.run_once(now)  # recorded: progress {"contact_id": "c-7"}
    later = now + RETRY_SCHEDULE[0]
    [leased] = await h.worker.lease(later, 10)
    await h.worker.perform(leased, later)  # the process dies here: nothing recorded
    assert await h.worker.run_once(later) == 0  # the lease still holds
    assert await h.worker.run_once(leased.next_attempt_at or later) == 1
    assert [p for _, p in hubspot.calls] == [{}, {"contact_id": "c-7"}, {"contact_id": "c-7"}]
    assert h.jobs.of("hubspot")[0].status == "succeeded"


async def test_a_late_writer_whose_lease_was_taken_records_nothing() -> None:
    h = Harness(crm())
    await h.alert()
    now = datetime.now(UTC)
    [stalled] = await h.worker.lease(now, 10)
    slow = await h.worker.perform(stalled, now)
    after_lease = stalled.next_attempt_at or now
    assert await h.worker.run_once(after_lease) == 1  # another worker took it over
    assert await h.worker.record(slow) is False
    [job] = h.jobs.of("hubspot")
    assert len(job.attempts) == 1 and job.status == "succeeded"


async def test_a_leads_jobs_reach_a_connector_one_at_a_time_in_order() -> None:
    hubspot = crm(TransientError("HTTP 502"))
    h = Harness(hubspot)
    await h.alert()
    await h.alert("lead-GLOBEX")
    first = h.jobs.of("hubspot")[0]
    second = later_event(first, "alert-2")
    await h.jobs.queue(second)
    now = datetime.now(UTC)
    assert await h.worker.run_once(now) == 2  # one per lead: ACME's second waits behind its first
    assert [j.lead_id for j, _ in hubspot.calls] == [LEAD, "lead-GLOBEX"]
    await h.worker.run_once(now + RETRY_SCHEDULE[0])
    await h.worker.run_once(now + RETRY_SCHEDULE[0])
    assert [j.event_id for j, _ in hubspot.calls[2:]] == [first.event_id, "alert-2"]


async def test_redeliver_performs_a_finished_job_again_but_not_a_cancelled_one() -> None:
    hubspot = crm()
    h = Harness(hubspot)
    await h.alert()
    now = datetime.now(UTC)
    await h.worker.run_once(now)
    [job] = h.jobs.of("hubspot")
    command = RedeliverConnectorJob(job.delivery_id, now)
    again = await h.transactions.run(redeliver_connector_job, command)
    assert (again.status, again.next_attempt_at) == ("pending", now)
    await h.worker.run_once(now)
    assert len(hubspot.calls) == 2 and hubspot.calls[1][1] == {"contact_id": f"contact-{LEAD}"}
    await h.send(LeadErased(lead_id=LEAD, erased_at=now))  # the handler cancels its jobs
    with pytest.raises(ConnectorDeliveryNotFound):
        command = RedeliverConnectorJob(job.delivery_id, now)
        await h.transactions.run(redeliver_connector_job, command)
