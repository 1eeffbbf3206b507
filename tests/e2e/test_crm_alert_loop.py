"""Issue #15, cases 2 and 5, four services as processes with the fake HubSpot API and the fake
Slack: a HubSpot lead's hand-raise makes it an SQL whose alert sets the contact's owner, makes
one task due at the SLA deadline and one Slack DM with Accept/Reject, even when routing is
killed while HubSpot and Slack are still carrying the calls out; the rep's signed Accept click
accepts the lead, a forged or stale one is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from leadloop_connectors.slack import ACCEPT_ACTION, REJECT_ACTION
from leadloop_events import topics

from ..integration.messaging.support import read_all
from ..processes import ServiceProcess
from ..vendors.hubspot import FakeHubSpot
from ..vendors.slack import SIGNING_SECRET, FakeSlack, serve_slack
from ..vendors.slack_clicks import block_actions, send_interaction
from ..waiting import wait_for
from .test_hubspot_contact import CONTACT, SECRET
from .test_hubspot_loop import CONTACT_ID, OWNER, an_assigned_hubspot_lead

REP_EMAIL = "rep-nils@northwind.example"  # as an_assigned_hubspot_lead names rep-nils
TASK_PATH = "/crm/v3/objects/tasks"
TASK_TO_CONTACT = 204  # HubSpot's task-to-contact association type


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake, stop = await serve_slack()
    yield fake
    await stop()


@dataclass
class Loop:
    """The four services of one test."""

    intake: ServiceProcess
    scoring: ServiceProcess
    routing: ServiceProcess
    feedback: ServiceProcess


async def start_loop(
    start_service: Callable[..., Awaitable[Any]], hubspot: FakeHubSpot, slack: FakeSlack
) -> Loop:
    """The services, routing with both connectors (quick rounds, short leases), feedback with
    the Slack app's signing secret and bot token."""
    bot = {"LEADLOOP_SLACK_BOT_TOKEN": slack.bot_token, "LEADLOOP_SLACK_API_URL": slack.api_url}
    routing_env = {
        **bot,
        "LEADLOOP_HUBSPOT_ACCESS_TOKEN": hubspot.token,
        "LEADLOOP_HUBSPOT_API_URL": hubspot.url,
        "LEADLOOP_DASHBOARD_URL": "http://leadloop.example/dashboard",
        "LEADLOOP_CONNECTOR_INTERVAL_S": "0.5",
        "LEADLOOP_CONNECTOR_TIMEOUT_S": "10",  # a dead process's lease ends 20 s later
        "LEADLOOP_REPS_SYNC_INTERVAL_S": "0",  # rep-nils is typed in, not read from owners
    }
    scoring = await start_service("scoring")
    routing = await start_service("routing", routing_env)
    feedback = await start_service(
        "feedback", {**bot, "LEADLOOP_SLACK_SIGNING_SECRET": SIGNING_SECRET}
    )
    intake = await start_service("intake", {"LEADLOOP_HUBSPOT_CLIENT_SECRET": SECRET})
    return Loop(intake, scoring, routing, feedback)


def in_hubspot_and_slack(hubspot: FakeHubSpot, slack: FakeSlack) -> str:
    """The contact the webhook names exists in HubSpot; rep-nils is a Slack member (their id)."""
    email = CONTACT["properties"]["email"]["value"]
    hubspot.seed("contacts", {"email": email, "firstname": "Ingrid"}, object_id=CONTACT_ID)
    return slack.add_user(REP_EMAIL, "Nils")


async def deliveries(http: httpx.AsyncClient, routing: ServiceProcess, lead_id: str) -> list[Any]:
    """The lead's connector deliveries, as routing's delivery log lists them."""
    r = await http.get(f"{routing.url}/v1/connector-deliveries", params={"lead_id": lead_id})
    assert r.status_code == 200, r.text
    items: list[Any] = r.json()["items"]
    return items


async def delivered(http: httpx.AsyncClient, routing: ServiceProcess, lead_id: str) -> None:
    """Wait until the alert's HubSpot and Slack deliveries have both succeeded."""
    found: list[Any] = []

    async def succeeded() -> bool:
        found[:] = await deliveries(http, routing, lead_id)
        return sorted(d["connector"] for d in found) == ["hubspot", "slack"] and all(
            d["status"] == "succeeded" for d in found
        )

    async def log() -> str:
        return json.dumps(found, indent=1)

    await wait_for(succeeded, timeout_s=90, what="both connector deliveries", detail=log)


def dm(slack: FakeSlack, user_id: str) -> list[dict[str, Any]]:
    """The messages in the bot's DM with the user."""
    channel = slack.dms.get(user_id)
    return list(slack.channels[channel]) if channel else []


def action_ids(message: dict[str, Any]) -> set[str]:
    """The controls of a message's actions blocks."""
    return {
        e.get("action_id")
        for b in message.get("blocks", [])
        if b.get("type") == "actions"
        for e in b.get("elements", [])
    }


async def test_an_alert_is_one_owner_task_and_dm_even_when_routing_dies_mid_delivery(
    start_service: Callable[..., Awaitable[Any]],
    http: httpx.AsyncClient,
    hubspot: FakeHubSpot,
    slack: FakeSlack,
) -> None:
    nils = in_hubspot_and_slack(hubspot, slack)
    # HubSpot and Slack are slow: the task and the message wait at the door until let in.
    task_gate = hubspot.hold("POST", TASK_PATH)
    post_gate = slack.hold("chat.postMessage")
    loop = await start_loop(start_service, hubspot, slack)
    lead_id = await an_assigned_hubspot_lead(http, loop.intake, loop.scoring, loop.routing)

    async def both_in_flight() -> bool:
        tasks = [r for r in hubspot.calls_to("POST", TASK_PATH) if r.path == TASK_PATH]
        return bool(tasks) and bool(slack.posts())

    await wait_for(both_in_flight, timeout_s=90, what="the task and the DM to be in flight")
    loop.routing.kill9()
    # The vendors carry out what they were asked; routing never hears of it.
    task_gate.set()
    post_gate.set()

    async def carried_out() -> bool:
        return len(hubspot.records("tasks")) == 1 and len(dm(slack, nils)) == 1

    await wait_for(carried_out, timeout_s=30, what="the held task and DM to be carried out")
    await loop.routing.restart()
    await delivered(http, loop.routing, lead_id)

    assignment = (await http.get(f"{loop.routing.url}/v1/leads/{lead_id}/assignment")).json()
    deadline = datetime.fromisoformat(assignment["current"]["sla_deadline"])
    [contact] = hubspot.records("contacts")
    assert contact["properties"]["hubspot_owner_id"] == OWNER
    [task] = hubspot.records("tasks")
    assert task["properties"]["hubspot_owner_id"] == OWNER
    due = datetime.fromisoformat(task["properties"]["hs_timestamp"])
    assert abs((due - deadline).total_seconds()) < 0.001, (due, deadline)
    assert hubspot.associations[("tasks", task["id"], "contacts")] == {CONTACT_ID: TASK_TO_CONTACT}
    [message] = dm(slack, nils)
    assert {ACCEPT_ACTION, REJECT_ACTION} <= action_ids(message)
    assert sum(len(m) for m in slack.channels.values()) == 1  # no channel message, no other DM


async def decided(http: httpx.AsyncClient, feedback: ServiceProcess) -> dict[str, Any]:
    """Wait until the lead-quality report counts the lead accepted; its campaign's group."""
    groups: dict[str, Any] = {}

    async def counted() -> bool:
        r = await http.get(
            f"{feedback.url}/v1/reports/lead-quality", params={"group_by": "campaign"}
        )
        groups.update({g["group"]: g for g in r.json()["groups"]})
        return groups.get("nordics-q4-freight", {}).get("decided") == 1

    await wait_for(counted, timeout_s=60, what="the click in the lead-quality report")
    return dict(groups["nordics-q4-freight"])


async def journey(http: httpx.AsyncClient, feedback: ServiceProcess, lead_id: str) -> list[str]:
    r = await http.get(f"{feedback.url}/v1/leads/{lead_id}/journey")
    return [e["summary"] for e in r.json()["events"]] if r.status_code == 200 else []


async def test_the_reps_signed_accept_click_accepts_the_lead_forged_and_stale_are_refused(
    start_service: Callable[..., Awaitable[Any]],
    http: httpx.AsyncClient,
    hubspot: FakeHubSpot,
    slack: FakeSlack,
    bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    nils = in_hubspot_and_slack(hubspot, slack)
    loop = await start_loop(start_service, hubspot, slack)
    lead_id = await an_assigned_hubspot_lead(http, loop.intake, loop.scoring, loop.routing)
    await delivered(http, loop.routing, lead_id)

    async def handed_off() -> bool:
        lines = await journey(http, loop.feedback, lead_id)
        return any("→ sql" in line for line in lines) and any(
            line.startswith("Handed off to rep-nils") for line in lines
        )

    await wait_for(handed_off, timeout_s=60, what="feedback to see the SQL handed to rep-nils")
    [alert] = dm(slack, nils)
    url = f"{loop.feedback.url}/v1/integrations/slack/interactions"
    reject = block_actions(slack, alert["ts"], REJECT_ACTION, user_id=nils, reason="no_budget")
    for knob in ("forged", "stale"):
        refused = await send_interaction(url, reject, SIGNING_SECRET, **{knob: True})
        assert refused.status_code == 401, (knob, refused.text)
    accept = block_actions(slack, alert["ts"], ACCEPT_ACTION, user_id=nils)
    answer = await send_interaction(url, accept, SIGNING_SECRET)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"text": "Accepted: the lead is yours."}

    quality = await decided(http, loop.feedback)
    assert (quality["accepted"], quality["rejected"]) == (1, 0)
    lines = await journey(http, loop.feedback, lead_id)
    assert [line for line in lines if line.startswith("CRM status")] == ["CRM status: accepted."]
    records = await read_all(bootstrap_servers, topic_prefix + topics.FEEDBACK, expect=1)
    statuses = [json.loads(r.value)["data"] for r in records]
    assert [(s["lead_id"], s["status"], s["rep_id"]) for s in statuses] == [
        (lead_id, "accepted", "rep-nils")
    ]

    async def told_slack() -> bool:
        return any(r.get("replace_original") for r in slack.responses)

    await wait_for(told_slack, timeout_s=30, what="the alert's buttons replaced in Slack")
