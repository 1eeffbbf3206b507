"""Events published by intake on `leads.intake`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from leadloop_contract.bounds import FreeForm, Note, Text, Url
from leadloop_contract.profile import LeadProfile
from leadloop_contract.values import ACTIVITY_TYPES, ActivityType, ExternalIds, ExternalSystem
from leadloop_events import topics
from leadloop_events.envelope import EventData

__all__ = [
    "ACTIVITY_TYPES",
    "ActivityRecorded",
    "ActivityType",
    "CrmNotificationReceived",
    "ExternalIds",
    "LeadCaptured",
    "LeadErased",
    "LeadProfile",
    "Utm",
]


class Utm(BaseModel):
    """UTM parameters of the page the form was filled on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Text | None = None
    medium: Text | None = None
    campaign: Text | None = None
    term: Text | None = None
    content: Text | None = None


class LeadCaptured(EventData):
    """A form fill (or import row, or HubSpot webhook) was accepted for a lead."""

    event_type: ClassVar[str] = "leadloop.lead.captured.v1"
    topic: ClassVar[str] = topics.INTAKE

    lead_id: Text
    submission_id: Text
    is_new_lead: bool
    channel: Literal["form", "hubspot", "import"]
    profile: LeadProfile
    source: Text | None = None
    campaign: Text | None = None
    form_id: Text | None = None
    page_url: Url | None = None
    utm: Utm | None = None
    consent: bool | None = None
    fields: FreeForm = Field(default_factory=dict)
    submitted_at: datetime
    external_ids: ExternalIds = Field(
        default_factory=dict,
        description="the lead's ids in other systems as intake knows them after this capture "
        "(the submission's merged into the ones known before); absent in older records",
    )
    import_id: str | None = Field(
        default=None,
        max_length=64,
        description="the CSV import the row came from (`GET /v1/imports/{id}`); absent from "
        "form fills, webhooks and older records",
    )

    @model_serializer(mode="wrap")
    def _without_absent_import(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A capture outside an import is written as before: no `import_id` key at all."""
        data: dict[str, Any] = handler(self)
        if data.get("import_id") is None:
            data.pop("import_id", None)
        return data


class ActivityRecorded(EventData):
    """A behaviour signal for a known lead."""

    event_type: ClassVar[str] = "leadloop.lead.activity_recorded.v1"
    topic: ClassVar[str] = topics.INTAKE

    lead_id: Text
    activity_id: Text
    activity_type: ActivityType
    occurred_at: datetime
    url: Url | None = None
    asset: Text | None = None
    campaign: Text | None = None
    properties: FreeForm = Field(default_factory=dict)


class LeadErased(EventData):
    """GDPR erasure: every service must forget this person's personal data."""

    event_type: ClassVar[str] = "leadloop.lead.erased.v1"
    topic: ClassVar[str] = topics.INTAKE

    lead_id: Text
    erased_at: datetime
    reason: Note | None = None


class CrmNotificationReceived(EventData):
    """A CRM told leadloop that sales changed something (a deal, a logged call, meeting or email,
    a contact's lead status or lifecycle stage). Intake received and verified it at the one
    target URL and relays it as the CRM sent it (ids only); feedback reads the rest from the
    CRM and records the touch, status update or deal."""

    event_type: ClassVar[str] = "leadloop.crm.notification_received.v1"
    topic: ClassVar[str] = topics.INTAKE

    system: ExternalSystem
    subscription_type: Text = Field(description="as the CRM names it, e.g. deal.propertyChange")
    object_type: Text = Field(description="contact, deal, call, meeting, email, ...")
    object_id: Text
    property_name: Text | None = None
    property_value: Note | None = None
    occurred_at: datetime
    event_key: Text = Field(
        description="the notification's identity in the CRM (HubSpot: portal, subscription "
        "type, object and event id): the same key is the same notification, delivered again"
    )
