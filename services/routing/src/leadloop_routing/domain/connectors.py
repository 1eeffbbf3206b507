"""Connector deliveries: a lead event on its way to one CRM or chat (HubSpot, Salesforce,
Slack). The vendor's `Connector` performs it; each attempt is logged with the progress it made,
so a retried job continues where it stopped; retries follow a schedule (a 429's Retry-After
is honoured), and jobs of one lead reach one connector one at a time, in order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

ConnectorName = Literal["hubspot", "salesforce", "slack"]
CONNECTOR_NAMES: tuple[ConnectorName, ...] = ("hubspot", "salesforce", "slack")
JobStatus = Literal["pending", "succeeded", "failed", "cancelled"]
Outcome = Literal["ok", "retry", "failed"]
# Rate-limited attempts wait for the vendor, not along the backoff schedule; this caps them.
MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class ConnectorJob:
    """What a connector performs: one lead event, as routing published it."""

    delivery_id: str
    connector: str
    event_id: str  # the alert's id: what makes the vendor-side effect happen once
    event_type: str  # e.g. "leadloop.lead.assigned.v1"
    lead_id: str
    payload: dict[str, Any]  # the CloudEvent's JSON: id, type, source, subject, time, data
    attempt: int  # 1 on the first try

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
