"""Events published by routing on `leads.handoff`: the lead alert, the SLA, and the CRM
records its connectors linked to a lead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from leadloop_contract.values import ExternalId, ExternalSystem
from leadloop_events import topics
from leadloop_events.bounds import Email, Note, Text
from leadloop_events.envelope import EventData
from leadloop_events.lifecycle import LeadIntelligence

MAX_CRM_IDS = 8
"""CRM ids of one rep: one per CRM (hubspot, salesforce today; room for a few more)."""
CrmSystem = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
]
CrmIds = Annotated[dict[CrmSystem, ExternalId], Field(max_length=MAX_CRM_IDS)]
"""A rep's ids in the CRMs, by system: `{"hubspot": "<owner id>", "salesforce": "<User id>"}`.
Keys are not limited to today's systems, so a consumer that knows fewer CRMs still reads it."""


class LeadAssigned(EventData):
    """The lead alert: an SQL has an owner and a follow-up deadline."""

    event_type: ClassVar[str] = "leadloop.lead.assigned.v1"
    topic: ClassVar[str] = topics.HANDOFF

    lead_id: Text
    assignment_id: Text
    owner_rep_id: Text | None
    owner_email: Email | None = None
    owner_name: Text | None = None
    owner_crm_ids: CrmIds = Field(
        default_factory=dict,
        description="the owner's ids in the CRMs (hubspot owner id, salesforce User id), "
        "where a CRM connector sets the record's owner; absent in older records",
    )
    team: Text
    business: Literal["new", "existing"]
    sla_deadline: datetime
    agreement_version: Text
    intelligence: LeadIntelligence
    assigned_at: datetime


class LeadReassigned(EventData):
    """The SLA escalated the lead to another rep, or to the team queue (`to_rep_id` None);
    `owner_name` is the new owner's name."""

    event_type: ClassVar[str] = "leadloop.lead.reassigned.v1"
    topic: ClassVar[str] = topics.HANDOFF

    lead_id: Text
    assignment_id: Text
    from_rep_id: Text | None
    to_rep_id: Text | None
    owner_name: Text | None = None
    to_crm_ids: CrmIds = Field(
        default_factory=dict,
        description="the new owner's ids in the CRMs (hubspot owner id, salesforce User id); "
        "empty for the team queue; absent in older records",
    )
    intelligence: LeadIntelligence | None = Field(
        default=None,
        description="the lead intelligence, as lead.assigned carries it, for the new owner's "
        "alert (the CRM task, finding the CRM record); absent for an erased lead and in older "
        "records",
    )
    team: Text
    reason: Note
    attempt: int
    sla_deadline: datetime | None
    reassigned_at: datetime


class SlaBreached(EventData):
    """Sales missed the agreed first-touch deadline; `step` is the escalation taken."""

    event_type: ClassVar[str] = "leadloop.lead.sla_breached.v1"
    topic: ClassVar[str] = topics.HANDOFF

    lead_id: Text
    assignment_id: Text
    rep_id: Text | None
    team: Text
    deadline: datetime
    breached_at: datetime
    step: Literal["warn", "notify_manager", "reassign", "queue"]


class LeadLinked(EventData):
    """A CRM connector linked the lead to a CRM record under an id leadloop did not know.

    The record (a HubSpot contact, a Salesforce Lead) was found by email or created; its id
    is now one of the lead's external ids, by which CRM input about it resolves."""

    event_type: ClassVar[str] = "leadloop.lead.linked.v1"
    topic: ClassVar[str] = topics.HANDOFF

    lead_id: Text
    system: ExternalSystem
    external_id: ExternalId
    linked_at: datetime
