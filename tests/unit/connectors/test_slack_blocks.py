"""The Slack lead alert and SLA warning: valid Block Kit, escaped text, Accept/Reject controls."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from leadloop_connectors.slack import (
    ACCEPT_ACTION,
    REJECT_ACTION,
    LeadCard,
    SlaWarning,
    escape,
    lead_alert_blocks,
    sla_warning_blocks,
)
from leadloop_contract.agreement import rejection_reasons

DEADLINE = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CARD = LeadCard(
    lead_id="lead-acme-dental",
    assignment_id="asg-0001",
    name="Ada <Lovelace>",
    email="ada@acme-dental.example",
    grade="A",
    fit=82,
    interest=64,
    sla_deadline=DEADLINE,
    journey_url="https://leadloop.example/v1/leads/lead-acme-dental/journey",
    title="CTO",
    company="ACME & DENTAL",
    team="nordics",
    why=[(10, "Job title is C-level"), (35, "Requested a demo"), (20, "Country in the Nordics")],
    activity=[("demo_request", datetime(2026, 11, 29, 8, 0, tzinfo=UTC))],
)
REASONS = rejection_reasons(None)


def round_trips(blocks: list[dict[str, object]]) -> bool:
    """Each block parses into slack_sdk's model and serialises back to the same JSON."""
    parsed = [Block.parse(json.loads(json.dumps(b))) for b in blocks]
    return all(p is not None for p in parsed) and [p.to_dict() for p in parsed if p] == blocks


def controls(blocks: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 1
    return {e["action_id"]: e for e in actions[0]["elements"]}


def test_the_lead_alert_is_valid_block_kit() -> None:
    message = lead_alert_blocks(CARD, REASONS)
    assert round_trips(message.blocks)
    assert [b["type"] for b in message.blocks] == [
        "header",
        "section",
        "section",
        "section",
        "section",
        "actions",
    ]


def test_accept_is_a_button_carrying_lead_and_assignment() -> None:
    accept = controls(lead_alert_blocks(CARD, REASONS).blocks)[ACCEPT_ACTION]
    assert accept["type"] == "button"
    assert accept["value"] == "lead-acme-dental|asg-0001"


def test_reject_is_a_select_of_the_agreement_reasons() -> None:
    reject = controls(lead_alert_blocks(CARD, REASONS).blocks)[REJECT_ACTION]
    assert reject["type"] == "static_select"
    values = [o["value"] for o in reject["options"]]
    assert values == [f"lead-acme-dental|asg-0001|{code}" for code in REASONS]
    assert reject["options"][0]["text"] == {"type": "plain_text", "text": "Bad fit"}


def test_text_from_people_is_escaped_where_slack_reads_mrkdwn() -> None:
    message = lead_alert_blocks(CARD, REASONS)
    assert "Ada &lt;Lovelace&gt;, CTO at ACME &amp; DENTAL" in message.text
    who = message.blocks[1]["text"]["text"]
    assert "Ada &lt;Lovelace&gt;" in who and "<Lovelace>" not in who
    assert message.blocks[0]["text"]["type"] == "plain_text"
    assert escape("a & <b> > c") == "a &amp; &lt;b&gt; &gt; c"


def test_why_shows_the_strongest_score_lines_first() -> None:
    why = lead_alert_blocks(CARD, REASONS).blocks[2]["text"]["text"]
    assert why.index("+35 Requested a demo") < why.index("+20 Country") < why.index("+10 Job")
    assert "grade *A*, fit 82, interest 64" in why


def test_the_deadline_is_a_slack_date_with_a_utc_fallback() -> None:
    message = lead_alert_blocks(CARD, REASONS)
    unix = int(DEADLINE.timestamp())
    token = f"<!date^{unix}^{{date_short_pretty}} at {{time}}|2026-11-30 09:00 UTC>"
    assert token in message.text
    follow_up = message.blocks[4]["text"]["text"]
    assert token in follow_up and f"<{CARD.journey_url}|Open the journey>" in follow_up


def test_no_activity_no_activity_section() -> None:
    message = lead_alert_blocks(replace(CARD, activity=()), REASONS)
    assert len(message.blocks) == 5 and round_trips(message.blocks)


@pytest.mark.parametrize(
    "card",
    [
        replace(CARD, lead_id="lead|1"),
        replace(CARD, assignment_id=""),
        replace(CARD, journey_url="javascript:alert(1)"),
    ],
)
def test_values_slack_cannot_carry_are_refused(card: LeadCard) -> None:
    with pytest.raises(ValueError):
        lead_alert_blocks(card, REASONS)


def test_slack_limits_are_checked_before_posting() -> None:
    with pytest.raises(ValueError):
        lead_alert_blocks(CARD, [])
    with pytest.raises(SlackObjectFormationError):
        lead_alert_blocks(CARD, [f"reason_{n}" for n in range(101)])  # a select has <= 100


def test_the_sla_warning_speaks_to_the_rep_or_the_manager() -> None:
    warning = SlaWarning(
        lead_id="lead-acme-dental",
        name="Ada",
        company="ACME & DENTAL",
        deadline=DEADLINE,
        journey_url=CARD.journey_url,
        rep_name="Alice",
    )
    rep = sla_warning_blocks(warning)
    manager = sla_warning_blocks(replace(warning, to_manager=True, breached=True))
    assert rep.text.startswith("SLA reminder: Your first touch with *Ada (ACME &amp; DENTAL)*")
    assert manager.text.startswith("SLA missed: Alice has not followed up with *Ada")
    assert "was due <!date^" in manager.text
    assert round_trips(rep.blocks) and round_trips(manager.blocks)
