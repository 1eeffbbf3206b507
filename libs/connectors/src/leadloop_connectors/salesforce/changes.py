"""The records leadloop reads back from Outbound Messages, typed: a Lead (status, owner,
conversion), a Task (a touch once completed) and an Opportunity (stage, amount, close date,
won or lost). Fields the message was not set up to carry are None; the guide lists the fields
to choose in the Outbound Message (standard field API names, docs: Object Reference)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from leadloop_connectors.salesforce.client import LEAD_EXTERNAL_FIELD, TASK_EXTERNAL_FIELD
from leadloop_connectors.salesforce.outbound import SObject


@dataclass(frozen=True)
class LeadChange:
    """A Lead's status or owner changed (or it was converted)."""

    id: str
    status: str | None
    owner_id: str | None
    email: str | None
    leadloop_id: str | None
    is_converted: bool | None
    converted_contact_id: str | None
    converted_opportunity_id: str | None


@dataclass(frozen=True)
class TaskChange:
    """A Task on a Lead or Contact (WhoId): a call, email or meeting logged by the rep."""

    id: str
    who_id: str | None
    owner_id: str | None
    subject: str | None
    status: str | None
    is_closed: bool | None
    task_subtype: str | None
    completed_at: str | None
    alert_id: str | None


@dataclass(frozen=True)
class OpportunityChange:
    """An Opportunity's stage, amount or close date changed."""

    id: str
    stage: str | None
    amount: Decimal | None
    close_date: date | None
    is_won: bool | None
    is_closed: bool | None
    account_id: str | None
    contact_id: str | None
    owner_id: str | None
    leadloop_id: str | None


Change = LeadChange | TaskChange | OpportunityChange


def _id(record: SObject) -> str:
    if not record.id:
        raise ValueError(f"{record.type} without its Id field")
    return record.id


def lead_change(record: SObject, leadloop_field: str = LEAD_EXTERNAL_FIELD) -> LeadChange:
    """The Lead of a notification."""
    return LeadChange(
        id=_id(record),
        status=record.get("Status"),
        owner_id=record.get("OwnerId"),
        email=record.get("Email"),
        leadloop_id=record.get(leadloop_field),
        is_converted=record.flag("IsConverted"),
        converted_contact_id=record.get("ConvertedContactId"),
        converted_opportunity_id=record.get("ConvertedOpportunityId"),
    )


def task_change(record: SObject, alert_field: str = TASK_EXTERNAL_FIELD) -> TaskChange:
    """The Task of a notification."""
    return TaskChange(
        id=_id(record),
        who_id=record.get("WhoId"),
        owner_id=record.get("OwnerId"),
        subject=record.get("Subject"),
        status=record.get("Status"),
        is_closed=record.flag("IsClosed"),
        task_subtype=record.get("TaskSubtype"),
        completed_at=record.get("CompletedDateTime"),
        alert_id=record.get(alert_field),
    )


def opportunity_change(
    record: SObject, leadloop_field: str = LEAD_EXTERNAL_FIELD
) -> OpportunityChange:
    """The Opportunity of a notification; ValueError for an amount or date it cannot read."""
    amount, close = record.get("Amount"), record.get("CloseDate")
    try:
        parsed_amount = Decimal(amount) if amount else None
    except InvalidOperation as exc:
        raise ValueError(f"Opportunity {record.id}: Amount {amount!r} is not a number") from exc
    try:
        parsed_close = date.fromisoformat(close) if close else None
    except ValueError as exc:
        raise ValueError(f"Opportunity {record.id}: CloseDate {close!r} is not a date") from exc
    return OpportunityChange(
        id=_id(record),
        stage=record.get("StageName"),
        amount=parsed_amount,
        close_date=parsed_close,
        is_won=record.flag("IsWon"),
        is_closed=record.flag("IsClosed"),
        account_id=record.get("AccountId"),
        contact_id=record.get("ContactId"),
        owner_id=record.get("OwnerId"),
        leadloop_id=record.get(leadloop_field),
    )


def change_of(
    record: SObject,
    *,
    lead_field: str = LEAD_EXTERNAL_FIELD,
    alert_field: str = TASK_EXTERNAL_FIELD,
) -> Change:
    """The typed change of a Lead, Task or Opportunity; ValueError for any other type."""
    if record.type == "Lead":
        return lead_change(record, lead_field)
    if record.type == "Task":
        return task_change(record, alert_field)
    if record.type == "Opportunity":
        return opportunity_change(record, lead_field)
    raise ValueError(f"sObject type {record.type} is not read (Lead, Task or Opportunity)")
