"""The lead alert in Salesforce: on lead.assigned, the Lead upserted by its leadloop id
(`Leadloop_Id__c`; a Lead already there with the lead's email is linked to it first, so it is
updated, not duplicated) with the profile, the rep as `OwnerId` and the `Status` the agreement
maps (its `crm.salesforce`, captured with the job; the setting where it says nothing),
then one Task for the rep (the lead intelligence, due on the SLA deadline's date) upserted by
the alert id (`Leadloop_Alert_Id__c`); on lead.reassigned, the Lead's new owner and a Task for
them upserted by that event's id.

Each step leaves its result in `progress` (salesforce_lead_id, task_id): a retried job
continues where it stopped, and the upserts make a repeated step one record. The Lead's id
goes into progress["external_ids"] when leadloop did not know it (the lead's identity)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from leadloop_connectors.salesforce import (
    LEAD_EXTERNAL_FIELD,
    TASK_EXTERNAL_FIELD,
    SalesforceClient,
    soql_quote,
)
from leadloop_events.handoff import LeadAssigned, LeadReassigned
from leadloop_events.lifecycle import LeadIntelligence
from leadloop_routing.adapters import alert_text
from leadloop_routing.adapters.crm_alert import CrmAlertActions, once
from leadloop_routing.config import Settings
from leadloop_routing.domain.connectors import ConnectorJob, ConnectorResult, JobContext

SYSTEM: Final = "salesforce"


def lead_fields(intelligence: LeadIntelligence, owner_id: str, status: str) -> dict[str, Any]:
    """The Lead's fields from the profile (absent values left out: never cleared)."""
    p = intelligence.profile
    return {
        "Email": p.email,
        "FirstName": p.first_name,
        "LastName": p.last_name,
        "Company": p.company,
        "Title": p.job_title,
        "Country": p.country,
        "OwnerId": owner_id,
        "Status": status,
    }


def task_fields(
    lead_record_id: str, owner_id: str, subject: str, description: str, due: str | None
) -> dict[str, Any]:
    """A follow-up Task on the Lead for its owner."""
    return {
        "WhoId": lead_record_id,
        "OwnerId": owner_id,
        "Subject": subject,
        "Description": description,
        "ActivityDate": due,
        "Status": "Not Started",
        "Priority": "High",
    }


class SalesforceActions(CrmAlertActions):
    """The Salesforce connector: the Lead with its owner and status, and the rep's Task."""

    name = SYSTEM
    title = "Salesforce"
    id_name = "User id"

    def __init__(
        self,
        instance_url: str,
        client_id: str,
        client_secret: str,
        *,
        lead_status: str = "Open - Not Contacted",
        dashboard_url: str | None = None,
    ) -> None:
        self.credentials = (instance_url, client_id, client_secret)
        self.lead_status, self.dashboard_url = lead_status, dashboard_url

    def status(self, context: JobContext) -> str:
        """The Lead's Status: the agreement's, else the setting's."""
        mapped = context.crm.salesforce if context.crm else None
        return (mapped and mapped.lead_status) or self.lead_status

    def client(self) -> SalesforceClient:
        """A client for one perform (a token per perform: client credentials are cheap)."""
        return SalesforceClient(*self.credentials)

    async def assigned(
        self, job: ConnectorJob, alert: LeadAssigned, owner: str, progress: dict[str, Any]
    ) -> ConnectorResult:
        """The Lead (owner, status), then the Task."""
        intelligence = alert.intelligence
        async with self.client() as salesforce:

            async def upsert() -> str:
                status = self.status(job.context)
                record_id = await self.upsert_lead(
                    salesforce, job.lead_id, intelligence, owner, status
                )
                if record_id != intelligence.external_ids.get(SYSTEM):
                    progress["external_ids"] = {SYSTEM: record_id}
                return record_id

            record_id = await once(progress, "salesforce_lead_id", upsert)
            await self.task(
                salesforce,
                job,
                str(record_id),
                owner,
                intelligence,
                alert.sla_deadline,
                progress,
                note=None,
            )
        return ConnectorResult.ok()

    async def reassigned(
        self, job: ConnectorJob, moved: LeadReassigned, owner: str, progress: dict[str, Any]
    ) -> ConnectorResult:
        """The Lead's new owner, and a Task for them."""
        async with self.client() as salesforce:
            record_id = progress.get("salesforce_lead_id")
            if not record_id:
                record_id = await self.lead_by_leadloop_id(salesforce, job.lead_id)
                if record_id is None:
                    return ConnectorResult.failed(
                        f"no Salesforce Lead has {LEAD_EXTERNAL_FIELD} = {job.lead_id} "
                        "(its lead alert's delivery did not create one): redeliver that first"
                    )
                progress["salesforce_lead_id"] = record_id
            await once(progress, "owner_set", lambda: salesforce.set_owner(str(record_id), owner))
            if moved.intelligence is not None:
                note = f"Reassigned to you: {moved.reason}"
                await self.task(
                    salesforce,
                    job,
                    str(record_id),
                    owner,
                    moved.intelligence,
                    moved.sla_deadline,
                    progress,
                    note=note,
                )
        return ConnectorResult.ok()

    async def upsert_lead(
        self,
        salesforce: SalesforceClient,
        lead_id: str,
        intelligence: LeadIntelligence,
        owner: str,
        status: str,
    ) -> str:
        """The Lead of this lead: upserted by its leadloop id; a Lead with the lead's email
        and no leadloop id yet is linked first (so the upsert updates it)."""
        if await self.lead_by_leadloop_id(salesforce, lead_id) is None:
            existing = await salesforce.find_lead_by_email(intelligence.profile.email)
            if existing is not None:
                await salesforce.update("Lead", existing, {LEAD_EXTERNAL_FIELD: lead_id})
        fields = lead_fields(intelligence, owner, status)
        record_id, _ = await salesforce.upsert_lead(LEAD_EXTERNAL_FIELD, lead_id, fields)
        return record_id

    async def lead_by_leadloop_id(self, salesforce: SalesforceClient, lead_id: str) -> str | None:
        """The id of the Lead carrying this leadloop id, if there is one."""
        soql = f"SELECT Id FROM Lead WHERE {LEAD_EXTERNAL_FIELD} = {soql_quote(lead_id)} LIMIT 1"
        records = await salesforce.query(soql)
        return str(records[0]["Id"]) if records else None

    async def task(
        self,
        salesforce: SalesforceClient,
        job: ConnectorJob,
        record_id: str,
        owner: str,
        intelligence: LeadIntelligence,
        deadline: datetime | None,
        progress: dict[str, Any],
        *,
        note: str | None,
    ) -> None:
        """This event's one Task (upserted by the event id)."""
        if progress.get("task_id"):
            return
        body = alert_text.task_body(
            intelligence,
            lead_id=job.lead_id,
            deadline=deadline,
            dashboard_url=self.dashboard_url,
            note=note,
        )
        subject = alert_text.task_subject(intelligence, reassigned=note is not None)
        due = deadline.astimezone(UTC).date().isoformat() if deadline is not None else None
        fields = task_fields(record_id, owner, subject, body, due)
        progress["task_id"] = await salesforce.upsert_task(
            TASK_EXTERNAL_FIELD, job.event_id, fields
        )


def connector(settings: Settings) -> SalesforceActions:
    """The Salesforce connector from routing's settings (enabled with its three credentials)."""
    url, client_id = settings.salesforce_instance_url, settings.salesforce_client_id
    secret = settings.salesforce_client_secret
    if not (url and client_id and secret is not None):
        raise ValueError(
            "the Salesforce connector needs LEADLOOP_SALESFORCE_INSTANCE_URL, _CLIENT_ID and "
            "_CLIENT_SECRET"
        )
    return SalesforceActions(
        url,
        client_id,
        secret.get_secret_value(),
        lead_status=settings.salesforce_lead_status,
        dashboard_url=settings.dashboard_url,
    )
