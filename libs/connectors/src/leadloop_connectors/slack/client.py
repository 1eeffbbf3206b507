"""The Slack Web API calls leadloop makes: find a rep by email, open the DM, post an alert once.

Slack answers almost every call with HTTP 200 and `{"ok": false, "error": "<code>"}` on failure
(https://docs.slack.dev/apis/web-api/#responses); those codes become the typed errors of
`leadloop_connectors.http`. A rate limit is HTTP 429 with Retry-After in seconds
(https://docs.slack.dev/apis/web-api/rate-limits), classified by the shared layer.
Scopes the bot token needs: users:read.email (users.lookupByEmail, and users.info's
profile.email), im:write
(conversations.open), chat:write, and im:history / channels:history / groups:history
(conversations.history, to find an alert already posted).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from leadloop_connectors.http import (
    DEFAULT_RETRY_AFTER_S,
    ApiClient,
    AuthFailed,
    PermanentError,
    RateLimited,
    TransientError,
    classify,
    policy_for,
    static_token,
)
from leadloop_platform.outbound import OutboundPolicy

DEFAULT_API_URL = "https://slack.com/api"
RESPONSE_URL_HOSTS = frozenset({"hooks.slack.com"})
"""Where a click's response_url points (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses)."""
ALERT_EVENT_TYPE = "leadloop_alert"
"""The metadata event_type of every message leadloop posts for an alert."""
# How far back post_once looks for an alert it already posted: redeliveries happen within
# minutes or hours; a week covers an outage over a weekend.
DEFAULT_WINDOW_S = 7 * 24 * 3600
HISTORY_PAGE = 200  # Slack's recommended page size for cursor pagination
MAX_HISTORY_PAGES = 25

# Error codes from the methods' reference pages and the common errors of every method.
AUTH_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "team_access_not_granted",
    }
)
RATE_ERRORS = frozenset({"ratelimited", "rate_limited"})
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SlackApiError(PermanentError):
    """`ok: false` with a code that a retry does not fix (users_not_found, channel_not_found,
    not_in_channel, invalid_blocks...): `error` is Slack's code."""

    def __init__(self, method: str, error: str) -> None:
        super().__init__(200, f"{method}: {error}")
        self.method = method
        self.error = error


def raise_for_error(method: str, body: Any) -> dict[str, Any]:
    """The body of an `ok: true` answer; the typed error of an `ok: false` one."""
    if not isinstance(body, dict):
        raise TransientError(f"{method}: the answer is not a JSON object")
    if body.get("ok") is True:
        return body
    error = str(body.get("error") or "unknown_error")
    if error in AUTH_ERRORS:
        raise AuthFailed(f"{method}: {error}")
    if error in RATE_ERRORS:
        raise RateLimited(DEFAULT_RETRY_AFTER_S, f"{method}: {error}")
    if error in TRANSIENT_ERRORS:
        raise TransientError(f"{method}: {error}")
    raise SlackApiError(method, error)


class SlackClient:
    """The bot's calls, one Web API method each; use inside `async with`."""

    def __init__(self, api_url: str, bot_token: str, policy: OutboundPolicy | None = None) -> None:
        self.api = ApiClient(api_url, static_token(bot_token), policy=policy)

    async def __aenter__(self) -> SlackClient:
        await self.api.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.api.aclose()

    async def _get(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        reply = await self.api.call("GET", f"/{method}", params=params)
        return raise_for_error(method, reply.body)

    async def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = await self.api.call("POST", f"/{method}", json_body=body)
        return raise_for_error(method, reply.body)

    async def user_id_by_email(self, email: str) -> str:
        """The Slack user id of `email` (users.lookupByEmail); SlackApiError users_not_found."""
        body = await self._get("users.lookupByEmail", {"email": email})
        return str(body["user"]["id"])

    async def user_email(self, user_id: str) -> str | None:
        """The email in `user_id`'s profile (users.info); None when the profile shows none
        (a bot, or a token without users:read.email); SlackApiError user_not_found."""
        body = await self._get("users.info", {"user": user_id})
        email = ((body.get("user") or {}).get("profile") or {}).get("email")
        return email if isinstance(email, str) and email else None

    async def open_dm(self, user_id: str) -> str:
        """The id of the bot's direct message channel with `user_id` (conversations.open)."""
        body = await self._post("conversations.open", {"users": user_id})
        return str(body["channel"]["id"])

    async def find_alert(
        self, channel: str, alert_key: str, *, window_s: float = DEFAULT_WINDOW_S
    ) -> str | None:
        """The ts of the message carrying `alert_key` in its metadata, posted in the last
        `window_s` seconds (conversations.history with include_all_metadata), else None."""
        params: dict[str, Any] = {
            "channel": channel,
            "include_all_metadata": "true",
            "limit": HISTORY_PAGE,
            "oldest": f"{time.time() - window_s:.6f}",
        }
        for _ in range(MAX_HISTORY_PAGES):
            body = await self._get("conversations.history", params)
            for message in body.get("messages") or []:
                if _carries(message, alert_key):
                    return str(message["ts"])
            cursor = (body.get("response_metadata") or {}).get("next_cursor")
            if not body.get("has_more") or not cursor:
                return None
            params["cursor"] = cursor
        raise TransientError(f"conversations.history: more than {MAX_HISTORY_PAGES} pages")

    async def post_once(
        self,
        channel: str,
        alert_key: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]],
        *,
        payload: Mapping[str, str | int | float | bool] | None = None,
        window_s: float = DEFAULT_WINDOW_S,
    ) -> str:
        """Post the alert unless a message with its key is already there; its ts either way.

        Exactly once per key as long as one delivery of an alert runs at a time (the durable
        delivery's lease): the key travels in the message metadata, which the history shows.
        """
        found = await self.find_alert(channel, alert_key, window_s=window_s)
        if found is not None:
            return found
        metadata = {
            "event_type": ALERT_EVENT_TYPE,
            "event_payload": {**(payload or {}), "alert_key": alert_key},
        }
        body = await self._post(
            "chat.postMessage",
            {
                "channel": channel,
                "text": text,
                "blocks": [dict(block) for block in blocks],
                "metadata": metadata,
                "unfurl_links": False,
                "unfurl_media": False,
            },
        )
        return str(body["ts"])


def _carries(message: Mapping[str, Any], alert_key: str) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != ALERT_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, Mapping) and payload.get("alert_key") == alert_key


async def respond(
    response_url: str,
    message: Mapping[str, Any],
    *,
    api_url: str = DEFAULT_API_URL,
    policy: OutboundPolicy | None = None,
) -> None:
    """POST `message` to a click's response_url (no token: the URL is the credential), e.g.
    `{"replace_original": true, ...}`; only to Slack's hooks host or the configured API's."""
    host = (urlsplit(response_url).hostname or "").lower()
    if host not in RESPONSE_URL_HOSTS | {(urlsplit(api_url).hostname or "").lower()}:
        raise PermanentError(400, f"response_url host {host!r} is not Slack's")
    guard = policy_for(response_url, policy)
    async with guard.client() as client:
        reply = await guard.send(
            client,
            "POST",
            response_url,
            content=json.dumps(dict(message)).encode(),
            headers={"content-type": "application/json"},
        )
    if not 200 <= reply.status_code < 300:
        classify(reply)  # raises the typed error of the status
