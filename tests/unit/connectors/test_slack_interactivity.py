"""Slack clicks: v0 signatures checked (slack_sdk's verifier as the oracle), payloads read."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from leadloop_connectors.slack import (
    ACCEPT_ACTION,
    REJECT_ACTION,
    SignatureRefused,
    lead_alert_blocks,
    parse_action,
    verify_request,
)
from leadloop_contract.agreement import rejection_reasons

from ...vendors.slack import SIGNING_SECRET, FakeSlack
from ...vendors.slack_clicks import block_actions, signed
from .test_slack_blocks import CARD

NOW = time.time()


def alert_in(slack: FakeSlack) -> str:
    """A lead alert stored in a DM of the fake, as chat.postMessage would keep it."""
    message = lead_alert_blocks(CARD, rejection_reasons(None))
    channel = slack.add_channel()
    ts = slack.next_ts()
    slack.channels[channel].append({"type": "message", "ts": ts, "blocks": message.blocks})
    return ts


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack("http://127.0.0.1:9")


def oracle(body: bytes, headers: dict[str, str]) -> bool:
    return SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers)


def test_a_signed_click_is_accepted_as_slack_sdk_accepts_it(slack: FakeSlack) -> None:
    body, headers = signed(
        block_actions(slack, alert_in(slack), ACCEPT_ACTION, user_id="U1"), SIGNING_SECRET
    )
    assert oracle(body, headers)
    verify_request(SIGNING_SECRET, headers, body, now=time.time())


@pytest.mark.parametrize("knob", ["forged", "stale"])
def test_forged_and_stale_clicks_are_refused_as_slack_sdk_refuses_them(
    slack: FakeSlack, knob: str
) -> None:
    payload = block_actions(slack, alert_in(slack), ACCEPT_ACTION, user_id="U1")
    body, headers = signed(payload, SIGNING_SECRET, **{knob: True})
    assert not oracle(body, headers)
    with pytest.raises(SignatureRefused, match="5 minutes" if knob == "stale" else "match"):
        verify_request(SIGNING_SECRET, headers, body, now=time.time())


def test_a_tampered_body_or_bad_headers_are_refused(slack: FakeSlack) -> None:
    body, headers = signed({"type": "block_actions"}, SIGNING_SECRET, now=NOW)
    with pytest.raises(SignatureRefused):
        verify_request(SIGNING_SECRET, headers, body + b"x", now=NOW)
    with pytest.raises(SignatureRefused, match="required"):
        verify_request(SIGNING_SECRET, {}, body, now=NOW)
    with pytest.raises(SignatureRefused, match="Unix time"):
        verify_request(
            SIGNING_SECRET, {**headers, "x-slack-request-timestamp": "soon"}, body, now=NOW
        )
    # Header names are case-insensitive, as HTTP's are.
    verify_request(SIGNING_SECRET, {k.upper(): v for k, v in headers.items()}, body, now=NOW)


def form(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_accept_becomes_a_typed_click(slack: FakeSlack) -> None:
    ts = alert_in(slack)
    click = parse_action(form(block_actions(slack, ts, ACCEPT_ACTION, user_id="U0ALICE")))
    assert (click.action, click.status, click.reason) == ("accept", "accepted", None)
    assert (click.lead_id, click.assignment_id) == ("lead-acme-dental", "asg-0001")
    assert (click.user_id, click.team_id, click.message_ts) == ("U0ALICE", slack.team_id, ts)
    assert click.response_url == f"{slack.base}/actions/{ts}" and click.action_ts


def test_reject_carries_the_chosen_reason(slack: FakeSlack) -> None:
    payload = block_actions(
        slack, alert_in(slack), REJECT_ACTION, user_id="U0ALICE", reason="no_budget"
    )
    click = parse_action(form(payload))
    assert (click.action, click.status, click.reason) == ("reject", "rejected", "no_budget")
    assert click.lead_id == "lead-acme-dental"


def broken(slack: FakeSlack, change: str) -> bytes:
    payload = block_actions(slack, alert_in(slack), ACCEPT_ACTION, user_id="U0ALICE")
    action = payload["actions"][0]
    if change == "type":
        payload["type"] = "view_submission"
    elif change == "two_actions":
        payload["actions"].append(action)
    elif change == "unknown_action":
        action["action_id"] = "someone_else"
    elif change == "foreign_value":
        action["value"] = "not-ours"
    elif change == "no_user":
        del payload["user"]
    elif change == "no_team":
        payload["team"] = None
        del payload["user"]["team_id"]
    return form(payload)


@pytest.mark.parametrize(
    "change", ["type", "two_actions", "unknown_action", "foreign_value", "no_user", "no_team"]
)
def test_bad_shapes_are_refused(slack: FakeSlack, change: str) -> None:
    with pytest.raises(ValueError):
        parse_action(broken(slack, change))


@pytest.mark.parametrize(
    "body", [b"", b"payload=%7Bnot-json", b"other=1", b"payload=1&payload=2", b"\xff\xfe"]
)
def test_bodies_that_are_not_a_payload_form_are_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_action(body)
