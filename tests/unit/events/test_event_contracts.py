"""The event contracts: generated files are current, every type round-trips, bad data is named."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadloop_contract.agreement import EXAMPLE_FILE, load_agreement
from leadloop_events import generate, topics
from leadloop_events.agreement import AgreementPublished
from leadloop_events.catalog import EVENT_TYPES, parse_data, types_on
from leadloop_events.envelope import CloudEvent, EventData, InvalidEvent, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, LeadLinked, LeadReassigned, SlaBreached
from leadloop_events.intake import (
    ActivityRecorded,
    CrmNotificationReceived,
    LeadCaptured,
    LeadErased,
    LeadProfile,
)
from leadloop_events.lifecycle import LeadIntelligence, LeadScored, LeadStageChanged, ScoreLine

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
LEAD = "lead-ACME-DENTAL"
ANA = LeadProfile(email="ana@acme-dental.com", company="ACME Dental", company_size=240)
LINE = ScoreLine(rule="company_size_100_plus", kind="fit", points=20, reason="240 employees")
EXAMPLE_AGREEMENT = load_agreement(EXAMPLE_FILE.read_text())
INTEL = LeadIntelligence(profile=ANA, fit=60, interest=45, grade="A", breakdown=[LINE])

SAMPLES: list[EventData] = [
    LeadCaptured(
        lead_id=LEAD,
        submission_id="s1",
        is_new_lead=True,
        channel="form",
        profile=ANA,
        source="webinar",
        submitted_at=NOW,
    ),
    ActivityRecorded(lead_id=LEAD, activity_id="a1", activity_type="demo_request", occurred_at=NOW),
    LeadErased(lead_id=LEAD, erased_at=NOW),
    CrmNotificationReceived(
        system="hubspot",
        subscription_type="deal.propertyChange",
        object_type="deal",
        object_id="7001",
        property_name="dealstage",
        property_value="closedwon",
        occurred_at=NOW,
        event_key="62515:deal.propertyChange:7001:100001",
    ),
    LeadScored(
        lead_id=LEAD,
        fit=60,
        interest=45,
        total=105,
        grade="A",
        interest_band="high",
        breakdown=[LINE],
        agreement_version="2026-11",
        scored_at=NOW,
    ),
    LeadStageChanged(
        lead_id=LEAD,
        from_stage="mql",
        to_stage="sql",
        reason="demo request",
        agreement_version="2026-11",
        changed_at=NOW,
        intelligence=INTEL,
    ),
    AgreementPublished(
        version="2026-11", published_at=NOW, checksum="0" * 64, document=EXAMPLE_AGREEMENT
    ),
    LeadAssigned(
        lead_id=LEAD,
        assignment_id="as1",
        owner_rep_id="rep-alice",
        team="dach",
        business="new",
        sla_deadline=NOW,
        agreement_version="2026-11",
        intelligence=INTEL,
        assigned_at=NOW,
    ),
    LeadReassigned(
        lead_id=LEAD,
        assignment_id="as1",
        from_rep_id="rep-alice",
        to_rep_id="rep-bob",
        team="dach",
        reason="sla",
        attempt=1,
        sla_deadline=NOW,
        reassigned_at=NOW,
    ),
    SlaBreached(
        lead_id=LEAD,
        assignment_id="as1",
        rep_id="rep-alice",
        team="dach",
        deadline=NOW,
        breached_at=NOW,
        step="warn",
    ),
    LeadLinked(lead_id=LEAD, system="hubspot", external_id="5101", linked_at=NOW),
    LeadTouched(
        lead_id=LEAD,
        crm_event_id="c1",
        rep_id="rep-alice",
        channel="call",
        outcome="connected",
        touched_at=NOW,
    ),
    LeadStatusChanged(lead_id=LEAD, crm_event_id="c2", status="accepted", changed_at=NOW),
    DealClosed(
        lead_id=LEAD,
        crm_event_id="c3",
        deal_id="d1",
        stage="won",
        amount=Decimal("24000.00"),
        currency="EUR",
        recurring=True,
        closed_at=NOW,
    ),
]


def test_generated_schemas_and_asyncapi_are_current() -> None:
    stale = generate.stale()
    assert not stale, f"stale generated files {stale}: run `make schemas`"


def test_every_type_has_a_sample_and_a_topic() -> None:
    assert {type(s).event_type for s in SAMPLES} == set(EVENT_TYPES)
    assert sum(len(types_on(t)) for t in topics.ALL) == len(EVENT_TYPES)


@pytest.mark.parametrize("data", SAMPLES, ids=lambda d: type(d).event_type)
def test_round_trip(data: EventData) -> None:
    event = new_event(data, source="/tests", subject=LEAD, correlation_id="cid-1")
    parsed = CloudEvent.from_bytes(event.to_bytes())
    assert parsed.type == data.event_type
    assert parsed.correlationid == "cid-1"
    assert parse_data(parsed) == data


def test_invalid_data_names_the_field() -> None:
    event = new_event(SAMPLES[0], source="/tests", subject=LEAD)
    broken = event.model_copy(update={"data": {**event.data, "channel": "fax"}})
    with pytest.raises(InvalidEvent, match="channel"):
        parse_data(broken)


def test_unknown_type_and_garbage_are_invalid() -> None:
    with pytest.raises(InvalidEvent, match="unknown event type"):
        parse_data(CloudEvent(source="/x", type="leadloop.lead.teleported.v1"))
    with pytest.raises(InvalidEvent):
        CloudEvent.from_bytes(b"{not json")
    with pytest.raises(InvalidEvent, match="specversion"):
        CloudEvent.from_bytes(b'{"specversion": "0.3", "id": "1", "source": "/x", "type": "t"}')
