"""The Slack client against the fake: a clicker's email from users.info, and a click's
response_url answered only on Slack's hosts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from leadloop_connectors.http import PermanentError
from leadloop_connectors.slack import SlackApiError, SlackClient
from leadloop_connectors.slack.client import respond

from ...vendors.slack import BOT_TOKEN, FakeSlack, serve_slack

ALICE = "Alice@leadloop-sales.example"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake, stop = await serve_slack()
    yield fake
    await stop()


async def test_a_users_email_comes_from_users_info(slack: FakeSlack) -> None:
    alice = slack.add_user(ALICE, "Alice Rep")
    async with SlackClient(slack.api_url, BOT_TOKEN) as client:
        assert await client.user_email(alice) == ALICE
    [call] = slack.posts("users.info")
    assert call.args == {"user": alice}
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"


async def test_a_profile_without_email_or_an_unknown_user(slack: FakeSlack) -> None:
    alice = slack.add_user(ALICE, "Alice Rep")
    del slack.users[ALICE.lower()]["profile"]["email"]  # no users:read.email scope
    async with SlackClient(slack.api_url, BOT_TOKEN) as client:
        assert await client.user_email(alice) is None
        with pytest.raises(SlackApiError) as unknown:
            await client.user_email("U0NOBODY")
    assert unknown.value.error == "user_not_found"


async def test_a_response_url_is_answered_on_slacks_hosts_only(slack: FakeSlack) -> None:
    message = {"replace_original": True, "text": "Accepted"}
    await respond(f"{slack.base}/actions/1.000001", message, api_url=slack.api_url)
    assert slack.responses == [message]
    with pytest.raises(PermanentError):
        await respond("https://evil.example/actions/1", message, api_url=slack.api_url)
    with pytest.raises(PermanentError):  # the default API's hosts do not include the fake
        await respond(f"{slack.base}/actions/1.000001", message)
    assert slack.responses == [message]
