"""The Accept / Reject clicks Slack sends back: the request signature checked, the payload read.

Slack signs each request it sends (https://docs.slack.dev/authentication/verifying-requests-from-slack):
`X-Slack-Signature` is `v0=` and the hex HMAC-SHA256, keyed by the app's signing secret, of
`v0:<X-Slack-Request-Timestamp>:<raw body>`; a timestamp more than five minutes from the local
clock may be a replay and is refused. slack_sdk's `SignatureVerifier` computes and compares.

A click on a Block Kit control arrives as a POST of `application/x-www-form-urlencoded` with
one field, `payload`, holding the JSON of a `block_actions` payload
(https://docs.slack.dev/reference/interaction-payloads/block_actions-payload). The endpoint
answers 200 within 3 seconds (the acknowledgement); `response_url` may update the message after.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from leadloop_connectors.slack.blocks import ACCEPT_ACTION, REJECT_ACTION, VALUE_SEPARATOR

REPLAY_WINDOW_S = 5 * 60


class SignatureRefused(ValueError):
    """The request is not provably from Slack, or is too old (a possible replay)."""


class _At(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verify_request(
    signing_secret: str, headers: Mapping[str, str], body: bytes, now: float
) -> None:
    """Refuse (SignatureRefused) a request whose v0 signature is missing, wrong or stale."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = lower.get("x-slack-request-timestamp", "").strip()
    signature = lower.get("x-slack-signature", "").strip()
    if not timestamp or not signature:
        raise SignatureRefused("X-Slack-Request-Timestamp and X-Slack-Signature are required")
    if not timestamp.isdigit():
        raise SignatureRefused("X-Slack-Request-Timestamp is not a Unix time in seconds")
    if abs(now - int(timestamp)) > REPLAY_WINDOW_S:
        raise SignatureRefused("the request is more than 5 minutes old (or ahead): refused")
    verifier = SignatureVerifier(signing_secret, clock=_At(now))
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        raise SignatureRefused("X-Slack-Signature does not match the body")


@dataclass(frozen=True)
class SlackClick:
    """A rep's click on a lead alert: accept, or reject with a reason code."""

    action: Literal["accept", "reject"]
    lead_id: str
    assignment_id: str
    reason: str | None
    user_id: str
    team_id: str
    action_ts: str
    response_url: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None

    @property
    def status(self) -> Literal["accepted", "rejected"]:
        """The sales status the click sets."""
        return "accepted" if self.action == "accept" else "rejected"


def _text(mapping: Any, key: str, what: str) -> str:
    value = mapping.get(key) if isinstance(mapping, Mapping) else None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} is missing or not a string")
    return value


def _optional(mapping: Any, key: str) -> str | None:
    value = mapping.get(key) if isinstance(mapping, Mapping) else None
    return value if isinstance(value, str) and value else None


def _payload(body: bytes) -> dict[str, Any]:
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"the body is not a form: {exc}") from exc
    values = fields.get("payload")
    if not values or len(values) != 1:
        raise ValueError("the form needs exactly one `payload` field")
    try:
        payload = json.loads(values[0])
    except ValueError as exc:
        raise ValueError("`payload` is not JSON") from exc
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise ValueError("`payload` is not a block_actions payload")
    return payload


def _ids(value: str, parts: int) -> list[str]:
    pieces = value.split(VALUE_SEPARATOR, parts - 1)
    if len(pieces) != parts or not all(pieces):
        raise ValueError(f"the action value {value!r} is not leadloop's")
    return pieces


def _click_of(action: Any) -> tuple[Literal["accept", "reject"], list[str]]:
    action_id = _text(action, "action_id", "actions[0].action_id")
    if action_id == ACCEPT_ACTION:
        return "accept", [*_ids(_text(action, "value", "the Accept value"), 2), ""]
    if action_id == REJECT_ACTION:
        option = action.get("selected_option")
        return "reject", _ids(_text(option, "value", "the selected reason"), 3)
    raise ValueError(f"unknown action_id {action_id!r}")


def parse_action(body: bytes) -> SlackClick:
    """The click in a form-encoded block_actions request; ValueError on any other shape."""
    payload = _payload(body)
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1:
        raise ValueError("a click carries exactly one action")
    action = actions[0]
    kind, (lead_id, assignment_id, reason) = _click_of(action)
    user = payload.get("user")
    team_id = _optional(payload.get("team"), "id") or _optional(user, "team_id")
    if team_id is None:
        raise ValueError("neither team.id nor user.team_id is given")
    container = payload.get("container")
    return SlackClick(
        action=kind,
        lead_id=lead_id,
        assignment_id=assignment_id,
        reason=reason or None,
        user_id=_text(user, "id", "user.id"),
        team_id=team_id,
        action_ts=_text(action, "action_ts", "actions[0].action_ts"),
        response_url=_optional(payload, "response_url"),
        channel_id=_optional(payload.get("channel"), "id") or _optional(container, "channel_id"),
        message_ts=_optional(container, "message_ts"),
    )
