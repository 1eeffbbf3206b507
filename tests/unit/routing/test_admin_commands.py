"""Routing's admin commands through the real transaction runner: reps, accounts, webhook
subscriptions (cancelling what is queued), redelivery, and the lease/record steps of sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadloop_routing.domain.commands import (
    CancelSubscription,
    DeactivateRep,
    LeaseDeliveries,
    LeaseEmail,
    RecordDeliveryAttempt,
    RecordEmailAttempt,
    Redeliver,
    SubscribeWebhook,
    UpsertAccount,
    UpsertRep,
)
from leadloop_routing.domain.delivery import EMAIL_RETRIES, Attempt
from leadloop_routing.domain.errors import (
    DeliveryNotFound,
    RepNotFound,
    SubscriptionNotFound,
    UnknownOwner,
)
from leadloop_routing.domain.model import Account
from leadloop_routing.handlers import (
    cancel_subscription,
    deactivate_rep,
    lease_deliveries,
    lease_email,
    record_delivery_attempt,
    record_email_attempt,
    redeliver,
    subscribe_webhook,
    upsert_account,
    upsert_rep,
)

from ...factories import stage_changed
from .support import Routing, rep

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
ASSIGNED = "leadloop.lead.assigned.v1"


async def subscribed(routing: Routing, url: str) -> str:
    """Subscribe `url` to lead alerts; its id."""
    command = SubscribeWebhook(url, (ASSIGNED,), None, NOW)
    return (await routing.transactions.run(subscribe_webhook, command)).subscription_id


async def test_a_deactivated_rep_gets_no_new_lead() -> None:
    routing = Routing()
    await routing.start()
    for r in (rep("rep-alice", weight=5), rep("rep-bob")):
        await routing.transactions.run(upsert_rep, UpsertRep(r, NOW))
    inactive = await routing.transactions.run(deactivate_rep, DeactivateRep("rep-alice", NOW))
    assert inactive.active is False and (await routing.repo.rep("rep-alice")) == inactive
    for i in range(3):
        await routing.send(stage_changed(f"lead-{i}"))
    assert {a["owner_rep_id"] for a in routing.uow.sent(ASSIGNED)} == {"rep-bob"}
    with pytest.raises(RepNotFound):
        await routing.transactions.run(deactivate_rep, DeactivateRep("rep-nobody", NOW))


async def test_an_account_needs_an_owner_who_is_a_rep() -> None:
    routing = Routing()
    await routing.start(rep("rep-carol"))
    account = Account("acme-dental.com", "ACME Dental", "rep-carol")
    assert await routing.transactions.run(upsert_account, UpsertAccount(account, NOW)) == account
    orphan = Account("globex.com", "Globex", "rep-nobody")
    with pytest.raises(UnknownOwner):
        await routing.transactions.run(upsert_account, UpsertAccount(orphan, NOW))
    assert set(routing.repo.accounts) == {"acme-dental.com"}


async def test_cancelling_a_subscription_cancels_its_queued_deliveries_only() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    kept = await subscribed(routing, "https://crm.northwind.example/hooks")
    gone = await subscribed(routing, "https://old-crm.northwind.example/hooks")
    assert routing.repo.subs[kept].secret.startswith("whsec_")
    await routing.send(stage_changed("lead-ACME-DENTAL"))
    assert len(routing.repo.queued) == 2
    await routing.transactions.run(cancel_subscription, CancelSubscription(gone))
    status = {d.subscription_id: d.status for d in routing.repo.queued.values()}
    assert status == {kept: "pending", gone: "cancelled"}
    assert not routing.repo.subs[gone].active
    with pytest.raises(SubscriptionNotFound):
        await routing.transactions.run(cancel_subscription, CancelSubscription("sub-nobody"))
    cancelled = next(d for d in routing.repo.queued.values() if d.subscription_id == gone)
    with pytest.raises(DeliveryNotFound):
        await routing.transactions.run(redeliver, Redeliver(cancelled.delivery_id, NOW))


async def test_deliveries_are_leased_one_per_subscriber_and_retried_on_failure() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    sub = await subscribed(routing, "https://crm.northwind.example/hooks")
    for lead in ("lead-1", "lead-2"):
        await routing.send(stage_changed(lead))
    later = datetime.now(UTC) + timedelta(seconds=1)
    claim = LeaseDeliveries(later, 10, later + timedelta(seconds=20))
    leased = await routing.transactions.run(lease_deliveries, claim)
    assert [x.delivery.subscription_id for x in leased] == [sub]  # one at a time per receiver
    # Leased until later: the next claim takes the other one, then nothing is left.
    (other,) = await routing.transactions.run(lease_deliveries, claim)
    assert other.delivery.delivery_id != leased[0].delivery.delivery_id
    assert await routing.transactions.run(lease_deliveries, claim) == []
    failed = Attempt(later, False, 503, "HTTP 503", 12.0)
    await routing.transactions.run(
        record_delivery_attempt, RecordDeliveryAttempt(leased[0], failed)
    )
    stored = routing.repo.queued[leased[0].delivery.delivery_id]
    assert stored.status == "pending" and stored.next_attempt_at == later + timedelta(seconds=5)
    # A late writer (its lease taken over) records nothing: the attempt count is the version.
    await routing.transactions.run(
        record_delivery_attempt, RecordDeliveryAttempt(leased[0], failed)
    )
    assert len(routing.repo.queued[stored.delivery_id].attempts) == 1
    again = await routing.transactions.run(redeliver, Redeliver(stored.delivery_id, later))
    assert again.status == "pending" and again.next_attempt_at == later


async def test_an_email_is_leased_sent_or_retried_until_it_fails_for_good() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    await routing.send(stage_changed("lead-ACME-DENTAL"))
    moment = datetime.now(UTC) + timedelta(seconds=1)
    for attempt in range(1, EMAIL_RETRIES + 1):
        lease = LeaseEmail(moment, moment + timedelta(seconds=30))
        email = await routing.transactions.run(lease_email, lease)
        assert email is not None and email.recipient == "rep-alice@northwind.example"
        assert await routing.transactions.run(lease_email, lease) is None  # leased
        await routing.transactions.run(
            record_email_attempt, RecordEmailAttempt(email, "connection refused", moment)
        )
        stored = routing.repo.emails[email.dedupe_key]
        assert stored.attempts == attempt
        moment = (stored.next_attempt_at or moment) + timedelta(seconds=1)
    assert stored.status == "failed" and stored.next_attempt_at is None
