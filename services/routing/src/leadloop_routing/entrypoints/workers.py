"""Time-driven work: SLA timers, webhook deliveries, alert emails.

Due rows are claimed with FOR UPDATE SKIP LOCKED, so any number of routing replicas share the
work and no timer fires twice. Webhooks and emails never hold a transaction across the network:
a short transaction claims a row with a lease (its next_attempt_at moves past the attempt's
deadline) and commits, the message is sent, and another short transaction records the outcome.
A process that dies mid-send re-sends only the messages it held, after their lease, under the
same webhook-id or Message-ID, so the receiver can tell it is the same. Each short transaction
goes through the runtime's transaction runner; the runtime's `Periodic` runs the rounds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import aiosmtplib
import httpx
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from leadloop_db.uow import Transactions
from leadloop_platform.outbound import OutboundPolicy
from leadloop_routing import metrics
from leadloop_routing.adapters.mailer import SmtpSettings, send_email
from leadloop_routing.adapters.tables import emails, webhook_deliveries, webhook_subscriptions
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.adapters.webhook_sender import deliver, next_attempt_delay
from leadloop_routing.handlers import Routing

log = logging.getLogger(__name__)
EMAIL_RETRIES = 8
# A lease outlives the attempt's deadline by this much, so only a dead process loses one.
LEASE_MARGIN_S = 10.0
# Expected while running: the database away, no agreement received yet (LookupError).
RETRIED = (DBAPIError, OSError, LookupError)
Runner = Transactions[SqlUnitOfWork]


def _at(moment: datetime | None) -> sa.ColumnElement[Any]:
    """A time (or NULL) typed as timestamptz, for a CASE (an untyped one would be text)."""
    ts = sa.DateTime(timezone=True)
    return sa.cast(sa.null(), ts) if moment is None else sa.literal(moment, ts)


class SlaTimers:
    """Fires due SLA steps, in one transaction per round."""

    def __init__(self, routing: Routing, transactions: Runner, batch: int) -> None:
        self.routing, self.transactions, self.batch = routing, transactions, batch

    async def run_once(self, now: datetime | None = None) -> int:
        """Fire every due SLA step once; returns how many fired."""
        return await self.transactions.run(self.escalate_due, now or datetime.now(UTC))

    async def escalate_due(self, uow: SqlUnitOfWork, now: datetime) -> int:
        """Escalate the timers due at `now`, at most `batch` of them."""
        due = await uow.repo.due_timers(now, self.batch)
        for row in due:
            await self.routing.escalate(uow, row, now)
        return len(due)


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
        attempted = 0
        async with self.policy.client() as client:
            while attempted < self.batch:
                claimed = await self._claim(now, min(self.concurrency, self.batch - attempted))
                if not claimed:
                    break
                # Every attempt finishes (and is recorded) before a failure is raised.
                outcomes = await asyncio.gather(
                    *(self._attempt(client, row, now) for row in claimed), return_exceptions=True
                )
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        raise outcome
                attempted += len(claimed)
        return attempted

    async def _claim(self, now: datetime, limit: int) -> list[Any]:
        """Lease up to `limit` due deliveries of active subscriptions in a short transaction."""
        return await self.transactions.run(self._lease, now, limit)

    async def _lease(self, uow: SqlUnitOfWork, now: datetime, limit: int) -> list[Any]:
        d, s = webhook_deliveries, webhook_subscriptions
        lease = now + timedelta(seconds=self.policy.timeout_s + LEASE_MARGIN_S)
        rows = (
            await uow.conn.execute(
                sa.select(d, s.c.url, s.c.secret)
                .join(s, s.c.subscription_id == d.c.subscription_id)
                .where(d.c.next_attempt_at <= now, d.c.status == "pending", s.c.active)
                .order_by(d.c.next_attempt_at)
                .limit(limit * 4)
                .with_for_update(of=d, skip_locked=True)
            )
        ).all()
        per_subscriber: dict[str, int] = {}
        claimed: list[Any] = []
        for row in rows:
            taken = per_subscriber.get(row.subscription_id, 0)
            if taken < self.per_subscriber and len(claimed) < limit:
                per_subscriber[row.subscription_id] = taken + 1
                claimed.append(row)
        if claimed:
            await uow.conn.execute(
                d.update()
                .where(d.c.delivery_id.in_([row.delivery_id for row in claimed]))
                .values(next_attempt_at=lease)
            )
        return claimed

    async def _attempt(self, client: httpx.AsyncClient, row: Any, now: datetime) -> None:
        """Send one claimed delivery (no transaction open), then record its outcome."""
        d = webhook_deliveries
        result = await deliver(
            client, row.url, row.secret, row.event_id, row.payload, policy=self.policy
        )
        attempts = [
            *row.attempts,
            {
                "at": now.isoformat(),
                "ok": result.ok,
                "status_code": result.status_code,
                "error": result.error,
                "duration_ms": round(result.duration_ms, 1),
            },
        ]
        delay = None if result.ok else next_attempt_delay(len(attempts))
        status = "succeeded" if result.ok else ("pending" if delay else "failed")
        metrics.WEBHOOK_DELIVERIES.labels("ok" if result.ok else "error").inc()
        still_pending = d.c.status == "pending"
        # The attempt count is the version: a late writer (its lease taken over after a
        # stall) records nothing. Cancelled meanwhile (deactivated, erased) stays cancelled.
        outcome = (
            d.update()
            .where(
                d.c.delivery_id == row.delivery_id,
                sa.func.jsonb_array_length(d.c.attempts) == len(row.attempts),
            )
            .values(
                attempts=attempts,
                status=sa.case((still_pending, status), else_=d.c.status),
                next_attempt_at=sa.case(
                    (still_pending, _at(now + delay if delay else None)), else_=_at(None)
                ),
                delivered_at=now if result.ok else None,
            )
        )
        await self.transactions.run(_execute, outcome)


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
        row = await self.transactions.run(_lease_email, now, lease)
        if row is None:
            return False
        message = message_from_bytes(row.message, policy=policy.default)
        error: str | None = None
        try:
            async with asyncio.timeout(deadline_s):
                await send_email(smtp, message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            error = str(exc)[:1000] or type(exc).__name__
        attempts = row.attempts + 1
        retry = error is not None and attempts < EMAIL_RETRIES
        metrics.EMAILS.labels("error" if error else "sent").inc()
        still_pending = emails.c.status == "pending"
        outcome = (
            emails.update()
            .where(emails.c.email_id == row.email_id, emails.c.attempts == row.attempts)
            .values(
                attempts=attempts,
                last_error=error,
                status=sa.case(
                    (still_pending, "sent" if error is None else "pending" if retry else "failed"),
                    else_=emails.c.status,
                ),
                sent_at=now if error is None else None,
                next_attempt_at=sa.case(
                    (
                        still_pending,
                        _at(now + timedelta(seconds=30 * 2**attempts) if retry else None),
                    ),
                    else_=_at(None),
                ),
            )
        )
        await self.transactions.run(_execute, outcome)
        return True


async def _execute(uow: SqlUnitOfWork, statement: sa.Executable) -> None:
    """Run one statement (an attempt's outcome) in its own short transaction."""
    await uow.conn.execute(statement)


async def _lease_email(uow: SqlUnitOfWork, now: datetime, lease: datetime) -> Any:
    """Lease the next due email until `lease`; None when none is due."""
    row = (
        await uow.conn.execute(
            sa.select(emails)
            .where(emails.c.next_attempt_at <= now, emails.c.status == "pending")
            .order_by(emails.c.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    if row is not None:
        await uow.conn.execute(
            emails.update().where(emails.c.email_id == row.email_id).values(next_attempt_at=lease)
        )
    return row
