"""Intake's handlers: one async function per command; the runtime commits (Transactions.run).

CaptureLead        -> lead, submission            -> leadloop.lead.captured.v1
RecordActivities   -> activities                  -> leadloop.lead.activity_recorded.v1
EraseLead          -> anonymized lead             -> leadloop.lead.erased.v1
(read_lead)        -> the lead and its submissions
(find_lead)        -> the lead another system knows by its id (hubspot, salesforce)

Intake consumes no event: its registry is empty, and HTTP routes hand these commands to the
runtime. Metrics come from the committed events (`leadloop_intake.metrics.observe`).
The CSV import's commands (ImportLeads, FailImport, FollowImport) are import_handlers.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from leadloop_contract.values import ExternalSystem
from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased
from leadloop_intake.adapters.uow import SqlUnitOfWork
from leadloop_intake.config import Settings
from leadloop_intake.domain.commands import Captured, CaptureLead, EraseLead, RecordActivities
from leadloop_intake.domain.errors import LeadNotFound, UnknownLeads
from leadloop_intake.domain.lead import Lead, LeadDetails, RecordedActivity, Submission, Upserted
from leadloop_intake.domain.model import Activity, normalize_email
from leadloop_intake.domain.ports import IntakeUnitOfWork
from leadloop_runtime import Registry

__all__ = [
    "CaptureLead",
    "Captured",
    "EraseLead",
    "RecordActivities",
    "capture_lead",
    "capture_leads",
    "erase_lead",
    "find_lead",
    "read_lead",
    "record_activities",
    "registry",
]

SOURCE = "/leadloop/intake"


def registry(settings: Settings | None = None) -> Registry[SqlUnitOfWork]:
    """Event type -> handler: empty, intake consumes nothing (its commands come over HTTP)."""
    return Registry()


async def capture_lead(uow: IntakeUnitOfWork, command: CaptureLead) -> Captured:
    """Upsert the person by normalized email, keep the raw submission, publish lead.captured."""
    if command.submission.external_ids:
        [done] = await capture_leads(uow, [command])
        return done
    # A form fill that names no other system's id: the lead and its submission in one write.
    now = datetime.now(UTC)
    candidate = Lead.first_seen(str(uuid.uuid4()), command.submission, now)
    kept = _submission(command, candidate.lead_id)
    upserted = await uow.repo.capture(candidate, kept, now)
    return _announce(uow, command, replace(kept, lead_id=upserted.lead.lead_id), upserted)


async def capture_leads(uow: IntakeUnitOfWork, commands: Sequence[CaptureLead]) -> list[Captured]:
    """Each person once per batch (later submissions win), every submission kept and published:
    a form fill naming another system's id, and each batch of an import (import_handlers.py)."""
    if not commands:
        return []
    now = datetime.now(UTC)
    await _follow_external_ids(uow, commands)
    people: dict[str, Lead] = {}
    for cmd in commands:
        key = normalize_email(cmd.submission.email)
        known = people.get(key)
        people[key] = (
            known.merged(cmd.submission)
            if known
            else Lead.first_seen(str(uuid.uuid4()), cmd.submission, now)
        )
    merged = await uow.repo.upsert_leads(list(people.values()), now)
    results: list[Captured] = []
    kept: list[Submission] = []
    announced_new: set[str] = set()
    for cmd in commands:
        upserted = merged[normalize_email(cmd.submission.email)]
        submission = _submission(cmd, upserted.lead.lead_id)
        kept.append(submission)
        first = upserted.inserted and upserted.lead.lead_id not in announced_new
        announced_new.add(upserted.lead.lead_id)
        results.append(_announce(uow, cmd, submission, Upserted(upserted.lead, first)))
    await uow.repo.insert_submissions(kept)
    return results


async def _follow_external_ids(uow: IntakeUnitOfWork, commands: Sequence[CaptureLead]) -> None:
    """A submission whose email no lead has but whose external id one has goes to that lead:
    the person's email changed in the CRM, so the lead takes the new one. When another lead has
    the email, the email decides (as before external ids) and the id moves to that lead."""
    pairs = {p for cmd in commands for p in cmd.submission.external_ids.items()}
    known = await uow.repo.find_by_external_ids(sorted(pairs))
    if not known:
        return
    for cmd in commands:
        email = normalize_email(cmd.submission.email)
        for pair in cmd.submission.external_ids.items():
            lead = known.get(pair)
            if lead is not None and lead.email_normalized != email:
                await uow.repo.readdress(lead.lead_id, cmd.submission.email, email)
                break


def _submission(cmd: CaptureLead, lead_id: str) -> Submission:
    s = cmd.submission
    return Submission(
        submission_id=str(uuid.uuid4()),
        lead_id=lead_id,
        channel=cmd.channel,
        source=s.source,
        campaign=s.campaign,
        form_id=s.form_id,
        received_at=cmd.received_at,
        submitted_at=s.submitted_at or cmd.received_at,
        raw=cmd.raw,
        correlation_id=cmd.correlation_id,
    )


def _announce(
    uow: IntakeUnitOfWork, cmd: CaptureLead, submission: Submission, upserted: Upserted
) -> Captured:
    """Publish the submission's lead.captured (is_new_lead: `upserted.inserted`)."""
    lead_id = upserted.lead.lead_id
    data = _lead_captured(cmd, submission, upserted.lead, upserted.inserted)
    cid = cmd.correlation_id or submission.submission_id
    uow.publish(topics.INTAKE, new_event(data, source=SOURCE, subject=lead_id, correlation_id=cid))
    return Captured(lead_id, submission.submission_id, upserted.inserted)


def _lead_captured(
    cmd: CaptureLead, submission: Submission, lead: Lead, is_new: bool
) -> LeadCaptured:
    s = cmd.submission
    return LeadCaptured(
        lead_id=lead.lead_id,
        submission_id=submission.submission_id,
        is_new_lead=is_new,
        channel=cmd.channel,
        profile=lead.profile(),
        source=s.source,
        campaign=s.campaign,
        form_id=s.form_id,
        page_url=s.page_url,
        utm=s.utm,
        consent=s.consent,
        fields=s.fields,
        submitted_at=submission.submitted_at,
        external_ids=lead.external_ids,
        import_id=cmd.import_id,
    )


async def record_activities(uow: IntakeUnitOfWork, command: RecordActivities) -> list[str]:
    """Attach behaviour signals to known leads; all or nothing (UnknownLeads names the rest)."""
    resolved = await _resolve(uow, command.activities)
    now = datetime.now(UTC)
    recorded: list[RecordedActivity] = []
    for a, lead_id in zip(command.activities, resolved, strict=True):
        activity = RecordedActivity(
            activity_id=str(uuid.uuid4()),
            lead_id=lead_id,
            activity_type=a.type,
            occurred_at=a.occurred_at,
            received_at=now,
            url=a.url,
            asset=a.asset,
            campaign=a.campaign,
            properties=a.properties,
        )
        recorded.append(activity)
        data = ActivityRecorded(
            lead_id=lead_id,
            activity_id=activity.activity_id,
            activity_type=a.type,
            occurred_at=a.occurred_at,
            url=a.url,
            asset=a.asset,
            campaign=a.campaign,
            properties=a.properties,
        )
        cid = command.correlation_id or activity.activity_id
        uow.publish(
            topics.INTAKE, new_event(data, source=SOURCE, subject=lead_id, correlation_id=cid)
        )
    await uow.repo.insert_activities(recorded)
    return [a.activity_id for a in recorded]


async def _resolve(uow: IntakeUnitOfWork, activities: Sequence[Activity]) -> list[str]:
    """The live lead of each activity, by id or by email; UnknownLeads names those without."""
    ids = [a.lead_id for a in activities if a.lead_id]
    emails = [normalize_email(a.email) for a in activities if a.email]
    live_ids, by_email = await uow.repo.find_leads(ids, emails)
    errors: list[dict[str, Any]] = []
    resolved: list[str] = []
    for i, a in enumerate(activities):
        if a.lead_id is not None:
            lead_id = a.lead_id if a.lead_id in live_ids else None
            where = "lead_id"
        else:
            lead_id = by_email.get(normalize_email(a.email or ""))
            where = "email"
        if lead_id is None:
            errors.append(
                {
                    "pointer": f"/activities/{i}/{where}",
                    "field": f"activities.{i}.{where}",
                    "message": f"no lead with this {where}",
                    "code": "unknown_lead",
                }
            )
        resolved.append(lead_id or "")
    if errors:
        raise UnknownLeads(errors)
    return resolved


async def erase_lead(uow: IntakeUnitOfWork, command: EraseLead) -> datetime:
    """Anonymize the lead and tell every service to forget them. Erasing twice is a no-op."""
    lead = await uow.repo.lock_lead(command.lead_id)
    if lead is None:
        raise LeadNotFound(command.lead_id)
    if lead.erased_at is not None:
        return lead.erased_at
    now = datetime.now(UTC)
    await uow.repo.erase_lead(command.lead_id, now)
    data = LeadErased(lead_id=command.lead_id, erased_at=now, reason=command.reason)
    uow.publish(
        topics.INTAKE,
        new_event(
            data, source=SOURCE, subject=command.lead_id, correlation_id=command.correlation_id
        ),
    )
    return now


async def find_lead(uow: IntakeUnitOfWork, system: ExternalSystem, external_id: str) -> str:
    """The id of the live lead another system knows as `external_id` (LeadNotFound if none)."""
    found = await uow.repo.find_by_external_ids([(system, external_id)])
    lead = found.get((system, external_id))
    if lead is None:
        raise LeadNotFound(f"{system}:{external_id}")
    return lead.lead_id


async def read_lead(uow: IntakeUnitOfWork, lead_id: str) -> LeadDetails:
    """The lead and its latest submissions (LeadNotFound when there is none)."""
    details = await uow.repo.lead_details(lead_id)
    if details is None:
        raise LeadNotFound(lead_id)
    return details
