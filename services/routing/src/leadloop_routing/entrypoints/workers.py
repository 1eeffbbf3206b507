"""Time-driven work: SLA timers, webhook deliveries, alert emails.

Due rows are claimed with FOR UPDATE SKIP LOCKED, so any number of routing replicas share the
work and no timer fires twice. Webhooks and emails never hold a transaction across the network:
a short transaction claims a row with a lease (its next_attempt_at moves past the attempt's
deadline) and commits, the message is sent, and another short transaction records the outcome.
A process that dies mid-send re-sends only the messages it held, after their lease, under the
same webhook-id or Message-ID, so the receiver can tell it is the same. Each short transaction
is a handler run by the runtime's transaction runner; the runtime's `Periodic` runs the rounds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiosmtplib
import httpx
from sqlalchemy.exc import DBAPIError

from leadloop_db.uow import Transactions
from leadloop_platform.outbound import OutboundPolicy
from leadloop_routing import metrics
from leadloop_routing.adapters.mailer import SmtpSettings, send_stored_email
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.adapters.webhook_sender import deliver
from leadloop_routing.alerts import Outbound
from leadloop_routing.domain.commands import (
    EscalateDueLeads,
    LeaseDeliveries,
    LeaseEmail,
    RecordDeliveryAttempt,
    RecordEmailAttempt,
)
from leadloop_routing.domain.delivery import Attempt, LeasedDelivery
from leadloop_routing.handlers import (
    escalate_due_leads,
    lease_deliveries,
    lease_email,
    record_delivery_attempt,
    record_email_attempt,
)

# A lease outlives the attempt's deadline by this much, so only a dead process loses one.
LEASE_MARGIN_S = 10.0
# Expected while running: the database away, no agreement received yet (LookupError).
RETRIED = (DBAPIError, OSError, LookupError)
Runner = Transactions[SqlUnitOfWork]


class SlaTimers:
    """Fires due SLA steps, in one transaction per round."""

    def __init__(self, outbound: Outbound, transactions: Runner, batch: int) -> None:
        self.outbound, self.transactions, self.batch = outbound, transactions, batch

    async def run_once(self, now: datetime | None = None) -> int:
        """Fire every due SLA step once; returns how many fired."""
        command = EscalateDueLeads(now or datetime.now(UTC), self.batch)
        return await self.transactions.run(escalate_due_leads, command, outbound=self.outbound)


class WebhookDeliveries:
    """Sends due webhook deliveries, to different subscribers at the same time."""

    def __init__(
        self,
        transactions: Runner,
        batch: int,
        policy: OutboundPolicy,
        concurrency: int = 16,
    ) -> None:
        self.transactions, self.batch, self.policy = transactions, batch, policy
        self.concurrency = concurrency
        # One delivery at a time per subscriber: a slow one takes one slot, never the batch,
        # and a crash re-sends at most one message to each receiver.
        self.per_subscriber = 1

    async def run_once(self, now: datetime | None = None) -> int:
        """Attempt every due delivery once; record the attempt and schedule the retry."""
        now = now or datetime.now(UTC)
        lease = now + timedelta(seconds=self.policy.timeout_s + LEASE_MARGIN_S)
        attempted = 0
        async with self.policy.client() as client:
            while attempted < self.batch:
                limit = min(self.concurrency, self.batch - attempted)
                claim = LeaseDeliveries(now, limit, lease, self.per_subscriber)
                claimed = await self.transactions.run(lease_deliveries, claim)
                if not claimed:
                    break
                # Every attempt finishes (and is recorded) before a failure is raised.
                outcomes = await asyncio.gather(
                    *(self._attempt(client, leased, now) for leased in claimed),
                    return_exceptions=True,
                )
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        raise outcome
                attempted += len(claimed)
        return attempted

    async def _attempt(
        self, client: httpx.AsyncClient, leased: LeasedDelivery, now: datetime
    ) -> None:
        """Send one leased delivery (no transaction open), then record its outcome."""
        delivery = leased.delivery
        result = await deliver(
            client,
            leased.url,
            leased.secret,
            delivery.event_id,
            delivery.payload,
            policy=self.policy,
        )
        metrics.WEBHOOK_DELIVERIES.labels("ok" if result.ok else "error").inc()
        attempt = Attempt(now, result.ok, result.status_code, result.error, result.duration_ms)
        await self.transactions.run(record_delivery_attempt, RecordDeliveryAttempt(leased, attempt))


class AlertEmails:
    """Sends due alert emails, one at a time, with no transaction open while sending."""

    def __init__(self, transactions: Runner, smtp: SmtpSettings | None, batch: int):
        self.transactions, self.smtp, self.batch = transactions, smtp, batch

    async def run_once(self, now: datetime | None = None) -> int:
        """Send every due email once; failures retry with backoff, then stay failed."""
        if self.smtp is None:
            return 0
        now = now or datetime.now(UTC)
        attempted = 0
        while attempted < self.batch and await self._send_one(self.smtp, now):
            attempted += 1
        return attempted

    async def _send_one(self, smtp: SmtpSettings, now: datetime) -> bool:
        """Lease one due email, send it, record the outcome; False when none is due."""
        deadline_s = 2 * smtp.timeout_s  # the whole exchange; each step has smtp.timeout_s
        lease = now + timedelta(seconds=deadline_s + LEASE_MARGIN_S)
        email = await self.transactions.run(lease_email, LeaseEmail(now, lease))
        if email is None:
            return False
        error: str | None = None
        try:
            async with asyncio.timeout(deadline_s):
                await send_stored_email(smtp, email.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            error = str(exc)[:1000] or type(exc).__name__
        metrics.EMAILS.labels("error" if error else "sent").inc()
        await self.transactions.run(record_email_attempt, RecordEmailAttempt(email, error, now))
        return True
