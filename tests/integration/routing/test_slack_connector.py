"""The Slack connector in routing on the real broker and Postgres, against the fake Slack: a
lead alert is one DM to the rep (Accept, Reject (reason)) and one message in the team's
channel; a redelivery or a lost progress posts nothing twice; a 429 waits for its Retry-After;
a rep Slack does not know leaves the channel message; the SLA ladder warns the rep and the
manager."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from leadloop_connectors.slack import ACCEPT_ACTION, REJECT_ACTION
from leadloop_contract.agreement import EXAMPLE_FILE, Agreement, load_agreement
from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_platform.http.paging import PageRequest
from leadloop_platform.settings import CommonSettings
from leadloop_routing.bootstrap import create_app
from leadloop_routing.config import Settings
from leadloop_routing.domain.connectors import ConnectorDelivery
from leadloop_routing.entrypoints.connector_workers import ConnectorDeliveries
from leadloop_routing.entrypoints.workers import SlaTimers
from leadloop_routing.handlers.connectors import list_connector_deliveries

from ...factories import ALWAYS, agreement_published, stage_changed
from ...vendors.slack import BOT_TOKEN, FakeSlack, serve_slack
from ...waiting import wait_for
from ..messaging.support import produce
from .conftest import KEY

ALICE = "rep-alice@northwind.example"
MANAGER = "head-of-sales@northwind.example"


@dataclass
class Wired:
    """Routing with the Slack connector pointed at the fake Slack."""

    app: FastAPI
    http: httpx.AsyncClient
    slack: FakeSlack
    channel: str
    settings: CommonSettings

    async def alert(self, lead_id: str) -> None:
        """`lead_id` becomes an SQL (dach: rep-alice is its only rep)."""
        event = new_event(stage_changed(lead_id), subject=lead_id)
        await produce(
            self.settings.kafka_bootstrap_servers,
            self.settings.topic(topics.LIFECYCLE),
            [(lead_id.encode(), event.to_bytes())],
        )

    async def jobs(self, lead_id: str) -> list[dict[str, Any]]:
        """The lead's slack jobs in the delivery log, oldest first."""
        r = await self.http.get(
            "/v1/connector-deliveries", params={"connector": "slack", "lead_id": lead_id}
        )
        assert r.status_code == 200, r.text
        return list(reversed(r.json()["items"]))

    async def done(self, lead_id: str, count: int) -> list[dict[str, Any]]:
        """Wait until the lead has `count` slack jobs, all succeeded; them."""
        found: list[dict[str, Any]] = []

        async def succeeded() -> bool:
            found[:] = await self.jobs(lead_id)
            return len(found) == count and all(j["status"] == "succeeded" for j in found)

        async def detail() -> str:
            return repr([(j["event_type"], j["status"], j["attempts"]) for j in found])

        await wait_for(succeeded, what=f"{count} slack jobs of {lead_id} performed", detail=detail)
        return found

    def dm(self, email: str) -> list[dict[str, Any]]:
        """The messages in the bot's DM with the member `email`."""
        user = self.slack.users[email]["id"]
        return self.slack.channels[self.slack.dms[user]] if user in self.slack.dms else []


Start = Callable[..., Awaitable[Wired]]


def with_channel(channel: str) -> Agreement:
    """The example agreement, its dach team posting to `channel`: a version of its own (a
    published version's document never changes, and services parse each version once)."""
    document = load_agreement(EXAMPLE_FILE.read_text()).model_dump(mode="json")
    document["version"] = f"{document['version']}-{channel}"
    for team in document["routing"]["teams"]:
        if team["name"] == "dach":
            team["slack_channel"] = channel
    return Agreement.model_validate(document)


@pytest.fixture
async def start(settings: CommonSettings) -> AsyncIterator[Start]:
    async with AsyncExitStack() as stack:
        slack, stop = await serve_slack()
        stack.push_async_callback(stop)

        async def started(*, rep_in_slack: bool = True) -> Wired:
            channel = slack.add_channel()
            for email, name in ((ALICE, "Alice"), (MANAGER, "Head of Sales")):
                if email != ALICE or rep_in_slack:
                    slack.add_user(email, name)
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
                connector_interval_s=0.2,
                slack_bot_token=BOT_TOKEN,
                slack_api_url=slack.api_url,
                dashboard_url="https://leadloop.example.com/dashboard",
            )
            app = create_app(routing)  # the real registry: adapters.connectors.CONNECTORS
            published = new_event(agreement_published(with_channel(channel)), subject="agreement")
            await produce(
                settings.kafka_bootstrap_servers,
                settings.topic(topics.LIFECYCLE),
                [(b"agreement", published.to_bytes())],
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
                "email": ALICE,
                "teams": ["dach"],
                "working_hours": ALWAYS,
                "manager_email": MANAGER,
            }
            assert (await http.put("/v1/reps/rep-alice", json=rep)).status_code == 200
            return Wired(app, http, slack, channel, settings)

        yield started


async def test_a_lead_alert_is_one_dm_to_the_rep_and_one_channel_message_once(
    start: Start,
) -> None:
    routing = await start()
    await routing.alert("lead-ACME-DENTAL")
    [job] = await routing.done("lead-ACME-DENTAL", 1)
    [dm] = routing.dm(ALICE)
    [posted] = routing.slack.channels[routing.channel]
    assert job["progress"] == {"rep_ts": dm["ts"], "channel_ts": posted["ts"]}
    assert routing.slack.alerts(f"{job['event_id']}:rep") == [dm]
    assert routing.slack.alerts(f"{job['event_id']}:channel") == [posted]
    actions = next(b for b in dm["blocks"] if b["type"] == "actions")["elements"]
    assert [e["action_id"] for e in actions] == [ACCEPT_ACTION, REJECT_ACTION]
    assert actions[0]["value"].startswith("lead-ACME-DENTAL|")
    assert "Ana Lopez" in dm["text"] and posted["blocks"] == dm["blocks"]
    journey = "https://leadloop.example.com/v1/leads/lead-ACME-DENTAL/journey"
    assert any(journey in str(b) for b in dm["blocks"])

    # An admin's redelivery starts from the recorded progress: nothing is posted again.
    posts = len(routing.slack.posts())
    r = await routing.http.post(f"/v1/connector-deliveries/{job['delivery_id']}/redeliver")
    assert r.status_code in (200, 202), r.text

    async def performed_again() -> bool:
        [again] = await routing.jobs("lead-ACME-DENTAL")
        return len(again["attempts"]) == 2 and again["status"] == "succeeded"

    await wait_for(performed_again, what="the redelivery performed")
    assert len(routing.slack.posts()) == posts
    # A process that died before recording its progress: Slack's history finds both messages.
    worker: ConnectorDeliveries = routing.app.state.connectors
    slack = worker.connectors["slack"]
    lost = await _delivery(routing, job["delivery_id"], "lead-ACME-DENTAL")
    result = await slack.perform(lost.job(), progress := {})
    assert result.outcome == "ok" and progress == job["progress"]
    assert len(routing.slack.posts()) == posts
    assert len(routing.dm(ALICE)) == 1 and len(routing.slack.channels[routing.channel]) == 1


async def _delivery(routing: Wired, delivery_id: str, lead_id: str) -> ConnectorDelivery:
    """The stored delivery, with the payload the log's API leaves out."""
    run = routing.app.state.transactions.run
    stored = await run(list_connector_deliveries, "slack", None, lead_id, PageRequest())
    return next(d for d in stored if d.delivery_id == delivery_id)


async def test_a_rate_limited_post_waits_for_retry_after_and_posts_once(start: Start) -> None:
    routing = await start()
    routing.slack.rate_limit("chat.postMessage", retry_after_s=1)
    await routing.alert("lead-GLOBEX")
    [job] = await routing.done("lead-GLOBEX", 1)
    first, second = job["attempts"]
    assert (first["outcome"], first["retry_after_s"], second["outcome"]) == ("retry", 1.0, "ok")
    waited = datetime.fromisoformat(second["at"]) - datetime.fromisoformat(first["at"])
    assert waited >= timedelta(seconds=1)
    assert len(routing.dm(ALICE)) == 1 and len(routing.slack.channels[routing.channel]) == 1


async def test_a_rep_slack_does_not_know_still_leaves_the_channel_message(start: Start) -> None:
    routing = await start(rep_in_slack=False)
    await routing.alert("lead-INITECH")
    [job] = await routing.done("lead-INITECH", 1)
    assert len(job["attempts"]) == 1  # not a retry loop
    assert (
        job["progress"]["rep_skipped"] == f"{ALICE} is not in the Slack workspace (users_not_found)"
    )
    assert "rep_ts" not in job["progress"]
    assert len(routing.slack.channels[routing.channel]) == 1


async def test_the_sla_ladder_warns_the_rep_then_the_manager(start: Start) -> None:
    routing = await start()
    await routing.alert("lead-HOOLI")
    [alert] = await routing.done("lead-HOOLI", 1)
    view = (await routing.http.get("/v1/leads/lead-HOOLI/assignment")).json()
    moment = datetime.fromisoformat(view["current"]["sla_deadline"]) + timedelta(seconds=1)
    timers: SlaTimers = routing.app.state.sla
    worker: ConnectorDeliveries = routing.app.state.connectors
    assert await timers.run_once(now=moment) == 1  # warn
    # The ladder runs on a simulated clock; its jobs are due then, so the worker runs then too.
    assert await worker.run_once(now=moment) == 1
    warn = (await routing.done("lead-HOOLI", 2))[1]
    assert await timers.run_once(now=moment + timedelta(minutes=16)) == 1  # notify_manager
    assert await worker.run_once(now=moment + timedelta(minutes=16)) == 1
    notify = (await routing.done("lead-HOOLI", 3))[2]
    alert_dm, first, second = routing.dm(ALICE)
    assert alert_dm["ts"] == alert["progress"]["rep_ts"]
    assert routing.slack.alerts(f"{warn['event_id']}:rep") == [first]
    assert routing.slack.alerts(f"{notify['event_id']}:rep") == [second]
    assert first["text"].startswith("SLA missed: Your first touch with *Ana Lopez (ACME Dental)*")
    [to_manager] = routing.dm(MANAGER)
    assert routing.slack.alerts(f"{notify['event_id']}:manager") == [to_manager]
    assert to_manager["text"].startswith("SLA missed: Alice has not followed up with *Ana Lopez")
    assert "manager_ts" not in warn["progress"]  # the first step is the rep's alone
