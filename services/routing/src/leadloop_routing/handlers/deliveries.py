"""The short transactions around each webhook and email send: lease (commit), send with no
transaction open (the worker), record the outcome (commit)."""

from __future__ import annotations

from leadloop_routing.adapters.ports import RoutingUnitOfWork
from leadloop_routing.adapters.webhook_sender import next_attempt_delay
from leadloop_routing.domain.commands import (
    LeaseDeliveries,
    LeaseEmail,
    RecordDeliveryAttempt,
    RecordEmailAttempt,
)
from leadloop_routing.domain.delivery import (
    Email,
    LeasedDelivery,
    delivery_outcome,
    email_outcome,
    one_per_subscriber,
)


async def lease_deliveries(
    uow: RoutingUnitOfWork, command: LeaseDeliveries
) -> list[LeasedDelivery]:
    """Claim due deliveries of active subscriptions, one per subscriber, until the lease ends."""
    due = await uow.repo.due_deliveries(command.now, command.limit)
    claimed = one_per_subscriber(due, command.limit, command.per_subscriber)
    if claimed:
        ids = [leased.delivery.delivery_id for leased in claimed]
        await uow.repo.lease_deliveries(ids, command.until)
    return claimed


async def record_delivery_attempt(uow: RoutingUnitOfWork, command: RecordDeliveryAttempt) -> None:
    """Log the attempt; succeeded, retried on the schedule, or failed once it is exhausted."""
    delivery = command.leased.delivery
    delay = next_attempt_delay(len(delivery.attempts) + 1)
    await uow.repo.record_delivery(delivery_outcome(delivery, command.attempt, delay))


async def lease_email(uow: RoutingUnitOfWork, command: LeaseEmail) -> Email | None:
    """Claim the next due email until the lease ends; None when none is due."""
    return await uow.repo.lease_email(command.now, command.until)


async def record_email_attempt(uow: RoutingUnitOfWork, command: RecordEmailAttempt) -> None:
    """Record a send: sent, retried with backoff, or failed after the last retry."""
    await uow.repo.record_email(email_outcome(command.email, command.error, command.now))
