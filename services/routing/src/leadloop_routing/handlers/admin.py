"""Routing's admin commands and reads: reps, accounts, webhook subscriptions, redelivery."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from leadloop_platform.http.paging import PageRequest
from leadloop_routing.adapters.ports import RoutingUnitOfWork
from leadloop_routing.adapters.webhook_sender import new_secret
from leadloop_routing.domain.assignment import Assignment
from leadloop_routing.domain.commands import (
    CancelSubscription,
    DeactivateRep,
    Redeliver,
    SubscribeWebhook,
    UpsertAccount,
    UpsertRep,
)
from leadloop_routing.domain.delivery import Delivery, Subscription
from leadloop_routing.domain.errors import (
    CrmIdTaken,
    DeliveryNotFound,
    RepNotFound,
    SubscriptionNotFound,
    UnknownOwner,
)
from leadloop_routing.domain.model import Account, Rep, distribution


async def upsert_rep(uow: RoutingUnitOfWork, command: UpsertRep) -> Rep:
    """Create or replace a rep; CrmIdTaken when another rep has one of its CRM ids."""
    rep = command.rep
    if command.keep_crm_ids:
        current = await uow.repo.rep(rep.rep_id)
        rep = dataclasses.replace(rep, crm_ids=dict(current.crm_ids) if current else {})
    for system, crm_id in rep.crm_ids.items():
        holder = await uow.repo.rep_by_crm_id(system, crm_id)
        if holder is not None and holder.rep_id != rep.rep_id:
            raise CrmIdTaken(f"{system} id {crm_id} is already rep {holder.rep_id}'s")
    await uow.repo.save_rep(rep, command.at)
    return rep


async def deactivate_rep(uow: RoutingUnitOfWork, command: DeactivateRep) -> Rep:
    """Keep the rep for history and route no new lead to them; RepNotFound if unknown."""
    rep = await uow.repo.rep(command.rep_id)
    if rep is None:
        raise RepNotFound(f"no rep {command.rep_id}")
    inactive = dataclasses.replace(rep, active=False)
    await uow.repo.save_rep(inactive, command.at)
    return inactive


async def upsert_account(uow: RoutingUnitOfWork, command: UpsertAccount) -> Account:
    """Load an existing customer account; its owner must be a rep (UnknownOwner)."""
    account = command.account
    if await uow.repo.rep(account.owner_rep_id) is None:
        raise UnknownOwner(f"no rep {account.owner_rep_id}")
    await uow.repo.save_account(account, command.at)
    return account


async def subscribe_webhook(uow: RoutingUnitOfWork, command: SubscribeWebhook) -> Subscription:
    """Subscribe a URL to handoff events with a new signing secret (shown once)."""
    subscription = Subscription(
        subscription_id=str(uuid.uuid4()),
        url=command.url,
        secret=new_secret(),
        event_types=command.event_types,
        description=command.description,
        active=True,
        created_at=command.at,
    )
    await uow.repo.add_subscription(subscription)
    return subscription


async def cancel_subscription(uow: RoutingUnitOfWork, command: CancelSubscription) -> None:
    """Deactivate a subscription and cancel its queued deliveries and retries."""
    if not await uow.repo.deactivate_subscription(command.subscription_id):
        raise SubscriptionNotFound(f"no subscription {command.subscription_id}")
    # Queued deliveries carry lead data: none leaves for a receiver no longer wanted.
    await uow.repo.cancel_deliveries(command.subscription_id)


async def redeliver(uow: RoutingUnitOfWork, command: Redeliver) -> Delivery:
    """Make a delivery due now (not a cancelled one, nor one of an inactive subscription)."""
    delivery = await uow.repo.redeliver(command.delivery_id, command.at)
    if delivery is None:
        raise DeliveryNotFound(f"no deliverable delivery {command.delivery_id}")
    return delivery


async def list_reps(uow: RoutingUnitOfWork, page: PageRequest) -> list[Rep]:
    """A page of reps by id."""
    return await uow.repo.reps(page)


async def get_rep(uow: RoutingUnitOfWork, rep_id: str) -> Rep | None:
    """One rep, or None."""
    return await uow.repo.rep(rep_id)


async def get_account(uow: RoutingUnitOfWork, domain: str) -> Account | None:
    """The account of an email domain, or None."""
    return await uow.repo.account(domain)


async def lead_assignments(uow: RoutingUnitOfWork, lead_id: str) -> list[Assignment]:
    """A lead's assignments, newest first."""
    return await uow.repo.assignments_of(lead_id)


async def rep_distribution(
    uow: RoutingUnitOfWork, since: datetime | None, team: str | None
) -> list[dict[str, Any]]:
    """Each rep's share of assignments against their weight, per team."""
    counts = await uow.repo.assignment_counts(since, team)
    return distribution(counts, {r.rep_id: r for r in await uow.repo.all_reps()})


async def list_subscriptions(uow: RoutingUnitOfWork, page: PageRequest) -> list[Subscription]:
    """A page of subscriptions, oldest first."""
    return await uow.repo.subscriptions(page)


async def list_deliveries(
    uow: RoutingUnitOfWork, status: str | None, lead_id: str | None, page: PageRequest
) -> list[Delivery]:
    """A page of the delivery log, newest first."""
    return await uow.repo.deliveries(status, lead_id, page)
