"""Salesforce notifications onto feedback's items: statuses, touches, deals, and the skips."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from leadloop_connectors.salesforce import Notification, parse_outbound_message
from leadloop_feedback.domain.crm import Deal, StatusUpdate, Touch
from leadloop_feedback.domain.salesforce_map import (
    LeadRef,
    Planned,
    SalesforceMapping,
    Skipped,
    plan,
)
from tests.vendors.salesforce import outbound_message

NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
LEAD = "lead-ACME-DENTAL"
SF_LEAD = "00Q5e00000AcMeDEAL"
ALICE = "0055e00000AlIcEAAA"


def notification(sobject: str, fields: dict[str, Any]) -> Notification:
    [only] = parse_outbound_message(outbound_message([(sobject, fields)])).notifications
    return only


def planned(sobject: str, fields: dict[str, Any], mapping: SalesforceMapping) -> Planned:
    result = plan(notification(sobject, fields), mapping, NOW)
    assert isinstance(result, Planned), result
    return result


def skipped(sobject: str, fields: dict[str, Any], mapping: SalesforceMapping) -> Skipped:
    result = plan(notification(sobject, fields), mapping, NOW)
    assert isinstance(result, Skipped), result
    return result


@pytest.mark.parametrize(
    ("status", "expected"),
    [("Working - Contacted", "working"), ("Closed - Converted", "opportunity")],
)
def test_standard_lead_statuses_become_crm_statuses(status: str, expected: str) -> None:
    fields = {"Id": SF_LEAD, "Status": status, "OwnerId": ALICE, "Leadloop_Id__c": LEAD}
    result = planned("Lead", fields, SalesforceMapping())
    assert result.lead == LeadRef(LEAD, (SF_LEAD,), None)
    assert result.owner_id == ALICE
    item = result.item(LEAD, "rep-alice")
    assert isinstance(item, StatusUpdate)
    assert (item.status, item.lead_id, item.rep_id) == (expected, LEAD, "rep-alice")
    assert item.crm_event_id == result.notification_id
    assert item.changed_at == NOW


def test_a_rejection_carries_its_reason_from_the_configured_field() -> None:
    fields = {
        "Id": SF_LEAD,
        "Status": "Closed - Not Converted",
        "Why__c": "no-budget",
        "LastModifiedDate": "2026-11-04T10:02:00.000Z",
    }
    item = planned("Lead", fields, SalesforceMapping(reason_field="Why__c")).item(LEAD, None)
    assert isinstance(item, StatusUpdate)
    assert (item.status, item.reason_code) == ("unqualified", "no-budget")
    assert item.changed_at == datetime(2026, 11, 4, 10, 2, tzinfo=UTC)


def test_the_status_map_extends_and_overrides_the_defaults() -> None:
    mapping = SalesforceMapping(statuses={"Nurture": "recycled", "Working - Contacted": None})
    nurture = planned("Lead", {"Id": SF_LEAD, "Status": "Nurture"}, mapping)
    assert nurture.fields["status"] == "recycled"
    assert skipped("Lead", {"Id": SF_LEAD, "Status": "Working - Contacted"}, mapping).code == (
        "status_not_used"
    )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Id": SF_LEAD, "Status": "Waiting for Godot"}, "unmapped_status"),
        ({"Id": SF_LEAD, "Status": "Open - Not Contacted"}, "status_not_used"),
        ({"Id": SF_LEAD, "OwnerId": ALICE}, "no_status"),
    ],
)
def test_leads_without_a_mapped_status_are_skipped(fields: dict[str, Any], code: str) -> None:
    assert skipped("Lead", fields, SalesforceMapping()).code == code


@pytest.mark.parametrize(
    ("subtype", "task_type", "channel", "outcome"),
    [
        ("Call", None, "call", "attempted"),
        ("Email", None, "email", "attempted"),
        ("Task", "Meeting", "meeting", "connected"),
        (None, "Call", "call", "attempted"),
        ("LinkedIn", None, "social", "attempted"),
    ],
)
def test_a_completed_task_is_a_touch_of_its_channel(
    subtype: str | None, task_type: str | None, channel: str, outcome: str
) -> None:
    fields = {
        "Id": "00T5e00000TaSkAAAA",
        "WhoId": SF_LEAD,
        "OwnerId": ALICE,
        "Status": "Completed",
        "TaskSubtype": subtype,
        "Type": task_type,
        "CompletedDateTime": "2026-11-04T10:12:00.000Z",
    }
    result = planned("Task", fields, SalesforceMapping())
    assert result.lead == LeadRef(salesforce_ids=(SF_LEAD,))
    item = result.item(LEAD, "rep-alice")
    assert isinstance(item, Touch)
    assert (item.channel, item.outcome, item.rep_id) == (channel, outcome, "rep-alice")
    assert item.touched_at == datetime(2026, 11, 4, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Id": "00T5e00000TaSkAAAA", "WhoId": SF_LEAD, "Status": "Not Started"}, "task_open"),
        (
            {"Id": "00T5e00000TaSkAAAA", "WhoId": SF_LEAD, "IsClosed": True, "Type": "Other"},
            "not_a_touch",
        ),
        (
            {"Id": "00T5e00000TaSkAAAA", "IsClosed": True, "TaskSubtype": "Call"},
            "no_lead_reference",
        ),
    ],
)
def test_open_or_non_contact_tasks_are_skipped(fields: dict[str, Any], code: str) -> None:
    assert skipped("Task", fields, SalesforceMapping()).code == code


@pytest.mark.parametrize(
    ("fields", "stage"),
    [
        ({"IsClosed": True, "IsWon": True, "StageName": "Signed"}, "won"),
        ({"IsClosed": True, "IsWon": False}, "lost"),
        ({"IsClosed": False, "StageName": "Closed Won"}, "created"),
        ({"StageName": "Closed Won"}, "won"),
        ({"StageName": "Closed Lost"}, "lost"),
        ({"StageName": "Prospecting"}, "created"),
    ],
)
def test_an_opportunity_is_a_deal_of_its_stage(fields: dict[str, Any], stage: str) -> None:
    record = {"Id": "0065e00000ABCdeAAF", "Amount": "24000.0", "Leadloop_Id__c": LEAD, **fields}
    item = planned("Opportunity", record, SalesforceMapping(currency="USD")).item(LEAD, None)
    assert isinstance(item, Deal)
    assert (item.deal_id, item.stage) == ("0065e00000ABCdeAAF", stage)
    assert (item.amount, item.currency) == (Decimal("24000.00"), "USD")


def test_an_opportunity_names_its_currency_and_contact() -> None:
    record = {
        "Id": "0065e00000ABCdeAAF",
        "ContactId": "0035e00000XyZabAAB",
        "CurrencyIsoCode": "JPY",
        "StageName": "Prospecting",
    }
    result = planned("Opportunity", record, SalesforceMapping())
    assert result.lead == LeadRef(None, ("0035e00000XyZabAAB",))
    item = result.item(LEAD, None)
    assert isinstance(item, Deal)
    assert (item.amount, item.currency) == (Decimal("0.00"), "JPY")


def test_an_opportunity_naming_no_lead_and_other_objects_are_skipped() -> None:
    no_lead = {"Id": "0065e00000ABCdeAAF", "StageName": "Closed Won"}
    assert skipped("Opportunity", no_lead, SalesforceMapping()).code == "no_lead_reference"
    assert skipped("Account", {"Id": "0015e00000ABCdeAAF"}, SalesforceMapping()).code == (
        "not_read"
    )
