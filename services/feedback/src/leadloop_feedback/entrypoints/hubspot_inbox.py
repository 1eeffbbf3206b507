"""HubSpot back into feedback: the inbox worker. HubSpot's webhook events carry ids only, so
each stored notification (handlers.receive_crm_notification) is read from the CRM API and
recorded the way webhooks are delivered: a short transaction leases due rows (FOR UPDATE SKIP
LOCKED, until the read's deadline); HubSpot is read with no transaction open (a deal with its
contacts, a call/meeting/email with its owner and contacts; a contact's status change carries
its value); one transaction resolves the lead by the first associated contact id leadloop
knows, records the touch, status update or deal through handlers.record_* (crm_event_id = the
event key) and finishes the row, only if the lease still holds.

Outcomes (leadloop_hubspot_notifications_total{object_type,outcome}): recorded, duplicate,
skipped (a status the map does not use), unknown_lead, unknown_rep, gone (deleted in HubSpot),
refused (by the loop's rules) end the row, logged; rate_limited retries at Retry-After; retry
(5xx, timeout, connection, token) on a backoff; failed (a refused request, or too many tries).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter

from leadloop_connectors.http import ConnectorError, PermanentError, RateLimited
from leadloop_connectors.hubspot import Deal as HubSpotDeal
from leadloop_connectors.hubspot import Engagement, HubSpotClient
from leadloop_events.intake import CrmNotificationReceived
from leadloop_feedback import handlers, identities
from leadloop_feedback.adapters.crm_inbox import InboxResult, InboxRow, inbox_of
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_feedback.config import Settings
from leadloop_feedback.domain.crm import (
    CrmRefused,
    Deal,
    RecordDeals,
    RecordStatusUpdates,
    RecordTouches,
    StatusUpdate,
    Touch,
)
from leadloop_feedback.domain.hubspot_map import HubSpotMapping, Planned, Skipped, needs_read, plan
from leadloop_feedback.domain.identity import ExternalRef, Ref
from leadloop_feedback.domain.ports import FeedbackUnitOfWork
from leadloop_runtime import Periodic, Transactions

log = logging.getLogger(__name__)
NOTIFICATIONS = Counter(
    "leadloop_hubspot_notifications_total",
    "HubSpot notifications read back, by object type and outcome (recorded, duplicate, "
    "skipped, unknown_lead, unknown_rep, gone, refused, rate_limited, retry, failed).",
    ["object_type", "outcome"],
)
MAX_ATTEMPTS = 20
LEASE_MARGIN_S = 10.0
Read = HubSpotDeal | Engagement | None


class LeaseLost(Exception):
    """Another worker took the row meanwhile: this attempt records nothing."""


def backoff_s(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: 5 s doubling, at most 1 h."""
    return float(min(5 * 2 ** max(attempts - 1, 0), 3600))


@dataclass(frozen=True)
class Attempt:
    """A leased row and the lease's id."""

    row: InboxRow
    lease_id: str

    def result(
        self,
        status: str,
        outcome: str,
        error: str | None,
        at: datetime,
        about: tuple[str | None, tuple[str, ...]] = (None, ()),
    ) -> InboxResult:
        """This attempt's end: the row done/failed now, or pending again at `at`; `about`:
        the lead it resolved to and the contacts it names."""
        key = self.row.notification.event_key
        finished = None if status == "pending" else datetime.now(UTC)
        return InboxResult(key, self.lease_id, status, outcome, error, at, finished, *about)


async def lease_rows(
    uow: SqlUnitOfWork, now: datetime, limit: int, until: datetime
) -> list[Attempt]:
    """Claim due HubSpot notifications until `until`."""
    inbox, lease_id = inbox_of(uow), uuid.uuid4().hex
    assert inbox is not None
    rows = await inbox.due("hubspot", now, limit)
    if rows:
        await inbox.lease([r.notification.event_key for r in rows], lease_id, until)
    return [Attempt(r, lease_id) for r in rows]


async def resolve_contact(uow: FeedbackUnitOfWork, contact_ids: tuple[str, ...]) -> str | None:
    """The lead of the first contact id leadloop knows."""
    for contact in contact_ids:
        ref = Ref.external(ExternalRef(system="hubspot", id=contact), "contact")
        lead_id = await identities.resolve_lead(uow, ref)
        if lead_id is not None:
            return lead_id
    return None


async def record_planned(uow: SqlUnitOfWork, attempt: Attempt, planned: Planned) -> str:
    """Resolve the lead, record the item, finish the row: one transaction; its outcome."""
    lead_id = await resolve_contact(uow, planned.contact_ids)
    outcome = "unknown_lead"
    if lead_id is not None:
        item = planned.item(lead_id)
        if isinstance(item, Touch):
            done = await handlers.record_touches(uow, RecordTouches([item]))
        elif isinstance(item, StatusUpdate):
            done = await handlers.record_status_updates(uow, RecordStatusUpdates([item]))
        else:
            assert isinstance(item, Deal)
            done = await handlers.record_deals(uow, RecordDeals([item]))
        outcome = "recorded" if done.fresh else "duplicate"
    detail = None if lead_id else f"no lead has HubSpot contact id {planned.contact_ids}"
    about = (lead_id, planned.contact_ids)
    await finish(uow, attempt.result("done", outcome, detail, datetime.now(UTC), about))
    return outcome


async def finish(uow: SqlUnitOfWork, result: InboxResult) -> None:
    """End the attempt on the row; LeaseLost (nothing committed) when its lease is gone."""
    inbox = inbox_of(uow)
    assert inbox is not None
    if not await inbox.finish(result):
        raise LeaseLost(result.event_key)


def refused_outcome(refused: CrmRefused) -> str:
    """duplicate (a redelivery whose item changed), unknown_rep, or refused."""
    codes = {e["code"] for e in refused.errors}
    if codes == {"crm_event_id_reused"}:
        return "duplicate"
    return "unknown_rep" if "unknown_rep" in codes else "refused"


class HubSpotInbox:
    """Reads and records due HubSpot notifications, a batch a round."""

    def __init__(
        self,
        transactions: Transactions[SqlUnitOfWork],
        settings: Settings,
        batch: int = 50,
        timeout_s: float = 30.0,
    ) -> None:
        token = settings.hubspot_access_token
        if token is None:
            raise ValueError("the HubSpot inbox needs LEADLOOP_HUBSPOT_ACCESS_TOKEN")
        self.transactions, self.batch, self.timeout_s = transactions, batch, timeout_s
        self.api_url, self.token = settings.hubspot_api_url, token.get_secret_value()
        self.mapping = HubSpotMapping(settings.hubspot_status_map, settings.reporting_currency)

    async def run_once(self, now: datetime | None = None) -> int:
        """Read and record every due notification once (up to the batch)."""
        now = now or datetime.now(UTC)
        until = max(now, datetime.now(UTC)) + timedelta(seconds=self.timeout_s + LEASE_MARGIN_S)
        attempts = await self.transactions.run(lease_rows, now, self.batch, until)
        if not attempts:
            return 0
        async with HubSpotClient(self.api_url, self.token) as client:
            for attempt in attempts:
                await self.attempt(client, attempt)
        return len(attempts)

    async def attempt(self, client: HubSpotClient, attempt: Attempt) -> str:
        """Read one notification's object, then record it (or its failure); its outcome."""
        n = attempt.row.notification
        try:
            async with asyncio.timeout(self.timeout_s):
                read = await self.read(client, n)
        except ConnectorError as exc:
            return await self.failed(attempt, exc)
        except TimeoutError:
            return await self.failed(attempt, None)
        planned = plan(n, read, self.mapping)
        try:
            if isinstance(planned, Skipped):
                result = attempt.result("done", planned.code, planned.detail, datetime.now(UTC))
                await self.transactions.run(finish, result)
                outcome = planned.code
            else:
                outcome = await self.transactions.run(record_planned, attempt, planned)
        except CrmRefused as refused:
            outcome = refused_outcome(refused)
            why = "; ".join(e["message"] for e in refused.errors)
            about = (None, planned.contact_ids) if isinstance(planned, Planned) else (None, ())
            end = attempt.result("done", outcome, why, _now(), about)
            await self.transactions.run(finish, end)
        except LeaseLost:
            log.warning("hubspot notification %s: lease lost, not recorded", n.event_key)
            return "lease_lost"
        self.count(n, outcome)
        return outcome

    async def read(self, client: HubSpotClient, n: CrmNotificationReceived) -> Read:
        """What the notification is about, from the CRM API (None for a contact change, or
        when HubSpot no longer has the object)."""
        kind = needs_read(n)
        if kind == "deal":
            return await client.get_deal(n.object_id)
        if kind is not None:
            return await client.get_engagement(kind, n.object_id)
        return None

    async def failed(self, attempt: Attempt, exc: ConnectorError | None) -> str:
        """A read that failed: retried at Retry-After, on the backoff, or failed for good."""
        tries = attempt.row.attempts + 1
        error = f"{type(exc).__name__}: {exc}" if exc else f"timed out after {self.timeout_s:g} s"
        if isinstance(exc, PermanentError) or tries >= MAX_ATTEMPTS:
            status, outcome, wait = "failed", "failed", 0.0
        elif isinstance(exc, RateLimited):
            status, outcome, wait = "pending", "rate_limited", exc.retry_after_s
        else:
            status, outcome, wait = "pending", "retry", backoff_s(tries)
        at = _now() + timedelta(seconds=wait)
        try:
            await self.transactions.run(finish, attempt.result(status, outcome, error, at))
        except LeaseLost:
            return "lease_lost"
        self.count(attempt.row.notification, outcome)
        return outcome

    @staticmethod
    def count(n: CrmNotificationReceived, outcome: str) -> None:
        """Count the outcome; log what was not recorded."""
        if outcome not in ("recorded", "duplicate"):
            log.warning(
                "hubspot notification %s (%s %s): %s",
                n.event_key,
                n.object_type,
                n.object_id,
                outcome,
            )
        NOTIFICATIONS.labels(n.object_type, outcome).inc()


def _now() -> datetime:
    return datetime.now(UTC)


def hubspot_inbox_worker(
    transactions: Transactions[SqlUnitOfWork], settings: Settings
) -> tuple[HubSpotInbox | None, Periodic | None]:
    """The inbox and its loop, when LEADLOOP_HUBSPOT_ACCESS_TOKEN is set; else (None, None)."""
    if settings.hubspot_access_token is None:
        return None, None
    inbox = HubSpotInbox(transactions, settings, settings.hubspot_inbox_batch)
    return inbox, Periodic("hubspot-inbox", inbox.run_once, settings.hubspot_inbox_interval_s)
