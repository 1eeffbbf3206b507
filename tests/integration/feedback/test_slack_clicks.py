"""Slack's Accept and Reject (reason) clicks on a lead alert become sales statuses through
feedback (E2E case 5's service side), on the real broker and Postgres: signed by the fake
Slack's click sender, verified (forged, stale, unsigned: 401), recorded once per click, and
told back to Slack through the click's response_url."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from leadloop_connectors.slack import ACCEPT_ACTION, REJECT_ACTION, lead_alert_blocks
from leadloop_events import topics
from leadloop_feedback.bootstrap import create_app
from leadloop_feedback.config import Settings
from leadloop_platform.settings import CommonSettings

from ...unit.connectors.test_slack_blocks import CARD
from ...vendors.slack import SIGNING_SECRET, FakeSlack, serve_slack
from ...vendors.slack_clicks import block_actions, signed
from ...waiting import wait_for
from ..messaging.support import read_all
from .support import KEY, captured, handed, send, stage

URL = "/v1/integrations/slack/interactions"
REASONS = ["bad_fit", "no_budget", "not_agreed"]  # the last is no reason of the agreement
ALICE = "U0ALICE"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake, stop = await serve_slack()
    yield fake
    await stop()


@contextlib.asynccontextmanager
async def slack_feedback(
    settings: CommonSettings, slack: FakeSlack, **extra: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """Feedback with the Slack app's signing secret (and `extra` settings), over ASGI."""
    shared = settings.model_dump(
        exclude={"service_name", "bootstrap_api_key", "log_json", "outbox_poll_interval_s"}
    )
    feedback = create_app(
        Settings(
            **shared,
            bootstrap_api_key=KEY,
            log_json=False,
            outbox_poll_interval_s=0.2,
            consumer_group="feedback-slack-test",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            **extra,
        )
    )
    async with (
        feedback.router.lifespan_context(feedback),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=feedback), base_url="http://feedback"
        ) as client,
    ):
        yield client


@pytest.fixture
async def app(settings: CommonSettings, slack: FakeSlack) -> AsyncIterator[httpx.AsyncClient]:
    """Feedback with the Slack app's signing secret; no API key: Slack sends none."""
    async with slack_feedback(settings, slack) as client:
        yield client


async def sql_handed_to_alice(
    settings: CommonSettings, client: httpx.AsyncClient, lead: str, email: str | None = None
) -> None:
    """The lead captured, made an SQL and handed to rep-alice, as feedback has seen it."""
    await send(settings, topics.INTAKE, captured(lead, f"s-{lead}"))
    await send(settings, topics.LIFECYCLE, stage(lead, "sql", 0.2))
    hand_off = handed(lead, "rep-alice").model_copy(update={"owner_email": email})
    await send(settings, topics.HANDOFF, hand_off)

    async def seen() -> bool:
        return len(await journey(client, lead)) >= 3

    await wait_for(seen, timeout_s=30, what=f"feedback to see {lead} handed off")


async def journey(client: httpx.AsyncClient, lead: str) -> list[str]:
    answer = await client.get(
        f"/v1/leads/{lead}/journey", headers={"authorization": f"Bearer {KEY}"}
    )
    return [e["summary"] for e in answer.json()["events"]] if answer.status_code == 200 else []


def alert(slack: FakeSlack, lead: str) -> str:
    """The lead alert in Alice's DM, as chat.postMessage keeps it; its ts."""
    message = lead_alert_blocks(replace(CARD, lead_id=lead, assignment_id=f"a-{lead}"), REASONS)
    channel = slack.add_channel()
    ts = slack.next_ts()
    slack.channels[channel].append(
        {"type": "message", "ts": ts, "text": message.text, "blocks": message.blocks}
    )
    return ts


async def click(
    client: httpx.AsyncClient, payload: dict[str, Any], **knobs: bool
) -> httpx.Response:
    body, headers = signed(payload, SIGNING_SECRET, **knobs)
    return await client.post(URL, content=body, headers=headers)


async def statuses(settings: CommonSettings, lead: str) -> list[dict[str, Any]]:
    """The lead.status_changed events published for `lead`."""
    records = await read_all(
        settings.kafka_bootstrap_servers, settings.topic(topics.FEEDBACK), expect=100, timeout_s=2
    )
    events = [json.loads(r.value) for r in records]
    return [e["data"] for e in events if e["subject"] == lead]


async def test_accept_and_reject_clicks_become_statuses_once(
    app: httpx.AsyncClient, settings: CommonSettings, slack: FakeSlack
) -> None:
    accepted_lead, rejected_lead = "lead-slack-ACME", "lead-slack-GLOBEX"
    await sql_handed_to_alice(settings, app, accepted_lead)
    await sql_handed_to_alice(settings, app, rejected_lead)

    accept = block_actions(slack, alert(slack, accepted_lead), ACCEPT_ACTION, user_id=ALICE)
    first = await click(app, accept)
    assert first.status_code == 200, first.text
    assert first.json() == {"text": "Accepted: the lead is yours."}
    replayed = await click(app, accept)  # the same request again, freshly signed
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["text"].endswith("(already recorded)")

    ts = alert(slack, rejected_lead)
    reject = block_actions(slack, ts, REJECT_ACTION, user_id=ALICE, reason="no_budget")
    rejected = await click(app, reject)
    assert rejected.status_code == 200 and rejected.json() == {"text": "Rejected (no_budget)."}

    async def told() -> bool:
        lines = await journey(app, accepted_lead) + await journey(app, rejected_lead)
        return "CRM status: rejected (no_budget)." in lines and "CRM status: accepted." in lines

    await wait_for(told, timeout_s=30, what="both statuses back in the journeys")
    # The outbox publishes in order: the reject, recorded last, is out, so a second accept
    # would be too.
    assert [(d["status"], d["to_stage"]) for d in await statuses(settings, accepted_lead)] == [
        ("accepted", "accepted")
    ]
    [published] = await statuses(settings, rejected_lead)
    assert (published["status"], published["reason_code"]) == ("rejected", "no_budget")
    assert published["crm_event_id"].startswith(f"slack:{slack.team_id}:")

    async def updated() -> bool:
        return len(slack.responses) == 3

    await wait_for(updated, timeout_s=10, what="the alerts updated through response_url")
    assert all(r["replace_original"] is True for r in slack.responses)
    assert all(b["type"] != "actions" for r in slack.responses for b in r["blocks"])


async def test_a_reason_the_agreement_does_not_have_is_answered_not_recorded(
    app: httpx.AsyncClient, settings: CommonSettings, slack: FakeSlack
) -> None:
    lead = "lead-slack-INITECH"
    await sql_handed_to_alice(settings, app, lead)
    ts = alert(slack, lead)
    reject = block_actions(slack, ts, REJECT_ACTION, user_id=ALICE, reason="not_agreed")
    answer = await click(app, reject)
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"].startswith("Not recorded: rejected needs a reason_code")

    async def told() -> bool:
        return len(slack.responses) == 1

    await wait_for(told, timeout_s=10, what="the refusal shown to the one who clicked")
    assert slack.responses[0]["response_type"] == "ephemeral"
    assert slack.responses[0]["replace_original"] is False
    assert not [line for line in await journey(app, lead) if line.startswith("CRM status")]


@pytest.mark.parametrize("knob", ["forged", "stale"])
async def test_forged_and_stale_clicks_are_refused(
    app: httpx.AsyncClient, slack: FakeSlack, knob: str
) -> None:
    accept = block_actions(slack, alert(slack, "lead-slack-X"), ACCEPT_ACTION, user_id=ALICE)
    answer = await click(app, accept, **{knob: True})
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/invalid-signature")


async def test_an_unsigned_or_malformed_click_is_refused(
    app: httpx.AsyncClient, slack: FakeSlack
) -> None:
    body = urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
    unsigned = await app.post(
        URL, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert unsigned.status_code == 401, unsigned.text
    signed_body, headers = signed({"type": "block_actions", "actions": []}, SIGNING_SECRET)
    malformed = await app.post(URL, content=signed_body, headers=headers)
    assert malformed.status_code == 400, malformed.text
    assert malformed.json()["type"].endswith("/bad-click")


async def test_without_a_signing_secret_clicks_are_not_configured(
    feedback: httpx.AsyncClient, slack: FakeSlack
) -> None:
    accept = block_actions(slack, alert(slack, "lead-slack-X"), ACCEPT_ACTION, user_id=ALICE)
    answer = await click(feedback, accept)
    assert answer.status_code == 503, answer.text
    assert answer.json()["type"].endswith("/not-configured")
    assert "LEADLOOP_SLACK_SIGNING_SECRET" in answer.json()["detail"]


async def test_with_a_bot_token_the_click_is_the_clicking_reps(
    settings: CommonSettings, slack: FakeSlack
) -> None:
    """users.info gives the clicker's email; the hand-off named rep-alice by that address."""
    lead = "lead-slack-UMBRELLA"
    alice = slack.add_user("Alice.Rep@acme.example", "Alice")
    async with slack_feedback(settings, slack, slack_bot_token=slack.bot_token) as app:
        await sql_handed_to_alice(settings, app, lead, email="alice.rep@acme.example")
        accept = block_actions(slack, alert(slack, lead), ACCEPT_ACTION, user_id=alice)
        answer = await click(app, accept)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"text": "Accepted: the lead is yours."}

        async def published() -> list[dict[str, Any]]:
            return await statuses(settings, lead)

        await wait_for(published, timeout_s=30, what="the accepted status published")
        [status] = await statuses(settings, lead)
        assert (status["status"], status["rep_id"]) == ("accepted", "rep-alice")
