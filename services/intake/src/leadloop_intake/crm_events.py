"""Intake's handler of a CRM's notification batch (HubSpot's Webhooks API event arrays).

ReceiveCrmEvents -> per event, under its event key, once:
  CaptureContact  -> handlers.capture_lead      -> leadloop.lead.captured.v1
  EraseContact    -> handlers.erase_lead        -> leadloop.lead.erased.v1
  RelayToFeedback ->                            -> leadloop.crm.notification_received.v1
  PassOver        -> nothing (ignored or skipped, the reason kept with the key)

The whole batch is one unit of work: every event's key is claimed (intake's idempotency keys,
caller `hubspot-webhook`) together with its effect, so a batch HubSpot sends again after a
timeout or a 5xx has each already-committed event answered from its key, never done twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadloop_contract.values import ExternalSystem
from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_events.intake import CrmNotificationReceived
from leadloop_intake import handlers
from leadloop_intake.domain.commands import CaptureLead, EraseLead
from leadloop_intake.domain.errors import LeadNotFound
from leadloop_intake.domain.ports import IntakeUnitOfWork

CALLER = "hubspot-webhook"
SCOPE = "crm-events"


@dataclass(frozen=True)
class CaptureContact:
    """A contact created or changed in a mapped property: capture it as a submission."""

    key: str
    capture: CaptureLead


@dataclass(frozen=True)
class EraseContact:
    """The CRM erased a contact (GDPR): erase the lead it is."""

    key: str
    system: ExternalSystem
    external_id: str


@dataclass(frozen=True)
class RelayToFeedback:
    """Sales' change (a deal, an engagement, a lead status): feedback records it."""

    key: str
    notification: CrmNotificationReceived


@dataclass(frozen=True)
class PassOver:
    """An event intake takes no action on; `outcome` says why (`ignored`, `skipped`)."""

    key: str
    outcome: str
    reason: str


CrmEvent = CaptureContact | EraseContact | RelayToFeedback | PassOver


@dataclass(frozen=True)
class ReceiveCrmEvents:
    """One verified notification request: its events, each as what intake does with it."""

    events: Sequence[CrmEvent]
    ttl: timedelta
    correlation_id: str | None = None


async def receive_crm_events(uow: IntakeUnitOfWork, command: ReceiveCrmEvents) -> Counter[str]:
    """Do each event once by its key; count the outcomes (`replayed`: done before)."""
    counts: Counter[str] = Counter()
    now = datetime.now(UTC)
    for event in command.events:
        stored = await uow.repo.claim_idempotency_key(
            CALLER, SCOPE, event.key, event.key, now, command.ttl
        )
        if stored is not None:
            counts["replayed"] += 1
            continue
        outcome, lead_id = await _apply(uow, event, command.correlation_id)
        counts[outcome] += 1
        await uow.repo.store_idempotent_response(
            CALLER, SCOPE, event.key, 200, {"outcome": outcome}, lead_id
        )
    return counts


async def _apply(
    uow: IntakeUnitOfWork, event: CrmEvent, correlation_id: str | None
) -> tuple[str, str | None]:
    match event:
        case CaptureContact(capture=capture):
            done = await handlers.capture_lead(uow, capture)
            return "captured", done.lead_id
        case EraseContact(system=system, external_id=external_id):
            try:
                lead_id = await handlers.find_lead(uow, system, external_id)
            except LeadNotFound:
                return "unknown", None
            reason = f"{system} privacy deletion of contact {external_id}"
            await handlers.erase_lead(uow, EraseLead(lead_id, reason, correlation_id))
            return "erased", lead_id
        case RelayToFeedback(notification=data):
            subject = f"{data.system}:{data.object_type}:{data.object_id}"
            uow.publish(
                topics.INTAKE,
                new_event(
                    data,
                    source=handlers.SOURCE,
                    subject=subject,
                    correlation_id=correlation_id or data.event_key,
                ),
            )
            return "relayed", None
        case PassOver(outcome=outcome):
            return outcome, None
