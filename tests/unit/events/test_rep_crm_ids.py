"""The owner's CRM ids on lead.assigned and lead.reassigned: carried, bounded, optional."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from leadloop_events.catalog import parse_data
from leadloop_events.envelope import CloudEvent, new_event
from leadloop_events.handoff import MAX_CRM_IDS, LeadAssigned, LeadReassigned
from leadloop_events.intake import LeadProfile
from leadloop_events.lifecycle import LeadIntelligence

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
INTEL = LeadIntelligence(
    profile=LeadProfile(email="ana@acme-dental.com", company="ACME Dental"),
    fit=60,
    interest=45,
    grade="A",
)
ALICE_IN_CRMS = {"hubspot": "8101", "salesforce": "0055e000001AbCdAAK"}


def _assigned(**extra: Any) -> dict[str, Any]:
    return {
        "lead_id": "lead-ACME-DENTAL",
        "assignment_id": "a-1",
        "owner_rep_id": "rep-alice",
        "team": "nordics",
        "business": "new",
        "sla_deadline": (NOW + timedelta(hours=1)).isoformat(),
        "agreement_version": "2026-11",
        "intelligence": INTEL.model_dump(mode="json"),
        "assigned_at": NOW.isoformat(),
        **extra,
    }


def _reassigned(**extra: Any) -> dict[str, Any]:
    return {
        "lead_id": "lead-ACME-DENTAL",
        "assignment_id": "a-1",
        "from_rep_id": "rep-alice",
        "to_rep_id": "rep-bob",
        "team": "nordics",
        "reason": "SLA",
        "attempt": 1,
        "sla_deadline": None,
        "reassigned_at": NOW.isoformat(),
        **extra,
    }


def test_lead_assigned_carries_the_owners_crm_ids_through_json() -> None:
    event = LeadAssigned.model_validate(_assigned(owner_crm_ids=ALICE_IN_CRMS))
    record = new_event(event, source="/leadloop/routing", subject=event.lead_id).model_dump_json()
    again = parse_data(CloudEvent.model_validate_json(record))
    assert isinstance(again, LeadAssigned)
    assert again.owner_crm_ids == ALICE_IN_CRMS


def test_lead_reassigned_carries_the_new_owners_crm_ids() -> None:
    event = LeadReassigned.model_validate(_reassigned(to_crm_ids={"hubspot": "8102"}))
    assert json.loads(event.model_dump_json())["to_crm_ids"] == {"hubspot": "8102"}


def test_records_written_before_crm_ids_still_parse() -> None:
    assert LeadAssigned.model_validate_json(json.dumps(_assigned())).owner_crm_ids == {}
    assert LeadReassigned.model_validate_json(json.dumps(_reassigned())).to_crm_ids == {}


@pytest.mark.parametrize(
    "crm_ids",
    [
        {f"crm{i}": str(i) for i in range(MAX_CRM_IDS + 1)},
        {"hubspot": "x" * 65},
        {"hubspot": "81 01"},
        {"HubSpot": "8101"},
        {"hubspot": ""},
    ],
    ids=["too-many", "id-too-long", "id-with-space", "system-not-lower-case", "empty-id"],
)
def test_crm_ids_are_bounded(crm_ids: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        LeadAssigned.model_validate(_assigned(owner_crm_ids=crm_ids))
    with pytest.raises(ValidationError):
        LeadReassigned.model_validate(_reassigned(to_crm_ids=crm_ids))
