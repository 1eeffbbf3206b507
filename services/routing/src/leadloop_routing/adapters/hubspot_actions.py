"""The lead alert in HubSpot: on lead.assigned, the contact (found by the id intake learned,
else by email, else created) gets the rep as owner, the lead status and lifecycle stage the
agreement maps (its `crm.hubspot`, captured with the job; the settings where it says
nothing), and one task for the rep (the lead intelligence, due at the SLA deadline) keyed by
the alert id; on lead.reassigned, the new owner and a task for them keyed by that event's id.

Each step leaves its result in `progress` (contact_id, owner_set, task_id), so a retried job
continues where it stopped; the task is found by its alert id before it is created, so a
crash after the create still makes one task. A contact id leadloop did not know goes into
progress["external_ids"] (the lead's identity). Errors are leadloop_connectors.http's: a 429
waits for Retry-After, a refused request fails for good with HubSpot's message."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from leadloop_connectors.hubspot import HubSpotClient
from leadloop_events.handoff import LeadAssigned, LeadReassigned
from leadloop_events.lifecycle import LeadIntelligence
from leadloop_routing.adapters import alert_text
from leadloop_routing.adapters.crm_alert import CrmAlertActions, once
from leadloop_routing.config import Settings
from leadloop_routing.domain.connectors import ConnectorJob, ConnectorResult, JobContext

SYSTEM: Final = "hubspot"


def contact_properties(intelligence: LeadIntelligence) -> dict[str, str]:
    """A new contact's properties from the lead's profile (HubSpot's internal names)."""
    p = intelligence.profile
    values = {
        "email": p.email,
        "firstname": p.first_name,
        "lastname": p.last_name,
        "company": p.company,
        "jobtitle": p.job_title,
        "country": p.country,
        "phone": p.phone,
    }  # not industry: HubSpot's is an enumeration, ours the agreement's words
    return {name: str(value) for name, value in values.items() if value not in (None, "")}


class HubSpotActions(CrmAlertActions):
    """The HubSpot connector: owner, lead status, lifecycle stage and the rep's task."""

    name = SYSTEM
    title = "HubSpot"
    id_name = "owner id"

    def __init__(
        self,
        api_url: str,
        access_token: str,
        *,
        lead_status: str = "NEW",
        lifecycle_stage: str = "salesqualifiedlead",
        dashboard_url: str | None = None,
    ) -> None:
        self.api_url, self.access_token = api_url, access_token
        self.lead_status, self.lifecycle_stage = lead_status, lifecycle_stage
        self.dashboard_url = dashboard_url

    def statuses(self, context: JobContext) -> dict[str, str]:
        """The lead status and lifecycle stage: the agreement's, else the settings'."""
        mapped = context.crm.hubspot if context.crm else None
        return {
            "hs_lead_status": (mapped and mapped.lead_status) or self.lead_status,
            "lifecyclestage": (mapped and mapped.lifecycle_stage) or self.lifecycle_stage,
        }

    def client(self) -> HubSpotClient:
        """A client for one perform (opened with `async with`)."""
        return HubSpotClient(self.api_url, self.access_token)

    async def assigned(
        self, job: ConnectorJob, alert: LeadAssigned, owner: str, progress: dict[str, Any]
    ) -> ConnectorResult:
        """Contact, owner and statuses, then the task."""
        intelligence = alert.intelligence
        async with self.client() as hubspot:
            contact_id = await self.contact(hubspot, intelligence, progress)
            properties = {"hubspot_owner_id": owner, **self.statuses(job.context)}
            await once(
                progress, "owner_set", lambda: hubspot.update_contact(contact_id, properties)
            )
            await self.task(
                hubspot,
                job,
                owner,
                contact_id,
                intelligence,
                alert.sla_deadline,
                progress,
                note=None,
            )
        return ConnectorResult.ok()

    async def reassigned(
        self, job: ConnectorJob, moved: LeadReassigned, owner: str, progress: dict[str, Any]
    ) -> ConnectorResult:
        """The new owner on the contact, and a task for them."""
        if moved.intelligence is None:
            return ConnectorResult.failed(
                f"the reassignment of {moved.lead_id} carries no lead intelligence to find "
                "its HubSpot contact by (an erased lead, or an event from an older routing)"
            )
        async with self.client() as hubspot:
            contact_id = await self.contact(hubspot, moved.intelligence, progress)
            owner_only = {"hubspot_owner_id": owner}
            await once(
                progress, "owner_set", lambda: hubspot.update_contact(contact_id, owner_only)
            )
            note = f"Reassigned to you: {moved.reason}"
            await self.task(
                hubspot,
                job,
                owner,
                contact_id,
                moved.intelligence,
                moved.sla_deadline,
                progress,
                note=note,
            )
        return ConnectorResult.ok()

    async def contact(
        self, hubspot: HubSpotClient, intelligence: LeadIntelligence, progress: dict[str, Any]
    ) -> str:
        """The lead's contact: from progress, the known id (if HubSpot still has it), else
        found by email or created; an id leadloop did not know goes to external_ids."""
        known = progress.get("contact_id")
        if isinstance(known, str) and known:
            return known
        contact_id = intelligence.external_ids.get(SYSTEM)
        if contact_id and await hubspot.get_contact(contact_id, ("email",)) is None:
            contact_id = None  # merged or deleted in HubSpot: find it again by email
        if not contact_id:
            email = intelligence.profile.email
            contact_id = await hubspot.ensure_contact(email, contact_properties(intelligence))
        if contact_id != intelligence.external_ids.get(SYSTEM):
            progress["external_ids"] = {SYSTEM: contact_id}
        progress["contact_id"] = contact_id
        return contact_id

    async def task(
        self,
        hubspot: HubSpotClient,
        job: ConnectorJob,
        owner: str,
        contact_id: str,
        intelligence: LeadIntelligence,
        due_at: datetime | None,
        progress: dict[str, Any],
        *,
        note: str | None,
    ) -> None:
        """This event's one task for the owner on the contact (found by the event id)."""
        await once(
            progress,
            "task_id",
            lambda: hubspot.ensure_task(
                alert_id=job.event_id,
                owner_id=owner,
                contact_id=contact_id,
                subject=alert_text.task_subject(intelligence, reassigned=note is not None),
                body=alert_text.task_body(
                    intelligence,
                    lead_id=job.lead_id,
                    deadline=due_at,
                    dashboard_url=self.dashboard_url,
                    note=note,
                ),
                due_at=due_at or job_time(job),
            ),
        )


def job_time(job: ConnectorJob) -> datetime:
    """The event's time (a due date when the event names no deadline)."""
    return datetime.fromisoformat(str(job.payload["time"]).replace("Z", "+00:00"))


def connector(settings: Settings) -> HubSpotActions:
    """The HubSpot connector from routing's settings (enabled with the access token)."""
    if settings.hubspot_access_token is None:
        raise ValueError("the HubSpot connector needs LEADLOOP_HUBSPOT_ACCESS_TOKEN")
    return HubSpotActions(
        settings.hubspot_api_url,
        settings.hubspot_access_token.get_secret_value(),
        lead_status=settings.hubspot_lead_status,
        lifecycle_stage=settings.hubspot_lifecycle_stage,
        dashboard_url=settings.dashboard_url,
    )
