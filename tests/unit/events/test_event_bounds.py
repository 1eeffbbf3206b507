"""No event can outgrow the broker's record limit, and no consumer trusts a type on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from leadloop_contract.agreement import EXAMPLE_FILE, MAX_DOCUMENT_BYTES, load_agreement
from leadloop_events import topics
from leadloop_events.agreement import AgreementPublished
from leadloop_events.bounds import MAX_ITEMS, MAX_TEXT
from leadloop_events.catalog import check_origin
from leadloop_events.envelope import CloudEvent, new_event
from leadloop_events.feedback import DealClosed
from leadloop_events.intake import ActivityRecorded, LeadErased, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
LEAD = "lead-ACME-DENTAL"
ANA = LeadProfile(email="ana@acme-dental.com", company="ACME Dental")


def test_an_over_long_text_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="company"):
        LeadProfile(email="ana@acme-dental.com", company="x" * (MAX_TEXT + 1))


def test_an_over_long_list_is_refused() -> None:
    campaigns = [f"campaign-{n}" for n in range(MAX_ITEMS + 1)]
    with pytest.raises(ValidationError, match="campaigns"):
        LeadIntelligence(profile=ANA, fit=1, interest=1, grade="A", campaigns=campaigns)
    with pytest.raises(ValidationError, match="products"):
        DealClosed(
            lead_id=LEAD,
            crm_event_id="crm-1",
            deal_id="deal-1",
            stage="won",
            amount=1,
            currency="EUR",
            products=campaigns,
            closed_at=NOW,
        )


def test_deeply_nested_activity_properties_are_refused() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(20):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(ValidationError, match="nested deeper"):
        ActivityRecorded(
            lead_id=LEAD,
            activity_id="a1",
            activity_type="page_view",
            occurred_at=NOW,
            properties=deep,
        )


def test_an_agreement_document_over_the_limit_is_refused() -> None:
    document = load_agreement(EXAMPLE_FILE.read_text()).model_dump(mode="json")
    document["rejection_reasons"] = ["r" * 1000] * (MAX_DOCUMENT_BYTES // 1000 + 1)
    with pytest.raises(ValidationError, match="bytes as JSON"):
        AgreementPublished(version="v1", published_at=NOW, checksum="0" * 64, document=document)


def test_an_envelope_id_longer_than_its_column_is_invalid() -> None:
    with pytest.raises(ValidationError):
        CloudEvent(id="x" * 65, source="/leadloop/intake", type="leadloop.lead.erased.v1")


def test_new_event_defaults_to_the_owning_producer() -> None:
    event = new_event(LeadErased(lead_id=LEAD, erased_at=NOW), subject=LEAD)
    assert event.source == "/leadloop/intake"
    check_origin(event, "t-1." + topics.INTAKE)  # a test prefix on the topic is fine


def _deal_closed() -> DealClosed:
    return DealClosed(
        lead_id=LEAD,
        crm_event_id="crm-1",
        deal_id="d1",
        stage="won",
        amount=5000,
        currency="EUR",
        closed_at=NOW,
    )


def test_an_event_on_a_foreign_topic_is_refused() -> None:
    event = new_event(_deal_closed(), subject=LEAD)
    with pytest.raises(ValueError, match=r"belongs on leads\.feedback"):
        check_origin(event, topics.INTAKE)


def test_an_event_from_a_foreign_producer_is_refused() -> None:
    changed = LeadStageChanged(
        lead_id="lead-NEVER-EXISTED",
        from_stage="mql",
        to_stage="sql",
        reason="forged",
        agreement_version="v1",
        changed_at=NOW,
    )
    event = new_event(changed, subject="lead-NEVER-EXISTED", source="/leadloop/intake")
    with pytest.raises(ValueError, match="comes only from /leadloop/scoring"):
        check_origin(event, topics.LIFECYCLE)
