"""The CRM side of the lead alert, without a CRM: the task's subject and body, the Lead's and
Task's fields, the contact's properties, and a rep no CRM knows failing for good (no call)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from leadloop_contract.agreement.crm import CrmMapping, HubSpotMapping, SalesforceMapping
from leadloop_events.envelope import new_event
from leadloop_events.handoff import LeadAssigned, LeadReassigned
from leadloop_events.lifecycle import LeadIntelligence, ScoreLine, TimelineEntry
from leadloop_routing.adapters import alert_text
from leadloop_routing.adapters.connectors import CONNECTORS, build_connectors
from leadloop_routing.adapters.hubspot_actions import HubSpotActions, contact_properties
from leadloop_routing.adapters.salesforce_actions import (
    SalesforceActions,
    lead_fields,
    task_fields,
)
from leadloop_routing.config import Settings
from leadloop_routing.domain.connectors import ConnectorJob, JobContext

from ...factories import intelligence

DEADLINE = datetime(2026, 11, 3, 14, 30, tzinfo=UTC)


def scored() -> LeadIntelligence:
    """ACME Dental's head of operations with a score breakdown and a journey."""
    base = intelligence()
    lines = [
        ScoreLine(rule="title", kind="fit", points=20, reason="Head of Operations"),
        ScoreLine(rule="demo", kind="interest", points=30, reason="asked for a demo\nBcc: x"),
        ScoreLine(rule="gmail", kind="negative", points=-5, reason="free mail"),
        *[ScoreLine(rule=f"visit{i}", kind="interest", points=1, reason="visit") for i in range(6)],
    ]
    timeline = [
        TimelineEntry(
            activity_type="demo_request",
            occurred_at=datetime(2026, 11, 2, 9, 15, tzinfo=UTC),
            url="https://acme.example/demo",
        ),
        TimelineEntry(
            activity_type="webinar_attended",
            occurred_at=datetime(2026, 10, 20, 16, 0, tzinfo=UTC),
            campaign="q4-dental-webinar",
        ),
    ]
    return base.model_copy(update={"breakdown": lines, "timeline": timeline})


def test_the_subject_names_the_lead_company_grade_and_stage() -> None:
    assert alert_text.task_subject(scored()) == "Follow up: Ana Lopez (ACME Dental) — grade A, SQL"
    nameless = scored().model_copy(
        update={
            "profile": scored().profile.model_copy(
                update={"first_name": None, "last_name": None, "company": None}
            )
        }
    )
    assert alert_text.task_subject(nameless, reassigned=True) == (
        "Follow up (reassigned to you): ana@acme-dental.com — grade A, SQL"
    )


def test_the_body_says_why_sales_ready_what_they_did_where_from_and_by_when() -> None:
    body = alert_text.task_body(
        scored(),
        lead_id="lead-ACME DENTAL",
        deadline=DEADLINE,
        dashboard_url="https://leadloop.example/dashboard",
    )
    lines = body.splitlines()
    assert lines[0] == "Ana Lopez is sales-ready: grade A (fit 85, interest 40)."
    why = lines[lines.index("Why sales-ready:") + 1 :][:5]
    assert why == [
        "- +30 interest: asked for a demo Bcc: x",  # one line: no forged heading
        "- +20 fit: Head of Operations",
        "- −5 negative: free mail",
        "- +1 interest: visit",
        "- +1 interest: visit",
    ]
    recent = lines[lines.index("Recent activity:") + 1 :][:2]
    assert recent == [
        "- 2026-11-02 09:15 UTC demo_request https://acme.example/demo",
        "- 2026-10-20 16:00 UTC webinar_attended (q4-dental-webinar)",
    ]
    assert "Sources: webinar" in lines and "Campaigns: q4-dental-webinar" in lines
    assert "Title: Head of Operations" in lines and "Country: DE" in lines
    assert "First touch due by 2026-11-03 14:30 UTC." in lines
    assert "Journey: https://leadloop.example/v1/leads/lead-ACME%20DENTAL/journey" in lines
    plain = alert_text.task_body(scored(), lead_id="lead-1", deadline=None)
    assert "Journey:" not in plain and "First touch" not in plain


def test_the_crm_records_map_the_profile() -> None:
    assert contact_properties(scored()) == {
        "email": "ana@acme-dental.com",
        "firstname": "Ana",
        "lastname": "Lopez",
        "company": "ACME Dental",
        "jobtitle": "Head of Operations",
        "country": "DE",
    }
    assert lead_fields(scored(), "0055e000001XyZaAAK", "Open - Not Contacted") == {
        "Email": "ana@acme-dental.com",
        "FirstName": "Ana",
        "LastName": "Lopez",
        "Company": "ACME Dental",
        "Title": "Head of Operations",
        "Country": "DE",
        "OwnerId": "0055e000001XyZaAAK",
        "Status": "Open - Not Contacted",
    }
    task = task_fields("00Q5e0000001", "0055e000001XyZaAAK", "s", "d", "2026-11-03")
    assert task["WhoId"] == "00Q5e0000001" and task["ActivityDate"] == "2026-11-03"
    assert (task["Status"], task["Priority"]) == ("Not Started", "High")


def job_of(data: LeadAssigned | LeadReassigned) -> ConnectorJob:
    event = new_event(data, subject=data.lead_id)
    payload: dict[str, Any] = event.model_dump(mode="json")
    return ConnectorJob("d-1", "hubspot", event.id, event.type, data.lead_id, payload, 1)


def assigned(crm_ids: dict[str, str]) -> LeadAssigned:
    now = datetime.now(UTC)
    return LeadAssigned(
        lead_id="lead-ACME-DENTAL",
        assignment_id="a-1",
        owner_rep_id="rep-alice",
        owner_crm_ids=crm_ids,
        team="dach",
        business="new",
        sla_deadline=now + timedelta(hours=1),
        agreement_version="2026-11",
        intelligence=scored(),
        assigned_at=now,
    )


async def test_a_rep_the_crm_does_not_know_fails_for_good_saying_how_to_fix_it() -> None:
    # Unreachable URLs: a call would be a retry, not this failure.
    hubspot = HubSpotActions("http://127.0.0.1:9", "pat-na1-x")
    salesforce = SalesforceActions("http://127.0.0.1:9", "id", "secret")
    progress: dict[str, Any] = {}
    result = await hubspot.perform(job_of(assigned({"salesforce": "0055e0000"})), progress)
    assert result.outcome == "failed" and progress == {}
    assert "rep rep-alice has no HubSpot owner id" in str(result.error)
    assert "leadloop reps sync --from hubspot" in str(result.error)
    result = await salesforce.perform(job_of(assigned({"hubspot": "101"})), progress)
    assert result.outcome == "failed" and "leadloop reps sync --from salesforce" in str(
        result.error
    )


async def test_a_lead_left_in_the_team_queue_changes_nothing_in_the_crm() -> None:
    queued = assigned({}).model_copy(update={"owner_rep_id": None})
    result = await HubSpotActions("http://127.0.0.1:9", "t").perform(job_of(queued), {})
    assert result.outcome == "ok" and result.progress == {"skipped": "assigned to the team queue"}


def test_the_registry_builds_the_crm_connectors_from_their_settings() -> None:
    settings = Settings(
        hubspot_access_token="pat-na1-4f2c9e1a-7b3d-4e8f-a1c5-2d6b9e0f3a7c",
        salesforce_instance_url="https://acme.my.salesforce.com",
        salesforce_client_id="3MVG9-key",
        salesforce_client_secret="consumer-secret-value",
        hubspot_lifecycle_stage="opportunity",
    )
    registry = {k: v for k, v in CONNECTORS.items() if k != "slack"}
    hubspot, salesforce = build_connectors(settings, registry)
    assert isinstance(hubspot, HubSpotActions) and isinstance(salesforce, SalesforceActions)
    assert (hubspot.lead_status, hubspot.lifecycle_stage) == ("NEW", "opportunity")
    assert salesforce.lead_status == "Open - Not Contacted"
    assert hubspot.handles(LeadReassigned.event_type) and not hubspot.handles("x")


def test_the_agreements_crm_mapping_wins_over_the_settings_which_are_the_defaults() -> None:
    hubspot = HubSpotActions("http://127.0.0.1:9", "t", lead_status="OPEN")
    salesforce = SalesforceActions("http://127.0.0.1:9", "id", "s", lead_status="Working")
    assert hubspot.statuses(JobContext()) == {
        "hs_lead_status": "OPEN",
        "lifecyclestage": "salesqualifiedlead",
    }
    assert salesforce.status(JobContext()) == "Working"
    mapped = CrmMapping(
        hubspot=HubSpotMapping(lifecycle_stage="opportunity"),
        salesforce=SalesforceMapping(lead_status="Open - Not Contacted"),
    )
    context = JobContext(crm=mapped)
    assert hubspot.statuses(context) == {"hs_lead_status": "OPEN", "lifecyclestage": "opportunity"}
    assert salesforce.status(context) == "Open - Not Contacted"
    only_hubspot = JobContext(crm=CrmMapping(hubspot=HubSpotMapping(lead_status="NEW")))
    assert salesforce.status(only_hubspot) == "Working"
