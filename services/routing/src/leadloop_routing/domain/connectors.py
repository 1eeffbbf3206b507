"""Connector deliveries: a lead event on its way to one CRM or chat (HubSpot, Salesforce,
Slack). The vendor's `Connector` performs it; each attempt is logged with the progress it made,
so a retried job continues where it stopped; retries follow a schedule (a 429's Retry-After
is honoured), and jobs of one lead reach one connector one at a time, in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from leadloop_contract.agreement import Agreement, rejection_reasons
from leadloop_contract.agreement.crm import CrmMapping
from leadloop_events.lifecycle import LeadIntelligence
from leadloop_routing.domain.model import Rep
from leadloop_routing.domain.sla import team_of

ConnectorName = Literal["hubspot", "salesforce", "slack"]
CONNECTOR_NAMES: tuple[ConnectorName, ...] = ("hubspot", "salesforce", "slack")
JobStatus = Literal["pending", "succeeded", "failed", "cancelled"]
Outcome = Literal["ok", "retry", "failed"]
# Rate-limited attempts wait for the vendor, not along the backoff schedule; this caps them.
MAX_ATTEMPTS = 50


class ContextRep(BaseModel):
    """The rep an event names (the owner, the new owner, the rep who missed the SLA)."""

    model_config = ConfigDict(frozen=True)

    rep_id: str
    name: str
    email: str
    manager_email: str | None = None


class JobContext(BaseModel):
    """What routing's state said when the job was queued, in the queueing transaction, so a
    perform is I/O against the vendor only: the agreement's rejection reasons and CRM mapping,
    the team's Slack channel, the rep the event names, the lead's name and company. Empty for
    a job queued before routing kept it (every field then falls back to its default)."""

    model_config = ConfigDict(frozen=True)

    rejection_reasons: list[str] | None = None  # None: the agreement model's defaults
    crm: CrmMapping | None = None
    slack_channel: str | None = None
    rep: ContextRep | None = None
    lead_name: str | None = None
    company: str | None = None

    def reasons(self) -> list[str]:
        """The reason codes a rejection may give."""
        return list(self.rejection_reasons) if self.rejection_reasons else rejection_reasons(None)

    def to_json(self) -> dict[str, Any]:
        """As stored with the job (unset values left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def job_context(
    agreement: Agreement | None,
    team: str,
    rep: Rep | None,
    intelligence: LeadIntelligence | None,
) -> JobContext:
    """The context of a lead event of `team` naming `rep`, under `agreement`."""
    found = team_of(agreement, team) if agreement is not None else None
    profile = intelligence.profile if intelligence is not None else None
    name = (
        " ".join(p for p in (profile.first_name, profile.last_name) if p) or profile.email
        if profile is not None
        else None
    )
    return JobContext(
        rejection_reasons=list(agreement.rejection_reasons) if agreement else None,
        crm=agreement.crm if agreement else None,
        slack_channel=found.slack_channel if found else None,
        rep=None
        if rep is None
        else ContextRep(
            rep_id=rep.rep_id, name=rep.name, email=rep.email, manager_email=rep.manager_email
        ),
        lead_name=name,
        company=profile.company if profile is not None else None,
    )


@dataclass(frozen=True)
class ConnectorJob:
    """What a connector performs: one lead event, as routing published it, and its context."""

    delivery_id: str
    connector: str
    event_id: str  # the alert's id: what makes the vendor-side effect happen once
    event_type: str  # e.g. "leadloop.lead.assigned.v1"
    lead_id: str
    payload: dict[str, Any]  # the CloudEvent's JSON: id, type, source, subject, time, data
    attempt: int  # 1 on the first try
    context: JobContext = field(default_factory=JobContext)

    @property
    def data(self) -> dict[str, Any]:
        """The event's data (LeadAssigned, LeadReassigned, SlaBreached as JSON)."""
        data = self.payload.get("data")
        return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class ConnectorResult:
    """How a perform ended: ok, retry (after `retry_after_s`, else on the schedule), or failed
    for good; `progress` None keeps the progress dict as the connector left it."""

    outcome: Outcome
    error: str | None = None
    retry_after_s: float | None = None
    progress: dict[str, Any] | None = None

    @classmethod
    def ok(cls, progress: dict[str, Any] | None = None) -> ConnectorResult:
        """Done: the vendor has the effect."""
        return cls("ok", progress=progress)

    @classmethod
    def retry(
        cls, error: str, after_s: float | None = None, progress: dict[str, Any] | None = None
    ) -> ConnectorResult:
        """Not done yet: try again after `after_s` seconds, or on the backoff schedule."""
        return cls("retry", error, after_s, progress)

    @classmethod
    def failed(cls, error: str, progress: dict[str, Any] | None = None) -> ConnectorResult:
        """Never going to work as it stands (a refused request): stop retrying."""
        return cls("failed", error, None, progress)


class Connector(Protocol):
    """One vendor's outbound actions. `perform` may update `progress` in place as each step
    lands (`progress["contact_id"] = ...`): what it holds is recorded even when perform
    raises. It raises leadloop_connectors.http's errors (RateLimited, TransientError,
    AuthFailed: retried; PermanentError: failed) or returns a `ConnectorResult`."""

    @property
    def name(self) -> str: ...

    def handles(self, event_type: str) -> bool: ...

    async def perform(self, job: ConnectorJob, progress: dict[str, Any]) -> ConnectorResult: ...


@dataclass(frozen=True)
class ConnectorDelivery:
    """One event for one connector: its attempts so far, its progress, when it runs next."""

    delivery_id: str
    connector: str
    event_id: str
    event_type: str
    lead_id: str
    payload: dict[str, Any]
    status: JobStatus
    attempts: tuple[dict[str, Any], ...]
    progress: dict[str, Any]
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None = None
    lease_id: str | None = None  # set while an attempt holds it
    context: dict[str, Any] = field(default_factory=dict)  # a JobContext as JSON

    def job(self) -> ConnectorJob:
        """The job its next attempt performs."""
        return ConnectorJob(
            delivery_id=self.delivery_id,
            connector=self.connector,
            event_id=self.event_id,
            event_type=self.event_type,
            lead_id=self.lead_id,
            payload=self.payload,
            attempt=len(self.attempts) + 1,
            context=JobContext.model_validate(self.context),
        )


@dataclass(frozen=True)
class JobAttempt:
    """One perform's outcome, as the delivery log shows it."""

    at: datetime
    outcome: Outcome
    error: str | None
    retry_after_s: float | None
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        """The attempt in the delivery log."""
        return {
            "at": self.at.isoformat(),
            "outcome": self.outcome,
            "error": self.error,
            "retry_after_s": self.retry_after_s,
            "duration_ms": round(self.duration_ms, 1),
        }


@dataclass(frozen=True)
class JobOutcome:
    """What an attempt leaves on its delivery; written only by the lease's holder."""

    delivery_id: str
    lease_id: str | None
    attempts: tuple[dict[str, Any], ...]
    progress: dict[str, Any]
    status: JobStatus
    next_attempt_at: datetime | None
    finished_at: datetime | None


def backoff_steps(attempts: Sequence[dict[str, Any]]) -> int:
    """How far along the backoff schedule: the retries that named no wait of their own."""
    return sum(
        1 for a in attempts if a.get("outcome") == "retry" and a.get("retry_after_s") is None
    )


def job_outcome(
    delivery: ConnectorDelivery,
    attempt: JobAttempt,
    progress: dict[str, Any],
    delay_after: Callable[[int], timedelta | None],
) -> JobOutcome:
    """After `attempt`: succeeded, pending again (after the vendor's wait, else the schedule's
    `delay_after(steps)`), or failed once the schedule or MAX_ATTEMPTS is exhausted."""
    attempts = (*delivery.attempts, attempt.to_json())
    retry_at: datetime | None = None
    if attempt.outcome == "retry":
        if attempt.retry_after_s is not None:
            wait = timedelta(seconds=max(0.0, attempt.retry_after_s))
            retry_at = attempt.at + wait if len(attempts) < MAX_ATTEMPTS else None
        else:
            delay = delay_after(backoff_steps(attempts))
            retry_at = None if delay is None else attempt.at + delay
    status: JobStatus = (
        "succeeded"
        if attempt.outcome == "ok"
        else ("pending" if retry_at is not None else "failed")
    )
    return JobOutcome(
        delivery_id=delivery.delivery_id,
        lease_id=delivery.lease_id,
        attempts=attempts,
        progress=progress,
        status=status,
        next_attempt_at=retry_at,
        finished_at=None if status == "pending" else attempt.at,
    )


class ConnectorDeliveryNotFound(LookupError):
    """No such connector delivery, or it was cancelled (the lead erased)."""


@dataclass(frozen=True)
class LeaseConnectorJobs:
    """Claim up to `limit` due jobs of `connectors` until `until`, one per connector and lead."""

    now: datetime
    limit: int
    until: datetime
    connectors: tuple[str, ...]


@dataclass(frozen=True)
class RecordConnectorAttempt:
    """Write down one attempt of a leased job, with the progress it leaves."""

    delivery: ConnectorDelivery
    attempt: JobAttempt
    progress: dict[str, Any]


@dataclass(frozen=True)
class RedeliverConnectorJob:
    """Perform a job again now, from its recorded progress (unless cancelled)."""

    delivery_id: str
    at: datetime
