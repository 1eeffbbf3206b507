"""The Slack connector's pure parts: the lead card from a lead.assigned payload, the journey
link, the team channel from the agreement (and the agreement's validation of it), the factory's
refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from leadloop_connectors.slack import ACCEPT_ACTION, REJECT_ACTION, lead_alert_blocks
from leadloop_contract.agreement import (
    EXAMPLE_FILE,
    Agreement,
    AgreementInvalid,
    Team,
    checksum,
    load_agreement,
)
from leadloop_events.handoff import LeadAssigned, LeadReassigned, SlaBreached
from leadloop_events.lifecycle import LeadIntelligence, ScoreLine
from leadloop_routing.adapters.slack_actions import connector, journey_url, lead_card
from leadloop_routing.config import Settings
from leadloop_routing.domain.connectors import JobContext, job_context
from leadloop_routing.domain.model import Rep

from ...factories import intelligence

DEADLINE = datetime(2026, 11, 3, 10, 30, tzinfo=UTC)
BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"


def assigned_payload() -> dict[str, Any]:
    """A lead.assigned event's data as the connector job carries it (JSON)."""
    scored = intelligence().model_copy(
        update={
            "breakdown": [
                ScoreLine(rule="size", kind="fit", points=20, reason="240 employees"),
                ScoreLine(rule="demo", kind="interest", points=30, reason="asked for a demo"),
            ]
        }
    )
    data = LeadAssigned(
        lead_id="lead-ACME-DENTAL",
        assignment_id="asg-1",
        owner_rep_id="rep-alice",
        owner_email="rep-alice@northwind.example",
        team="dach",
        business="new",
        sla_deadline=DEADLINE,
        agreement_version="2026-11",
        intelligence=scored,
        assigned_at=DEADLINE - timedelta(minutes=30),
    )
    payload: dict[str, Any] = json.loads(data.model_dump_json())
    return payload


def with_channel(channel: str | None) -> Agreement:
    """The example agreement, its dach team posting to `channel`."""
    document = load_agreement(EXAMPLE_FILE.read_text()).model_dump(mode="json")
    for team in document["routing"]["teams"]:
        if team["name"] == "dach":
            team["slack_channel"] = channel
    return Agreement.model_validate(document)


def test_the_card_of_a_lead_assigned_payload_says_who_why_what_and_by_when() -> None:
    data = LeadAssigned.model_validate(assigned_payload())
    journey = journey_url("https://leadloop.example.com/dashboard", data.lead_id)
    card = lead_card(
        data.lead_id, data.assignment_id, data.team, data.sla_deadline, data.intelligence, journey
    )
    assert (card.name, card.email) == ("Ana Lopez", "ana@acme-dental.com")
    assert (card.title, card.company, card.team) == ("Head of Operations", "ACME Dental", "dach")
    assert (card.grade, card.fit, card.interest, card.sla_deadline) == ("A", 85, 40, DEADLINE)
    assert list(card.why) == [(20, "240 employees"), (30, "asked for a demo")]
    assert [kind for kind, _ in card.activity] == ["demo_request"]
    assert card.journey_url == "https://leadloop.example.com/v1/leads/lead-ACME-DENTAL/journey"
    message = lead_alert_blocks(card, with_channel(None).rejection_reasons)
    actions = next(b for b in message.blocks if b["type"] == "actions")["elements"]
    assert [e["action_id"] for e in actions] == [ACCEPT_ACTION, REJECT_ACTION]
    values = [o["value"] for o in actions[1]["options"]]
    assert values == [f"lead-ACME-DENTAL|asg-1|{r}" for r in with_channel(None).rejection_reasons]
    assert "Ana Lopez, Head of Operations at ACME Dental" in message.text


def test_a_lead_without_a_name_is_shown_by_its_email() -> None:
    bare = LeadIntelligence.model_validate(
        {"profile": {"email": "x@globex.example"}, "fit": 50, "interest": 50, "grade": "B"}
    )
    card = lead_card("lead-GLOBEX", "asg-2", "dach", DEADLINE, bare, "https://l.example/j")
    assert card.name == "x@globex.example" and card.company is None


@pytest.mark.parametrize(
    ("dashboard", "expected"),
    [
        ("https://leadloop.example.com/dashboard", "https://leadloop.example.com"),
        ("https://leadloop.example.com/dashboard/", "https://leadloop.example.com"),
        ("https://leadloop.example.com", "https://leadloop.example.com"),
        ("https://example.com/leadloop/dashboard", "https://example.com"),  # its origin
    ],
)
def test_the_journey_link_is_on_the_dashboards_origin(dashboard: str, expected: str) -> None:
    assert journey_url(dashboard, "lead 1|<x>") == f"{expected}/v1/leads/lead%201%7C%3Cx%3E/journey"


def test_the_job_context_holds_the_team_channel_the_reasons_the_rep_and_the_lead() -> None:
    agreement = with_channel("C0123456789")
    alice = Rep("rep-alice", "Alice", "alice@n.example", ("dach",), manager_email="bo@n.example")
    context = job_context(agreement, "dach", alice, intelligence())
    assert context.slack_channel == "C0123456789"
    assert context.reasons() == agreement.rejection_reasons
    assert context.rep is not None and context.rep.manager_email == "bo@n.example"
    assert (context.lead_name, context.company) == ("Ana Lopez", "ACME Dental")
    assert JobContext.model_validate(context.to_json()) == context  # as stored with the job
    assert job_context(agreement, "nordics", None, None).slack_channel is None
    assert job_context(agreement, "sdr-queue", None, None).slack_channel is None  # no team
    before = job_context(None, "dach", None, None)  # before any agreement: the defaults
    assert before.to_json() == {} and before == JobContext.model_validate({})
    reasons = before.reasons()
    assert reasons[:2] == ["bad_fit", "no_interest"] and "other" in reasons


@pytest.mark.parametrize("channel", ["C0123456789", "G01ABCDEFGH", "C12345678"])
def test_a_slack_channel_id_is_a_team_channel(channel: str) -> None:
    assert Team(name="dach", slack_channel=channel).slack_channel == channel


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        ("#dach-leads", "a #name is not enough: use the channel's id"),
        ("c0123456789", "is not a Slack channel id"),
        ("D0123456789", "is not a Slack channel id"),  # a DM is nobody's team channel
        ("C0123", "is not a Slack channel id"),
    ],
)
def test_anything_else_is_refused_with_its_path(channel: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Team(name="dach", slack_channel=channel)
    text = EXAMPLE_FILE.read_text().replace(
        "# slack_channel: C0123456789", f'slack_channel: "{channel}"'
    )
    with pytest.raises(AgreementInvalid, match="slack_channel"):
        load_agreement(text)


def test_the_example_documents_the_channel_and_it_loads_when_set() -> None:
    text = EXAMPLE_FILE.read_text()
    assert "# slack_channel: C0123456789" in text
    loaded = load_agreement(text.replace("# slack_channel:", "slack_channel:"))
    assert job_context(loaded, "dach", None, None).slack_channel == "C0123456789"


def test_an_agreement_without_channels_keeps_its_document_and_checksum() -> None:
    plain = load_agreement(EXAMPLE_FILE.read_text())
    document = plain.model_dump(mode="json")
    assert all("slack_channel" not in t for t in document["routing"]["teams"])
    assert checksum(with_channel(None)) == checksum(plain)
    assert checksum(with_channel("C0123456789")) != checksum(plain)
    stored = with_channel("C0123456789").model_dump(mode="json")  # kept where routing stores it
    assert Agreement.model_validate(stored).routing.teams[1].slack_channel == "C0123456789"


def test_the_connector_handles_the_alert_the_reassignment_and_the_sla() -> None:
    slack = connector(
        Settings(slack_bot_token=BOT_TOKEN, dashboard_url="https://leadloop.example.com/dashboard")
    )
    assert slack.name == "slack"
    for handled in (LeadAssigned, LeadReassigned, SlaBreached):
        assert slack.handles(handled.event_type)
    assert not slack.handles("leadloop.lead.touched.v1")


@pytest.mark.parametrize("dashboard", [None, "leadloop.example.com/dashboard"])
def test_the_connector_needs_the_dashboard_for_its_journey_link(dashboard: str | None) -> None:
    with pytest.raises(ValueError, match="LEADLOOP_DASHBOARD_URL"):
        connector(Settings(slack_bot_token=BOT_TOKEN, dashboard_url=dashboard))
