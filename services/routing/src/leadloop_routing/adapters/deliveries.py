"""Routing's queries over webhook subscriptions, deliveries and alert emails."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_platform.http.paging import PageRequest, keyset
from leadloop_routing.adapters.rows import (
    delivery_from_row,
    delivery_row,
    email_from_row,
    email_row,
    subscription_from_row,
    subscription_row,
)
from leadloop_routing.adapters.tables import emails, webhook_deliveries, webhook_subscriptions
from leadloop_routing.domain.delivery import (
    Delivery,
    DeliveryOutcome,
    Email,
    EmailOutcome,
    LeasedDelivery,
    Subscription,
)

# A due delivery's candidates are over-fetched so that one busy subscriber cannot starve
# the others out of a claim (each subscriber gets at most one delivery per claim).
OVERFETCH = 4
# A hand-off's inserts, built once: each call only binds its row (the columns it names).
QUEUE_DELIVERY = insert(webhook_deliveries).on_conflict_do_nothing()
QUEUE_EMAIL = insert(emails).on_conflict_do_nothing()


def _at(moment: datetime | None) -> sa.ColumnElement[Any]:
    """A time (or NULL) typed as timestamptz, for a CASE (an untyped one would be text)."""
    ts = sa.DateTime(timezone=True)
    return sa.cast(sa.null(), ts) if moment is None else sa.literal(moment, ts)


class SqlDeliveries:
    """Subscriptions, deliveries and emails inside one transaction."""

    conn: AsyncConnection

    async def add_subscription(self, subscription: Subscription) -> None:
        """Store a new subscription."""
        await self.conn.execute(
            webhook_subscriptions.insert().values(subscription_row(subscription))
        )

    async def subscriptions(self, page: PageRequest) -> list[Subscription]:
        """A page of subscriptions, active or not, oldest first (one more than its limit)."""
        s = webhook_subscriptions
        rows = await self.conn.execute(
            keyset(sa.select(s), [s.c.created_at, s.c.subscription_id], page)
        )
        return [subscription_from_row(r) for r in rows]

    async def active_subscriptions(self, event_type: str) -> list[Subscription]:
        """The active subscriptions to `event_type`."""
        s = webhook_subscriptions
        rows = await self.conn.execute(
            sa.select(s).where(
                s.c.active.is_(True), sa.literal(event_type) == sa.any_(s.c.event_types)
            )
        )
        return [subscription_from_row(r) for r in rows]

    async def deactivate_subscription(self, subscription_id: str) -> bool:
        """Mark a subscription inactive; False when there is none."""
        s = webhook_subscriptions
        done = await self.conn.execute(
            s.update().where(s.c.subscription_id == subscription_id).values(active=False)
        )
        return bool(done.rowcount)

    async def cancel_deliveries(self, subscription_id: str) -> None:
        """Cancel a subscription's queued deliveries and retries."""
        d = webhook_deliveries
        await self.conn.execute(
            d.update()
            .where(d.c.subscription_id == subscription_id, d.c.status == "pending")
            .values(status="cancelled", next_attempt_at=None)
        )

    async def queue_delivery(self, delivery: Delivery) -> None:
        """Queue a delivery, once per subscription and event."""
        await self.conn.execute(QUEUE_DELIVERY, delivery_row(delivery))

    async def deliveries(
        self, status: str | None, lead_id: str | None, page: PageRequest
    ) -> list[Delivery]:
        """A page of the delivery log, newest first (one more than its limit)."""
        d = webhook_deliveries
        query = sa.select(d)
        if status:
            query = query.where(d.c.status == status)
        if lead_id:
            query = query.where(d.c.lead_id == lead_id)
        query = keyset(query, [d.c.created_at, d.c.delivery_id], page, descending=True)
        return [delivery_from_row(r) for r in await self.conn.execute(query)]

    async def redeliver(self, delivery_id: str, at: datetime) -> Delivery | None:
        """Make a delivery due at `at` again, unless cancelled or its subscription inactive."""
        d, s = webhook_deliveries, webhook_subscriptions
        active = sa.select(s.c.subscription_id).where(s.c.active)
        row = (
            await self.conn.execute(
                d.update()
                .where(
                    d.c.delivery_id == delivery_id,
                    d.c.status != "cancelled",
                    d.c.subscription_id.in_(active),
                )
                .values(status="pending", next_attempt_at=at)
                .returning(d)
            )
        ).first()
        return None if row is None else delivery_from_row(row)

    async def due_deliveries(self, now: datetime, limit: int) -> list[LeasedDelivery]:
        """Lock due deliveries of active subscriptions (skipping those other replicas hold)."""
        d, s = webhook_deliveries, webhook_subscriptions
        rows = await self.conn.execute(
            sa.select(d, s.c.url, s.c.secret)
            .join(s, s.c.subscription_id == d.c.subscription_id)
            .where(d.c.next_attempt_at <= now, d.c.status == "pending", s.c.active)
            .order_by(d.c.next_attempt_at)
            .limit(limit * OVERFETCH)
            .with_for_update(of=d, skip_locked=True)
        )
        return [LeasedDelivery(delivery_from_row(r), r.url, r.secret) for r in rows]

    async def lease_deliveries(self, delivery_ids: Sequence[str], until: datetime) -> None:
        """Lease deliveries until `until`: nobody else attempts them before."""
        d = webhook_deliveries
        await self.conn.execute(
            d.update().where(d.c.delivery_id.in_(list(delivery_ids))).values(next_attempt_at=until)
        )

    async def record_delivery(self, outcome: DeliveryOutcome) -> None:
        """Write an attempt's outcome, unless a later writer took over or it was cancelled."""
        d = webhook_deliveries
        still_pending = d.c.status == "pending"
        # The attempt count is the version: a late writer (its lease taken over after a
        # stall) records nothing. Cancelled meanwhile (deactivated, erased) stays cancelled.
        await self.conn.execute(
            d.update()
            .where(
                d.c.delivery_id == outcome.delivery_id,
                sa.func.jsonb_array_length(d.c.attempts) == outcome.attempts_before,
            )
            .values(
                attempts=list(outcome.attempts),
                status=sa.case((still_pending, outcome.status), else_=d.c.status),
                next_attempt_at=sa.case(
                    (still_pending, _at(outcome.next_attempt_at)), else_=_at(None)
                ),
                delivered_at=outcome.delivered_at,
            )
        )

    async def queue_email(self, email: Email) -> None:
        """Queue an email, once per dedupe key."""
        await self.conn.execute(QUEUE_EMAIL, email_row(email))

    async def lease_email(self, now: datetime, until: datetime) -> Email | None:
        """Lease the next due email until `until`; None when none is due."""
        row = (
            await self.conn.execute(
                sa.select(emails)
                .where(emails.c.next_attempt_at <= now, emails.c.status == "pending")
                .order_by(emails.c.next_attempt_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()
        if row is None:
            return None
        await self.conn.execute(
            emails.update().where(emails.c.email_id == row.email_id).values(next_attempt_at=until)
        )
        return email_from_row(row)

    async def record_email(self, outcome: EmailOutcome) -> None:
        """Write a send's outcome, unless another attempt was recorded or it was cancelled."""
        still_pending = emails.c.status == "pending"
        await self.conn.execute(
            emails.update()
            .where(
                emails.c.email_id == outcome.email_id, emails.c.attempts == outcome.attempts_before
            )
            .values(
                attempts=outcome.attempts,
                last_error=outcome.last_error,
                status=sa.case((still_pending, outcome.status), else_=emails.c.status),
                sent_at=outcome.sent_at,
                next_attempt_at=sa.case(
                    (still_pending, _at(outcome.next_attempt_at)), else_=_at(None)
                ),
            )
        )
