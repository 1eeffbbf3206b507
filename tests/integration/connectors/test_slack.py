"""The Slack client against the fake Slack Web API: DM found by email, an alert posted exactly
once per key, and Slack's failures (429, ok:false, 5xx) as typed errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from leadloop_connectors.http import AuthFailed, PermanentError, RateLimited, TransientError
from leadloop_connectors.slack import (
    ALERT_EVENT_TYPE,
    SlackApiError,
    SlackClient,
    lead_alert_blocks,
)
from leadloop_contract.agreement import rejection_reasons

from ...unit.connectors.test_slack_blocks import CARD
from ...vendors.slack import BOT_TOKEN, FakeSlack, serve_slack

ALICE = "alice@leadloop-sales.example"
MESSAGE = lead_alert_blocks(CARD, rejection_reasons(None))


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake, stop = await serve_slack()
    fake.add_user(ALICE, "Alice Rep")
    yield fake
    await stop()


async def dm_of_alice(slack: FakeSlack) -> str:
    async with SlackClient(slack.api_url, BOT_TOKEN) as client:
        return await client.open_dm(await client.user_id_by_email(ALICE))


async def post(slack: FakeSlack, channel: str, key: str = "alert-1", token: str = BOT_TOKEN) -> str:
    async with SlackClient(slack.api_url, token) as client:
        return await client.post_once(channel, key, MESSAGE.text, MESSAGE.blocks)


async def test_the_rep_is_found_by_email_and_the_dm_is_reused(slack: FakeSlack) -> None:
    first, second = await dm_of_alice(slack), await dm_of_alice(slack)
    assert first == second and first.startswith("D")
    lookup = slack.posts("users.lookupByEmail")[0]
    assert lookup.args == {"email": ALICE}
    assert lookup.headers["authorization"] == f"Bearer {BOT_TOKEN}"


async def test_an_alert_is_posted_once_however_often_it_is_delivered(slack: FakeSlack) -> None:
    channel = await dm_of_alice(slack)
    first = await post(slack, channel)
    again = await post(slack, channel)
    assert first == again
    assert len(slack.posts()) == 1 and len(slack.alerts("alert-1")) == 1
    stored = slack.alerts("alert-1")[0]
    assert stored["metadata"]["event_type"] == ALERT_EVENT_TYPE
    assert stored["blocks"] == MESSAGE.blocks and stored["text"] == MESSAGE.text
    history = slack.posts("conversations.history")[-1].args
    assert history["include_all_metadata"] == "true" and history["channel"] == channel


async def test_each_alert_key_gets_its_own_message(slack: FakeSlack) -> None:
    channel = await dm_of_alice(slack)
    assert await post(slack, channel, "alert-1") != await post(slack, channel, "alert-2")
    assert len(slack.channels[channel]) == 2


async def test_an_alert_already_posted_pages_back_is_found(slack: FakeSlack) -> None:
    channel = slack.add_channel()
    old = {"alert_key": "alert-old"}
    slack.channels[channel].append(
        {
            "type": "message",
            "ts": slack.next_ts(),
            "text": "old",
            "metadata": {"event_type": ALERT_EVENT_TYPE, "event_payload": old},
        }
    )
    for n in range(450):  # three pages of 200 newer messages
        slack.channels[channel].append({"type": "message", "ts": slack.next_ts(), "text": f"{n}"})
    ts = await post(slack, channel, "alert-old")
    assert ts == slack.channels[channel][0]["ts"]
    assert slack.posts() == [] and len(slack.posts("conversations.history")) == 3


async def test_a_429_is_rate_limited_with_its_retry_after(slack: FakeSlack) -> None:
    channel = await dm_of_alice(slack)
    slack.rate_limit("chat.postMessage", retry_after_s=7)
    with pytest.raises(RateLimited) as raised:
        await post(slack, channel)
    assert raised.value.retry_after_s == 7
    assert slack.alerts("alert-1") == []
    await post(slack, channel)  # the retry, later, posts it once
    assert len(slack.alerts("alert-1")) == 1


@pytest.mark.parametrize("code", ["invalid_auth", "account_inactive", "token_revoked"])
async def test_slack_auth_errors_are_auth_failed(slack: FakeSlack, code: str) -> None:
    channel = await dm_of_alice(slack)
    slack.error("conversations.history", code)
    with pytest.raises(AuthFailed, match=code):
        await post(slack, channel)


async def test_a_wrong_or_expired_token_is_auth_failed(slack: FakeSlack) -> None:
    channel = await dm_of_alice(slack)
    with pytest.raises(AuthFailed, match="invalid_auth"):
        await post(slack, channel, token="xoxb-wrong")
    slack.token_expired = True
    with pytest.raises(AuthFailed, match="token_expired"):
        await post(slack, channel)
    assert slack.posts() == []


async def test_an_unknown_email_is_a_permanent_users_not_found(slack: FakeSlack) -> None:
    async with SlackClient(slack.api_url, BOT_TOKEN) as client:
        with pytest.raises(SlackApiError) as raised:
            await client.user_id_by_email("nobody@leadloop-sales.example")
    assert raised.value.error == "users_not_found"
    assert isinstance(raised.value, PermanentError)


async def test_an_unknown_channel_is_permanent(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await post(slack, "C0NOWHERE")


async def test_outages_are_transient(slack: FakeSlack) -> None:
    channel = await dm_of_alice(slack)
    slack.fail("chat.postMessage", status=503)
    with pytest.raises(TransientError, match="503"):
        await post(slack, channel)
    slack.error("chat.postMessage", "internal_error")
    with pytest.raises(TransientError, match="internal_error"):
        await post(slack, channel)
    assert slack.alerts("alert-1") == []
