"""What Slack sends an app when a user clicks in one of its messages: a block_actions payload
built from the message the fake Slack holds, form-encoded and signed (v0), then POSTed.

Shapes from https://docs.slack.dev/reference/interaction-payloads/block_actions-payload ("The
payload is sent as a `payload` parameter, URL-encoded, in an HTTP POST body") and the signing
from https://docs.slack.dev/authentication/verifying-requests-from-slack: the basestring
`v0:<timestamp>:<body>`, HMAC-SHA256 with the signing secret, hex, prefixed `v0=`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from .slack import FakeSlack

STALE_S = 6 * 60  # past Slack's five-minute replay window


def _element(message: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return block["block_id"], element
    raise AssertionError(f"no {action_id} control in message {message['ts']}")


def _action(message: dict[str, Any], action_id: str, reason: str | None) -> dict[str, Any]:
    block_id, element = _element(message, action_id)
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "button":
        action.update(text=element["text"], value=element["value"])
        return action
    chosen = [o for o in element["options"] if o["value"].rsplit("|", 1)[-1] == reason]
    if not chosen:
        raise AssertionError(f"no option {reason!r} in {action_id}")
    action["selected_option"] = chosen[0]
    return action


def block_actions(
    slack: FakeSlack, ts: str, action_id: str, *, user_id: str, reason: str | None = None
) -> dict[str, Any]:
    """The payload of `user_id` choosing `action_id` (and `reason`) on the message `ts`."""
    channel = slack.channel_of(ts)
    message = {k: v for k, v in slack.message(ts).items() if k != "metadata"}
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": slack.team_id},
        "api_app_id": "A0LEADLOOP",
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": slack.team_id, "domain": "leadloop-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "directmessage"},
        "message": message,
        "state": {"values": {}},
        "response_url": f"{slack.base}/actions/{ts}",
        "actions": [_action(message, action_id, reason)],
    }


def signed(
    payload: dict[str, Any],
    signing_secret: str,
    *,
    forged: bool = False,
    stale: bool = False,
    now: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The form body and headers Slack would send; `forged` signs with another secret,
    `stale` dates the request beyond the replay window (correctly signed for that date)."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time() if now is None else now) - (STALE_S if stale else 0))
    key = f"forged-{signing_secret}" if forged else signing_secret
    digest = hmac.new(key.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": f"v0={digest.hexdigest()}",
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    return body, headers


async def send_interaction(
    url: str,
    payload: dict[str, Any],
    signing_secret: str,
    *,
    forged: bool = False,
    stale: bool = False,
) -> httpx.Response:
    """POST a click to the app's interactivity URL, as Slack does."""
    body, headers = signed(payload, signing_secret, forged=forged, stale=stale)
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, content=body, headers=headers)
