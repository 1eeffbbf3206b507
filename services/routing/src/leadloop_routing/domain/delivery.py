"""Webhook subscriptions, their deliveries and the alert emails: each message a durable row
with its attempts, retried on a schedule, sent at most once per lease."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

DeliveryStatus = Literal["pending", "succeeded", "failed", "cancelled"]
EmailStatus = Literal["pending", "sent", "failed", "cancelled"]
EMAIL_RETRIES = 8


@dataclass(frozen=True)
class Subscription:
    """A receiving system: where lead alerts go, signed with its secret."""

    subscription_id: str
    url: str
    secret: str
    event_types: tuple[str, ...]
    description: str | None
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one subscriber, with every attempt made so far."""

    delivery_id: str
    subscription_id: str
    event_id: str
    event_type: str
    lead_id: str | None
    payload: bytes
    status: DeliveryStatus
    attempts: tuple[dict[str, Any], ...]
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class LeasedDelivery:
    """A delivery claimed for one attempt, with where and how to sign it."""

    delivery: Delivery
    url: str
    secret: str


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt's outcome."""

    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        """The attempt as the delivery log shows it."""
        return {
            "at": self.at.isoformat(),
            "ok": self.ok,
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": round(self.duration_ms, 1),
        }


@dataclass(frozen=True)
class DeliveryOutcome:
    """What an attempt leaves on its delivery: the log, the status, the next try."""

    delivery_id: str
    attempts_before: int  # the version: a late writer whose lease was taken records nothing
    attempts: tuple[dict[str, Any], ...]
    status: DeliveryStatus
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def delivery_outcome(
    delivery: Delivery, attempt: Attempt, next_delay: timedelta | None
) -> DeliveryOutcome:
    """After `attempt`: succeeded, pending again after `next_delay`, or failed for good."""
    attempts = (*delivery.attempts, attempt.to_json())
    retry_at = None if attempt.ok or next_delay is None else attempt.at + next_delay
    status: DeliveryStatus = (
        "succeeded" if attempt.ok else ("pending" if retry_at is not None else "failed")
    )
    return DeliveryOutcome(
        delivery_id=delivery.delivery_id,
        attempts_before=len(delivery.attempts),
        attempts=attempts,
        status=status,
        next_attempt_at=retry_at,
        delivered_at=attempt.at if attempt.ok else None,
    )


@dataclass(frozen=True)
class Email:
    """An alert email to a rep (or their manager), once per `dedupe_key`."""

    email_id: str
    dedupe_key: str
    lead_id: str | None
    recipient: str
    message: bytes
    status: EmailStatus
    next_attempt_at: datetime | None
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class EmailOutcome:
    """What a send leaves on its email: sent, pending with a backoff, or failed for good."""

    email_id: str
    attempts_before: int
    attempts: int
    last_error: str | None
    status: EmailStatus
    next_attempt_at: datetime | None
    sent_at: datetime | None = field(default=None)


def email_outcome(email: Email, error: str | None, now: datetime) -> EmailOutcome:
    """After one send: failures retry with exponential backoff, `EMAIL_RETRIES` times."""
    attempts = email.attempts + 1
    retry = error is not None and attempts < EMAIL_RETRIES
    status: EmailStatus = "sent" if error is None else "pending" if retry else "failed"
    return EmailOutcome(
        email_id=email.email_id,
        attempts_before=email.attempts,
        attempts=attempts,
        last_error=error,
        status=status,
        next_attempt_at=now + timedelta(seconds=30 * 2**attempts) if retry else None,
        sent_at=now if error is None else None,
    )


def one_per_subscriber(
    due: list[LeasedDelivery], limit: int, per_subscriber: int = 1
) -> list[LeasedDelivery]:
    """The due deliveries to attempt now, oldest first: at most `per_subscriber` for each
    subscriber (a slow receiver holds one slot, never the batch), `limit` in all."""
    taken: dict[str, int] = {}
    chosen: list[LeasedDelivery] = []
    for leased in due:
        subscriber = leased.delivery.subscription_id
        if taken.get(subscriber, 0) < per_subscriber and len(chosen) < limit:
            taken[subscriber] = taken.get(subscriber, 0) + 1
            chosen.append(leased)
    return chosen
