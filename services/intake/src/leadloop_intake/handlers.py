"""Intake's handlers: one async function per command; the unit of work owns the commit.

CaptureLead(s)     -> leads, submissions            -> leadloop.lead.captured.v1
RecordActivities   -> activities                    -> leadloop.lead.activity_recorded.v1
EraseLead          -> anonymized lead               -> leadloop.lead.erased.v1
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased
from leadloop_intake.domain.errors import (
    IdempotencyKeyReused,
    LeadNotFound,
    UnknownLeads,
)
from leadloop_intake.domain.model import Activity, Channel, FormSubmission, normalize_email
from leadloop_intake.domain.ports import PROFILE_FIELDS, IntakeUnitOfWork
from leadloop_platform import metrics

SOURCE = "/leadloop/intake"


@dataclass(frozen=True)
class CaptureLead:
    """Accept one form fill (or webhook call, or import row) for a person."""

    submission: FormSubmission
    channel: Channel
    raw: str
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None


@dataclass(frozen=True)
class Captured:
    lead_id: str
    submission_id: str
    is_new_lead: bool


@dataclass(frozen=True)
class RecordActivities:
    activities: Sequence[Activity]
    correlation_id: str | None = None


@dataclass(frozen=True)
class EraseLead:
    lead_id: str
    reason: str | None = None
    correlation_id: str | None = None


async def capture_leads(uow: IntakeUnitOfWork, commands: Sequence[CaptureLead]) -> list[Captured]:
    """Upsert each person once by normalized email, keep every raw submission, publish."""
    if not commands:
        return []
    people: dict[str, dict[str, Any]] = {}
    for cmd in commands:
        s = cmd.submission
        key = normalize_email(s.email)
        person = people.setdefault(key, {"lead_id": str(uuid.uuid4()), "email_normalized": key})
        # Later submissions in the batch win, empty fields never erase known ones.
        person["email"] = s.email
        for name in PROFILE_FIELDS:
            if getattr(s, name) is not None:
                person[name] = getattr(s, name)
        person.setdefault("source", s.source)
        person.setdefault("campaign", s.campaign)
    now = datetime.now(UTC)
    merged = await uow.repo.upsert_leads(list(people.values()), now)
    results: list[Captured] = []
    rows: list[dict[str, Any]] = []
    announced_new: set[str] = set()
    for cmd in commands:
        s = cmd.submission
        lead_id, inserted, profile = merged[normalize_email(s.email)]
        is_new = inserted and lead_id not in announced_new
        announced_new.add(lead_id)
        submission_id = str(uuid.uuid4())
        submitted_at = s.submitted_at or cmd.received_at
        rows.append(
            {
                "submission_id": submission_id,
                "lead_id": lead_id,
                "channel": cmd.channel,
                "source": s.source,
                "campaign": s.campaign,
                "form_id": s.form_id,
                "received_at": cmd.received_at,
                "submitted_at": submitted_at,
                "raw": cmd.raw,
                "correlation_id": cmd.correlation_id,
            }
        )
        data = LeadCaptured(
            lead_id=lead_id,
            submission_id=submission_id,
            is_new_lead=is_new,
            channel=cmd.channel,
            profile=profile,
            source=s.source,
            campaign=s.campaign,
            form_id=s.form_id,
            page_url=s.page_url,
            utm=s.utm,
            consent=s.consent,
            fields=s.fields,
            submitted_at=submitted_at,
        )
        uow.publish(
            topics.INTAKE,
            new_event(
                data,
                source=SOURCE,
                subject=lead_id,
                correlation_id=cmd.correlation_id or submission_id,
            ),
        )
        results.append(Captured(lead_id, submission_id, is_new))
        metrics.LEADS_CAPTURED.labels(
            cmd.channel, metrics.source_label(s.source), str(is_new).lower()
        ).inc()
    await uow.repo.insert_submissions(rows)
    return results


async def record_activities(uow: IntakeUnitOfWork, cmd: RecordActivities) -> list[str]:
    """Attach behaviour signals to known leads; all or nothing."""
    ids = [a.lead_id for a in cmd.activities if a.lead_id]
    emails = [normalize_email(a.email) for a in cmd.activities if a.email]
    live_ids, by_email = await uow.repo.find_leads(ids, emails)
    errors: list[dict[str, Any]] = []
    resolved: list[str] = []
    for i, a in enumerate(cmd.activities):
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
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    activity_ids: list[str] = []
    for a, lead_id in zip(cmd.activities, resolved, strict=True):
        activity_id = str(uuid.uuid4())
        activity_ids.append(activity_id)
        rows.append(
            {
                "activity_id": activity_id,
                "lead_id": lead_id,
                "activity_type": a.type,
                "occurred_at": a.occurred_at,
                "url": a.url,
                "asset": a.asset,
                "campaign": a.campaign,
                "properties": a.properties,
                "received_at": now,
            }
        )
        data = ActivityRecorded(
            lead_id=lead_id,
            activity_id=activity_id,
            activity_type=a.type,
            occurred_at=a.occurred_at,
            url=a.url,
            asset=a.asset,
            campaign=a.campaign,
            properties=a.properties,
        )
        uow.publish(
            topics.INTAKE,
            new_event(
                data,
                source=SOURCE,
                subject=lead_id,
                correlation_id=cmd.correlation_id or activity_id,
            ),
        )
        metrics.ACTIVITIES_RECORDED.labels(a.type).inc()
    await uow.repo.insert_activities(rows)
    return activity_ids


async def erase_lead(uow: IntakeUnitOfWork, cmd: EraseLead) -> datetime:
    """Anonymize the lead and tell every service to forget them. Erasing twice is a no-op."""
    lead = await uow.repo.lock_lead(cmd.lead_id)
    if lead is None:
        raise LeadNotFound(cmd.lead_id)
    if lead.erased_at is not None:
        erased_at: datetime = lead.erased_at
        return erased_at
    now = datetime.now(UTC)
    await uow.repo.erase_lead(cmd.lead_id, now)
    data = LeadErased(lead_id=cmd.lead_id, erased_at=now, reason=cmd.reason)
    uow.publish(
        topics.INTAKE,
        new_event(data, source=SOURCE, subject=cmd.lead_id, correlation_id=cmd.correlation_id),
    )
    return now


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


Outcome = tuple[int, dict[str, Any], str | None]


async def once(
    uow: IntakeUnitOfWork,
    *,
    caller: str,
    scope: str,
    key: str | None,
    body: bytes,
    ttl: timedelta,
    action: Callable[[], Awaitable[Outcome]],
) -> tuple[int, dict[str, Any], bool]:
    """Run `action` at most once per (caller, scope, key) within `ttl`: a retry gets the first
    answer back; another caller's key, or one older than `ttl`, is a new key.

    Returns (status, body, replayed). The key and the effect commit together, when the runtime
    commits the unit of work this runs in.
    """
    if key is None:
        status, response, _ = await action()
        return status, response, False
    now = datetime.now(UTC)
    stored = await uow.repo.claim_idempotency_key(caller, scope, key, fingerprint(body), now, ttl)
    if stored is not None:
        if stored.fingerprint != fingerprint(body):
            raise IdempotencyKeyReused(key)
        return stored.status_code, dict(stored.response), True
    status, response, lead_id = await action()
    await uow.repo.store_idempotent_response(caller, scope, key, status, response, lead_id)
    return status, response, False
