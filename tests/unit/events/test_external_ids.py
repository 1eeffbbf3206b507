"""External ids on lead events: carried, bounded to known systems, optional for old records."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from leadloop_contract.values import EXTERNAL_SYSTEMS, MAX_EXTERNAL_ID
from leadloop_events.catalog import parse_data
from leadloop_events.envelope import CloudEvent, new_event
from leadloop_events.intake import LeadCaptured, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
ANA = LeadProfile(email="ana@acme-dental.com", company="ACME Dental")
HUBSPOT_AND_SALESFORCE = {"hubspot": "5101", "salesforce": "00Q5e00000AbCdEAAZ"}


def _captured(**extra: object) -> dict[str, object]:
    return {
        "lead_id": "lead-ACME-DENTAL",
        "submission_id": "s1",
        "is_new_lead": True,
        "channel": "hubspot",
        "profile": ANA.model_dump(),
        "submitted_at": NOW.isoformat(),
        **extra,
    }


def test_the_known_systems_are_hubspot_and_salesforce() -> None:
    assert EXTERNAL_SYSTEMS == ("hubspot", "salesforce")


def test_lead_captured_carries_external_ids_through_json() -> None:
    event = LeadCaptured.model_validate(_captured(external_ids=HUBSPOT_AND_SALESFORCE))
    record = new_event(event, source="/leadloop/intake", subject=event.lead_id).model_dump_json()
    again = parse_data(CloudEvent.model_validate_json(record))
    assert isinstance(again, LeadCaptured)
    assert again.external_ids == HUBSPOT_AND_SALESFORCE


def test_records_written_before_external_ids_still_parse() -> None:
    old = LeadCaptured.model_validate_json(json.dumps(_captured()))
    assert old.external_ids == {}
    intelligence = LeadIntelligence.model_validate(
        {"profile": ANA.model_dump(), "fit": 60, "interest": 45, "grade": "A"}
    )
    assert intelligence.external_ids == {}


def test_lead_intelligence_carries_external_ids() -> None:
    intelligence = LeadIntelligence(
        profile=ANA, fit=60, interest=45, grade="A", external_ids={"hubspot": "5101"}
    )
    assert json.loads(intelligence.model_dump_json())["external_ids"] == {"hubspot": "5101"}


@pytest.mark.parametrize(
    "external_ids",
    [
        {"pipedrive": "77"},
        {"hubspot": ""},
        {"hubspot": "x" * (MAX_EXTERNAL_ID + 1)},
        {"salesforce": "00Q 5e"},
    ],
    ids=["unknown system", "empty id", "too long", "whitespace"],
)
def test_external_ids_are_bounded(external_ids: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as raised:
        LeadCaptured.model_validate(_captured(external_ids=external_ids))
    assert raised.value.errors()[0]["loc"][0] == "external_ids"
