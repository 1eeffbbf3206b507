"""Slack clicks as sales status updates: the click's own id, its status, reason and time, and
the handler that records them (in memory), refusing a reason the agreement does not have."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from leadloop_connectors.slack import (
    ACCEPT_ACTION,
    REJECT_ACTION,
    SlackClick,
    lead_alert_blocks,
    parse_action,
)
from leadloop_feedback import handlers
from leadloop_feedback.domain.crm import CrmRefused, RecordStatusUpdates
from leadloop_feedback.entrypoints.slack_http import (
    confirmation,
    crm_event_id,
    refusal,
    reply,
    status_update,
)
from leadloop_platform.http.problems import Problem

from ...vendors.slack import FakeSlack
from ...vendors.slack_clicks import block_actions
from ..connectors.test_slack_blocks import CARD
from .fakes import FakeUnitOfWork
from .test_handlers import LEAD, handed_off


def alert(slack: FakeSlack, reasons: list[str]) -> str:
    """A lead alert for LEAD kept in a DM of the fake, as chat.postMessage stores it."""
    card = replace(CARD, lead_id=LEAD, assignment_id=f"a-{LEAD}")
    message = lead_alert_blocks(card, reasons)
    channel = slack.add_channel()
    ts = slack.next_ts()
    slack.channels[channel].append(
        {"type": "message", "ts": ts, "text": message.text, "blocks": message.blocks}
    )
    return ts


def form(payload: dict[str, object]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack("http://127.0.0.1:9")


def click(slack: FakeSlack, action: str, reason: str | None = None) -> tuple[bytes, SlackClick]:
    ts = alert(slack, ["bad_fit", "no_budget", "not_in_the_agreement"])
    body = form(block_actions(slack, ts, action, user_id="U0ALICE", reason=reason))
    return body, parse_action(body)


def test_a_click_is_named_by_team_channel_message_user_and_time(slack: FakeSlack) -> None:
    _, accept = click(slack, ACCEPT_ACTION)
    assert crm_event_id(accept) == (
        f"slack:{slack.team_id}:{accept.channel_id}:{accept.message_ts}:U0ALICE:{accept.action_ts}"
    )
    other = replace(accept, action_ts=f"{time.time() + 1:.6f}")
    assert crm_event_id(other) != crm_event_id(accept)


def test_accept_and_reject_become_statuses_dated_by_the_click(slack: FakeSlack) -> None:
    _, accept = click(slack, ACCEPT_ACTION)
    update = status_update(accept)
    assert (update.status, update.reason_code, update.rep_id) == ("accepted", None, None)
    assert update.lead_id == LEAD
    assert update.changed_at == datetime.fromtimestamp(float(accept.action_ts), UTC)
    _, reject = click(slack, REJECT_ACTION, "no_budget")
    update = status_update(reject)
    assert (update.status, update.reason_code) == ("rejected", "no_budget")
    assert status_update(reject) == update  # a replay is the same item: a duplicate


def test_a_click_time_that_is_no_time_is_a_bad_click(slack: FakeSlack) -> None:
    _, accept = click(slack, ACCEPT_ACTION)
    for bad in ("soon", "1e400", f"{time.time() + 3600:.6f}"):
        with pytest.raises(Problem) as refused:
            status_update(replace(accept, action_ts=bad))
        assert refused.value.status == 400


async def test_the_handler_records_a_click_once(slack: FakeSlack) -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    _, accept = click(slack, ACCEPT_ACTION)
    first = await uow.run(
        handlers.record_status_updates, RecordStatusUpdates([status_update(accept)])
    )
    again = await uow.run(
        handlers.record_status_updates, RecordStatusUpdates([status_update(accept)])
    )
    assert confirmation(accept, first) == "Accepted: the lead is yours."
    assert confirmation(accept, again).endswith("(already recorded)")
    statuses = [e for e in uow.events() if e.type == "leadloop.lead.status_changed.v1"]
    assert [(e.data["status"], e.data["to_stage"]) for e in statuses] == [("accepted", "accepted")]


async def test_a_reason_the_agreement_does_not_have_is_refused_in_words(slack: FakeSlack) -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    _, reject = click(slack, REJECT_ACTION, "not_in_the_agreement")
    with pytest.raises(CrmRefused) as refused:
        await uow.run(handlers.record_status_updates, RecordStatusUpdates([status_update(reject)]))
    text = refusal(refused.value)
    assert text.startswith("Not recorded: rejected needs a reason_code from the agreement")
    assert "bad_fit" in text
    assert not [e for e in uow.events() if e.type == "leadloop.lead.status_changed.v1"]


def test_a_recorded_decision_replaces_the_controls_and_keeps_the_alert(slack: FakeSlack) -> None:
    body, accept = click(slack, ACCEPT_ACTION)
    message = reply(body, accept, "Accepted: the lead is yours.", recorded=True)
    original = slack.message(accept.message_ts or "")
    assert message["replace_original"] is True and message["text"] == original["text"]
    kept = [b for b in original["blocks"] if b["type"] != "actions"]
    assert message["blocks"][:-1] == kept and len(kept) == len(original["blocks"]) - 1
    assert message["blocks"][-1]["elements"][0]["text"] == "Accepted: the lead is yours. <@U0ALICE>"


def test_a_refusal_is_shown_only_to_the_one_who_clicked(slack: FakeSlack) -> None:
    body, reject = click(slack, REJECT_ACTION, "no_budget")
    message = reply(body, reject, "Not recorded: no lead", recorded=False)
    assert message == {
        "replace_original": False,
        "response_type": "ephemeral",
        "text": "Not recorded: no lead",
    }
