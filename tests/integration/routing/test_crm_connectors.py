"""The lead alert in the CRMs, on the real broker and Postgres, with routing's real HubSpot and
Salesforce connectors calling the fake HubSpot and the fake Salesforce org: the owner, statuses
and one task per alert; a job that dies between steps or after the task still makes one task;
a 429 waits for its Retry-After; an SLA reassignment moves the owner."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from leadloop_connectors.http import TransientError
from leadloop_connectors.hubspot import TASK_TO_CONTACT
from leadloop_contract.agreement import EXAMPLE_FILE, Agreement, load_agreement
from leadloop_contract.agreement.crm import CrmMapping, HubSpotMapping, SalesforceMapping
from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_platform.settings import CommonSettings
from leadloop_routing.adapters.hubspot_actions import HubSpotActions
from leadloop_routing.adapters.webhook_sender import RETRY_SCHEDULE
from leadloop_routing.entrypoints.connector_workers import ConnectorDeliveries
from leadloop_routing.entrypoints.workers import SlaTimers

from ...factories import ALWAYS, agreement_published, stage_changed
from ...vendors.hubspot import FakeHubSpot, serve_hubspot
from ...vendors.salesforce import FakeSalesforce, serve_salesforce
from ...waiting import wait_for
from ..messaging.support import produce, read_all
from .conftest import KEY, build


@dataclass
class Crms:
    """Routing with both CRM connectors, the two fakes, and the reps' CRM ids."""

    app: FastAPI
    http: httpx.AsyncClient
    hubspot: FakeHubSpot
    salesforce: FakeSalesforce
    settings: CommonSettings
    owners: dict[str, dict[str, str]]

    @property
    def worker(self) -> ConnectorDeliveries:
        worker: ConnectorDeliveries = self.app.state.connectors
        return worker

    async def alert(self, lead_id: str) -> None:
        """`lead_id` becomes an SQL."""
        event = new_event(stage_changed(lead_id), subject=lead_id)
        await produce(
            self.settings.kafka_bootstrap_servers,
            self.settings.topic(topics.LIFECYCLE),
            [(lead_id.encode(), event.to_bytes())],
        )

    async def jobs(self, **filters: str) -> list[dict[str, Any]]:
        """The connector delivery log through the API, oldest first."""
        r = await self.http.get("/v1/connector-deliveries", params=filters)
        assert r.status_code == 200, r.text
        return list(reversed(r.json()["items"]))

    async def settled(self, lead_id: str, count: int) -> list[dict[str, Any]]:
        """Wait until `lead_id` has `count` jobs, none pending; them."""
        found: list[dict[str, Any]] = []

        async def done() -> bool:
            found[:] = await self.jobs(lead_id=lead_id)
            return len(found) == count and all(j["status"] != "pending" for j in found)

        async def detail() -> str:
            return repr(await self.jobs(lead_id=lead_id))

        await wait_for(done, timeout_s=30, what=f"{count} settled jobs", detail=detail)
        return found

    async def handoff(self, kind: str, expect: int) -> list[dict[str, Any]]:
        """The data of the `kind` events among the first `expect` on leads.handoff."""
        records = await read_all(
            self.settings.kafka_bootstrap_servers,
            self.settings.topic(topics.HANDOFF),
            expect=expect,
            timeout_s=30,
        )
        events = [json.loads(r.value or b"{}") for r in records]
        return [e["data"] for e in events if e["type"] == f"leadloop.{kind}.v1"]

    async def assignment(self, lead_id: str) -> dict[str, Any]:
        """The lead's current assignment, once there is one."""

        async def there() -> bool:
            return (await self.http.get(f"/v1/leads/{lead_id}/assignment")).status_code == 200

        await wait_for(there, timeout_s=30, what=f"an assignment for {lead_id}")
        current: dict[str, Any] = (await self.http.get(f"/v1/leads/{lead_id}/assignment")).json()[
            "current"
        ]
        return current


Start = Callable[..., Awaitable[Crms]]


@pytest.fixture
async def start(settings: CommonSettings) -> AsyncIterator[Start]:
    async with AsyncExitStack() as stack:

        async def started(
            interval_s: float = 3600.0, agreement: Agreement | None = None, **extra: Any
        ) -> Crms:
            hubspot, stop_hubspot = await serve_hubspot()
            stack.push_async_callback(stop_hubspot)
            salesforce, stop_salesforce = await serve_salesforce()
            stack.push_async_callback(stop_salesforce)
            app = build(
                settings,
                hubspot_access_token=hubspot.token,
                hubspot_api_url=hubspot.url,
                salesforce_instance_url=salesforce.base_url,
                salesforce_client_id=salesforce.client_id,
                salesforce_client_secret=salesforce.client_secret,
                connector_interval_s=interval_s,
                reps_sync_interval_s=0,
                dashboard_url="https://leadloop.example/dashboard",
                **extra,
            )
            await produce(
                settings.kafka_bootstrap_servers,
                settings.topic(topics.LIFECYCLE),
                [
                    (
                        b"agreement",
                        new_event(agreement_published(agreement), subject="agreement").to_bytes(),
                    )
                ],
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://routing",
                    headers={"authorization": f"Bearer {KEY}"},
                )
            )
            owners: dict[str, dict[str, str]] = {}
            for name in ("alice", "bob"):
                email = f"rep-{name}@northwind.example"
                owners[f"rep-{name}"] = {
                    "hubspot": hubspot.add_owner(email, name.title(), "Rep"),
                    "salesforce": salesforce.add_user(f"{name.title()} Rep", email),
                }
                rep = {
                    "name": name.title(),
                    "email": email,
                    "teams": ["dach"],
                    "working_hours": ALWAYS,
                    "manager_email": "head-of-sales@northwind.example",
                    "crm_ids": owners[f"rep-{name}"],
                }
                r = await http.put(f"/v1/reps/rep-{name}", json=rep)
                assert r.status_code == 200, r.text
            return Crms(app, http, hubspot, salesforce, settings, owners)

        yield started


def tasks_on(crms: Crms, contact_id: str) -> list[dict[str, Any]]:
    """The HubSpot tasks associated with the contact (task to contact, type 204)."""
    linked = crms.hubspot.associations.get(("contacts", contact_id, "tasks"), {})
    tasks = crms.hubspot.objects.get("tasks", {})
    assert all(
        crms.hubspot.associations[("tasks", t, "contacts")][contact_id] == TASK_TO_CONTACT
        for t in linked
    )
    return [tasks[t] for t in linked]


async def test_a_lead_alert_sets_the_owner_and_one_task_in_both_crms(start: Start) -> None:
    crms = await start(interval_s=0.2)
    await crms.alert("lead-ACME-DENTAL")
    current = await crms.assignment("lead-ACME-DENTAL")
    jobs = await crms.settled("lead-ACME-DENTAL", 2)
    assert [j["status"] for j in jobs] == ["succeeded", "succeeded"], jobs
    owner = crms.owners[current["rep_id"]]
    deadline = datetime.fromisoformat(current["sla_deadline"])
    # HubSpot: the contact created by email, owned by the rep, SQL, with the one task.
    [contact] = crms.hubspot.records("contacts")
    props = contact["properties"]
    assert (props["email"], props["firstname"], props["company"]) == (
        "ana@acme-dental.com",
        "Ana",
        "ACME Dental",
    )
    assert props["hubspot_owner_id"] == owner["hubspot"]
    assert (props["hs_lead_status"], props["lifecyclestage"]) == ("NEW", "salesqualifiedlead")
    [task] = tasks_on(crms, contact["id"])
    t = task["properties"]
    assert (
        t["hubspot_owner_id"] == owner["hubspot"] and t["leadloop_alert_id"] == jobs[0]["event_id"]
    )
    assert datetime.fromisoformat(t["hs_timestamp"].replace("Z", "+00:00")) == deadline
    assert t["hs_task_subject"] == "Follow up: Ana Lopez (ACME Dental) — grade A, SQL"
    assert (
        "Journey: https://leadloop.example/v1/leads/lead-ACME-DENTAL/journey" in t["hs_task_body"]
    )
    assert len(crms.hubspot.records("tasks")) == 1
    # Salesforce: the Lead by its leadloop id, owned by the rep, and its one Task.
    [lead] = crms.salesforce.find("Lead", Leadloop_Id__c="lead-ACME-DENTAL")
    assert (lead["OwnerId"], lead["Status"], lead["LastName"]) == (
        owner["salesforce"],
        "Open - Not Contacted",
        "Lopez",
    )
    [sf_task] = crms.salesforce.find("Task")
    assert (sf_task["WhoId"], sf_task["OwnerId"], sf_task["Priority"]) == (
        lead["Id"],
        owner["salesforce"],
        "High",
    )
    assert sf_task["ActivityDate"] == deadline.astimezone(UTC).date().isoformat()
    assert sf_task["Leadloop_Alert_Id__c"] == jobs[0]["event_id"]
    # What the CRMs taught leadloop about the lead's identity.
    progress = {j["connector"]: j["progress"] for j in jobs}
    assert progress["hubspot"]["external_ids"] == {"hubspot": contact["id"]}
    assert progress["salesforce"]["external_ids"] == {"salesforce": lead["Id"]}
    # ... published for the rest of leadloop as lead.linked, once per system.
    linked = await crms.handoff("lead.linked", expect=3)
    assert sorted((e["system"], e["external_id"]) for e in linked) == [
        ("hubspot", contact["id"]),
        ("salesforce", lead["Id"]),
    ]
    assert {e["lead_id"] for e in linked} == {"lead-ACME-DENTAL"}


class DiesBeforeTheTask(HubSpotActions):
    """The real connector, whose first perform fails after the contact and owner steps."""

    died = False

    async def task(self, *args: Any, **kwargs: Any) -> None:
        if not self.died:
            self.died = True
            raise TransientError("HTTP 502 before the task")
        await super().task(*args, **kwargs)


async def test_a_job_failing_between_steps_continues_from_its_progress(start: Start) -> None:
    crms = await start()
    real: HubSpotActions = crms.worker.connectors["hubspot"]  # type: ignore[assignment]
    dying = DiesBeforeTheTask(real.api_url, real.access_token)
    crms.worker.connectors["hubspot"] = dying
    await crms.alert("lead-INITECH")
    await crms.assignment("lead-INITECH")

    async def queued() -> bool:
        return len(await crms.jobs(lead_id="lead-INITECH")) == 2

    await wait_for(queued, what="two connector jobs")
    now = datetime.now(UTC)
    assert await crms.worker.run_once(now) == 2
    [job] = await crms.jobs(connector="hubspot")
    assert job["status"] == "pending" and set(job["progress"]) >= {"contact_id", "owner_set"}
    assert await crms.worker.run_once(now + RETRY_SCHEDULE[0]) == 1
    [job] = await crms.jobs(connector="hubspot")
    assert job["status"] == "succeeded"
    # The retry continued after the contact and owner steps: neither was done again.
    paths = [(r.method, r.path) for r in crms.hubspot.requests]
    assert paths.count(("POST", "/crm/v3/objects/contacts/search")) == 1
    assert paths.count(("POST", "/crm/v3/objects/contacts")) == 1
    assert len(crms.hubspot.calls_to("PATCH", "/crm/v3/objects/contacts/")) == 1
    assert len(crms.hubspot.records("tasks")) == 1


async def test_a_process_dying_after_the_task_leaves_one_task(start: Start) -> None:
    crms = await start()
    await crms.alert("lead-UMBRELLA")
    await crms.assignment("lead-UMBRELLA")

    async def queued() -> bool:
        return len(await crms.jobs(lead_id="lead-UMBRELLA")) == 2

    await wait_for(queued, what="two connector jobs")
    now = datetime.now(UTC)
    leased = await crms.worker.lease(now, 10)
    for delivery in leased:
        await crms.worker.perform(delivery, now)  # the process dies: nothing recorded
    assert len(crms.hubspot.records("tasks")) == 1 and len(crms.salesforce.find("Task")) == 1
    until = max(d.next_attempt_at for d in leased if d.next_attempt_at)
    assert await crms.worker.run_once(until) == 2  # another replica, after the lease
    assert [j["status"] for j in await crms.jobs(lead_id="lead-UMBRELLA")] == ["succeeded"] * 2
    assert len(crms.hubspot.records("contacts")) == 1 and len(crms.hubspot.records("tasks")) == 1
    assert len(crms.salesforce.find("Lead")) == 1 and len(crms.salesforce.find("Task")) == 1
    # Only the recorded attempt linked the records: one lead.linked per system.
    linked = await crms.handoff("lead.linked", expect=3)
    assert sorted(e["system"] for e in linked) == ["hubspot", "salesforce"]


async def test_a_rate_limited_crm_is_called_again_after_retry_after(start: Start) -> None:
    crms = await start(interval_s=0.2)
    crms.hubspot.rate_limit_next(1, retry_after="1")
    await crms.alert("lead-GLOBEX")
    await crms.settled("lead-GLOBEX", 2)
    [job] = await crms.jobs(connector="hubspot")
    first, second = job["attempts"]
    assert (first["outcome"], first["retry_after_s"], second["outcome"]) == ("retry", 1.0, "ok")
    waited = datetime.fromisoformat(second["at"]) - datetime.fromisoformat(first["at"])
    assert waited >= timedelta(seconds=1) and job["status"] == "succeeded"
    assert len(crms.hubspot.records("tasks")) == 1


async def test_an_sla_reassignment_moves_the_owner_in_both_crms(start: Start) -> None:
    crms = await start(interval_s=0.2)
    await crms.alert("lead-STARK")
    first = await crms.assignment("lead-STARK")
    await crms.settled("lead-STARK", 2)
    timers: SlaTimers = crms.app.state.sla
    moment = datetime.fromisoformat(first["sla_deadline"]) + timedelta(seconds=1)
    for _ in ("warn", "notify_manager", "reassign"):
        assert await timers.run_once(now=moment) == 1
        moment += timedelta(minutes=16)
    after = await crms.assignment("lead-STARK")
    assert after["rep_id"] != first["rep_id"]
    # The reassignment's jobs are due at the SLA's (simulated) time: perform them then.
    assert await crms.worker.run_once(moment) == 2
    jobs = await crms.settled("lead-STARK", 4)
    assert [j["status"] for j in jobs] == ["succeeded"] * 4, jobs
    owner = crms.owners[after["rep_id"]]
    [contact] = crms.hubspot.records("contacts")
    assert contact["properties"]["hubspot_owner_id"] == owner["hubspot"]
    tasks = sorted(tasks_on(crms, contact["id"]), key=lambda t: t["id"])
    assert [t["properties"]["hubspot_owner_id"] for t in tasks] == [
        crms.owners[first["rep_id"]]["hubspot"],
        owner["hubspot"],
    ]
    assert tasks[1]["properties"]["hs_task_subject"].startswith("Follow up (reassigned to you)")
    [lead] = crms.salesforce.find("Lead")
    assert lead["OwnerId"] == owner["salesforce"]
    assert sorted(t["OwnerId"] for t in crms.salesforce.find("Task")) == sorted(
        [crms.owners[first["rep_id"]]["salesforce"], owner["salesforce"]]
    )


async def test_the_agreements_crm_mapping_wins_and_the_settings_fill_the_rest(
    start: Start,
) -> None:
    example = load_agreement(EXAMPLE_FILE.read_text())
    mapping = CrmMapping(
        hubspot=HubSpotMapping(lifecycle_stage="opportunity"),
        salesforce=SalesforceMapping(lead_status="Working - Contacted"),
    )
    agreement = example.model_copy(update={"crm": mapping, "version": "2026-11-crm"})
    crms = await start(interval_s=0.2, agreement=agreement, hubspot_lead_status="IN_PROGRESS")
    await crms.alert("lead-ACME-DENTAL")
    jobs = await crms.settled("lead-ACME-DENTAL", 2)
    assert [j["status"] for j in jobs] == ["succeeded", "succeeded"], jobs
    [contact] = crms.hubspot.records("contacts")
    props = contact["properties"]
    assert (props["hs_lead_status"], props["lifecyclestage"]) == ("IN_PROGRESS", "opportunity")
    [lead] = crms.salesforce.find("Lead", Leadloop_Id__c="lead-ACME-DENTAL")
    assert lead["Status"] == "Working - Contacted"
