"""Time-driven work: SLA timers, webhook deliveries, alert emails.

Due rows are claimed with FOR UPDATE SKIP LOCKED, so any number of routing replicas share the
work and no timer fires twice. Webhooks and emails are claimed and recorded one per transaction:
a process that dies after sending and before recording re-sends only that one message, under
the same webhook-id or Message-ID, so the receiver can tell it is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import aiosmtplib
import httpx
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from leadloop_routing import metrics
from leadloop_routing.adapters.mailer import SmtpSettings, send_email
from leadloop_routing.adapters.tables import emails, webhook_deliveries, webhook_subscriptions
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.adapters.webhook_sender import deliver, next_attempt_delay
from leadloop_routing.handlers import Routing

log = logging.getLogger(__name__)
EMAIL_RETRIES = 8


class Worker:
    """Runs `round` every `interval_s` until stopped; a failing round is logged and retried."""

    def __init__(self, name: str, round_: Callable[[], Awaitable[int]], interval_s: float) -> None:
        self.name = name
        self.round = round_
        self.interval_s = interval_s
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Run a round now."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.round()
            except (DBAPIError, OSError, LookupError) as exc:
                log.warning("%s round failed, the next one retries: %r", self.name, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)


class SlaTimers:
    def __init__(self, routing: Routing, uow: Callable[[], SqlUnitOfWork], batch: int) -> None:
        self.routing, self.uow, self.batch = routing, uow, batch

    async def run_once(self, now: datetime | None = None) -> int:
        """Fire every due SLA step once; returns how many fired."""
        now = now or datetime.now(UTC)
        async with self.uow() as uow:
            due = await uow.repo.due_timers(now, self.batch)
            for row in due:
                await self.routing.escalate(uow, row, now)
            await uow.commit()
        return len(due)


class WebhookDeliveries:
    def __init__(self, uow: Callable[[], SqlUnitOfWork], batch: int, timeout_s: float) -> None:
        self.uow, self.batch, self.timeout_s = uow, batch, timeout_s

    async def run_once(self, now: datetime | None = None) -> int:
        """Attempt every due delivery once; record the attempt and schedule the retry."""
        now = now or datetime.now(UTC)
        attempted = 0
        async with httpx.AsyncClient() as client:
            while attempted < self.batch and await self._attempt_one(client, now):
                attempted += 1
        return attempted

    async def _attempt_one(self, client: httpx.AsyncClient, now: datetime) -> bool:
        """Claim one due delivery, send it, record the outcome; False when none is due.

        One transaction per delivery: a crash (or a lost database) between the POST and the
        commit re-sends only that one, under the same webhook-id, never the whole round.
        """
        d, s = webhook_deliveries, webhook_subscriptions
        async with self.uow() as uow:
            row = (
                await uow.conn.execute(
                    sa.select(d, s.c.url, s.c.secret)
                    .join(s, s.c.subscription_id == d.c.subscription_id)
                    .where(d.c.next_attempt_at <= now)
                    .order_by(d.c.next_attempt_at)
                    .limit(1)
                    .with_for_update(of=d, skip_locked=True)
                )
            ).first()
            if row is None:
                return False
            result = await deliver(
                client, row.url, row.secret, row.event_id, row.payload, timeout_s=self.timeout_s
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
            await uow.conn.execute(
                d.update()
                .where(d.c.delivery_id == row.delivery_id)
                .values(
                    attempts=attempts,
                    status=status,
                    next_attempt_at=now + delay if delay else None,
                    delivered_at=now if result.ok else None,
                )
            )
            await uow.commit()
        return True


class AlertEmails:
    def __init__(self, uow: Callable[[], SqlUnitOfWork], smtp: SmtpSettings | None, batch: int):
        self.uow, self.smtp, self.batch = uow, smtp, batch

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
        """Claim one due email, send it, record the outcome; False when none is due.

        One transaction per email, as for webhooks: a crash re-sends at most the one in flight
        (with the same Message-ID).
        """
        async with self.uow() as uow:
            row = (
                await uow.conn.execute(
                    sa.select(emails)
                    .where(emails.c.next_attempt_at <= now)
                    .order_by(emails.c.next_attempt_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                return False
            message = message_from_bytes(row.message, policy=policy.default)
            try:
                await send_email(smtp, message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
                attempts = row.attempts + 1
                retry = attempts < EMAIL_RETRIES
                metrics.EMAILS.labels("error").inc()
                await uow.conn.execute(
                    emails.update()
                    .where(emails.c.email_id == row.email_id)
                    .values(
                        attempts=attempts,
                        last_error=str(exc)[:1000],
                        status="pending" if retry else "failed",
                        next_attempt_at=now + timedelta(seconds=30 * 2**attempts)
                        if retry
                        else None,
                    )
                )
            else:
                metrics.EMAILS.labels("sent").inc()
                await uow.conn.execute(
                    emails.update()
                    .where(emails.c.email_id == row.email_id)
                    .values(
                        status="sent", sent_at=now, next_attempt_at=None, attempts=row.attempts + 1
                    )
                )
            await uow.commit()
        return True
