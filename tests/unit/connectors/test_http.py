"""The shared vendor call layer: answers classified into typed errors, Retry-After read."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from leadloop_connectors.http import (
    DEFAULT_RETRY_AFTER_S,
    ApiClient,
    AuthFailed,
    PermanentError,
    RateLimited,
    TransientError,
    classify,
    policy_for,
    retry_after,
)
from leadloop_platform.outbound import RefusedTarget, Reply


def reply(status: int, body: bytes = b"", **headers: str) -> Reply:
    return Reply(status, body, len(body), 1.0, headers)


def test_a_2xx_gives_its_json_body_or_none_when_empty() -> None:
    assert classify(reply(200, b'{"id": "1"}')).body == {"id": "1"}
    assert classify(reply(204)).body is None


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthFailed),
        (403, AuthFailed),
        (400, PermanentError),
        (404, PermanentError),
        (500, TransientError),
        (503, TransientError),
    ],
)
def test_statuses_become_typed_errors(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        classify(reply(status, b'{"message": "no"}'))


def test_a_429_carries_its_retry_after() -> None:
    with pytest.raises(RateLimited) as raised:
        classify(reply(429, **{"retry-after": "7"}))
    assert raised.value.retry_after_s == 7


def test_retry_after_reads_seconds_dates_and_falls_back() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC).timestamp()
    later = format_datetime(datetime(2026, 11, 29, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert retry_after("12") == 12
    assert retry_after(later, now=now) == 30
    assert retry_after(None) == DEFAULT_RETRY_AFTER_S
    assert retry_after("soon") == DEFAULT_RETRY_AFTER_S


def test_the_configured_api_host_is_allowed_and_others_are_still_refused() -> None:
    policy = policy_for("http://127.0.0.1:8123")
    assert policy.check_url("http://127.0.0.1:8123/crm/v3/owners") == ("127.0.0.1", 8123)
    with pytest.raises(RefusedTarget):
        policy.check_url("http://169.254.169.254/latest/meta-data")


@pytest.mark.parametrize(("status", "asked"), [(401, [False, True]), (403, [False])])
async def test_only_a_401_spends_a_token_refresh(status: int, asked: list[bool]) -> None:
    tokens: list[bool] = []

    async def token(refresh: bool) -> str:
        tokens.append(refresh)
        return "t"

    answer = httpx.MockTransport(lambda request: httpx.Response(status, json={"message": "no"}))
    api = ApiClient("http://127.0.0.1:9", token, client=httpx.AsyncClient(transport=answer))
    async with api:
        with pytest.raises(AuthFailed):
            await api.call("GET", "/x")
    assert tokens == asked
