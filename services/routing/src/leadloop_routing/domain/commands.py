"""Routing's commands: what the admin API and the workers ask of it (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadloop_routing.domain.delivery import Attempt, Email, LeasedDelivery
from leadloop_routing.domain.model import Account, Rep
from leadloop_routing.domain.reps_sync import CrmOwner, TeamMapping


@dataclass(frozen=True)
class UpsertRep:
    """Create or replace a rep (`keep_crm_ids`: the stored CRM ids stay, e.g. a PUT without)."""

    rep: Rep
    at: datetime
    keep_crm_ids: bool = False


@dataclass(frozen=True)
class DeactivateRep:
    """Keep a rep for history, route no new lead to them."""

    rep_id: str
    at: datetime


@dataclass(frozen=True)
class UpsertAccount:
    """Load an existing customer account and its owner."""

    account: Account
    at: datetime


@dataclass(frozen=True)
class SubscribeWebhook:
    """Subscribe a URL (already checked by the outbound guard) to some handoff events."""

    url: str
    event_types: tuple[str, ...]
    description: str | None
    at: datetime


@dataclass(frozen=True)
class CancelSubscription:
    """Deactivate a subscription and cancel what is still queued for it."""

    subscription_id: str


@dataclass(frozen=True)
class Redeliver:
    """Send a delivery again now (unless cancelled or its subscription is inactive)."""

    delivery_id: str
    at: datetime


@dataclass(frozen=True)
class EscalateDueLeads:
    """Take the due SLA step of at most `limit` assignments."""

    now: datetime
    limit: int


@dataclass(frozen=True)
class LeaseDeliveries:
    """Claim up to `limit` due deliveries until `until`, one per subscriber."""

    now: datetime
    limit: int
    until: datetime
    per_subscriber: int = 1


@dataclass(frozen=True)
class RecordDeliveryAttempt:
    """Write down one attempt of a leased delivery."""

    leased: LeasedDelivery
    attempt: Attempt


@dataclass(frozen=True)
class LeaseEmail:
    """Claim the next due email until `until`."""

    now: datetime
    until: datetime


@dataclass(frozen=True)
class RecordEmailAttempt:
    """Write down one send of a leased email (`error` None when it went)."""

    email: Email
    error: str | None
    now: datetime


@dataclass(frozen=True)
class SyncReps:
    """Make the reps follow one CRM's owners (read from it just before)."""

    system: str
    owners: tuple[CrmOwner, ...]
    teams: TeamMapping
    at: datetime
