"""In-memory fakes of routing's repository and unit of work, for handler tests (no mocking
library): they keep domain objects, copied in and out the way a database would."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime, time
from typing import Any

from leadloop_contract.agreement import Agreement
from leadloop_events.envelope import CloudEvent
from leadloop_platform.http.paging import PageRequest
from leadloop_routing.domain.assignment import Assignment
from leadloop_routing.domain.delivery import (
    Delivery,
    DeliveryOutcome,
    Email,
    EmailOutcome,
    LeasedDelivery,
    Subscription,
)
from leadloop_routing.domain.model import Account, Load, Rep
from tests.unit.fakes import paged

from .connector_fakes import FakeConnectorDeliveries


class FakeRepository:
    """Routing's state in dictionaries."""

    def __init__(self) -> None:
        self.reps: dict[str, Rep] = {}
        self.accounts: dict[str, Account] = {}
        self.rr: dict[str, dict[str, int]] = {}
        self.agreements: list[tuple[str, Agreement, datetime]] = []
        self.assignments: dict[str, Assignment] = {}
        self.subs: dict[str, Subscription] = {}
        self.queued: dict[str, Delivery] = {}
        self.emails: dict[str, Email] = {}  # by dedupe key
        self.erased: list[str] = []
        self.calls: list[str] = []  # the teams' locks and the claims of due rows, in order

    async def all_reps(self, for_update: bool = False) -> list[Rep]:
        return [self.reps[k] for k in sorted(self.reps)]

    async def rep_by_crm_id(self, system: str, crm_id: str) -> Rep | None:
        width = 15 if system == "salesforce" else None  # both Salesforce id forms match
        found = [
            r
            for r in self.reps.values()
            if system in r.crm_ids and r.crm_ids[system][:width] == crm_id[:width]
        ]
        return found[0] if found else None

    async def rep_by_email(self, email: str) -> Rep | None:
        found = [r for r in self.reps.values() if r.email.lower() == email.strip().lower()]
        return min(found, key=lambda r: (not r.active, r.rep_id)) if found else None

    async def reps(self, page: PageRequest) -> list[Rep]:
        return paged(self.reps.values(), lambda r: (r.rep_id,), page)

    async def rep(self, rep_id: str, for_update: bool = False) -> Rep | None:
        return self.reps.get(rep_id)

    async def save_rep(self, rep: Rep, now: datetime) -> None:
        self.reps[rep.rep_id] = rep

    async def account(self, domain: str, for_update: bool = False) -> Account | None:
        return self.accounts.get(domain)

    async def save_account(self, account: Account, now: datetime) -> None:
        self.accounts[account.domain] = account

    async def loads(self, reps: Sequence[Rep], now: datetime) -> dict[str, Load]:
        out = {}
        for rep in reps:
            zone = rep.calendar.zone
            day_start = datetime.combine(now.astimezone(zone).date(), time(0), zone)
            mine = [
                a
                for a in self.assignments.values()
                if a.rep_id == rep.rep_id and a.status in ("open", "touched")
            ]
            today = sum(1 for a in mine if a.assigned_at >= day_start)
            out[rep.rep_id] = Load(today=today, total=len(mine))
        return out

    async def rr_states(self, teams: Iterable[str]) -> dict[str, dict[str, int]]:
        return {team: dict(self.rr.get(team, {})) for team in teams}

    async def lock_teams(self, teams: Iterable[str]) -> None:
        self.calls.append("lock " + " ".join(sorted(set(teams))))

    async def save_rr_state(self, team: str, weights: dict[str, int]) -> None:
        self.rr[team] = dict(weights)

    async def save_agreement(self, version: str, agreement: Agreement, at: datetime) -> None:
        if all(v != version for v, _, _ in self.agreements):
            self.agreements.append((version, agreement, at))

    async def current_agreement(self) -> tuple[str, Agreement] | None:
        if not self.agreements:
            return None
        version, agreement, _ = max(self.agreements, key=lambda a: a[2])
        return version, agreement

    async def add_assignment(self, assignment: Assignment) -> None:
        self.assignments[assignment.assignment_id] = copy.deepcopy(assignment)

    async def save_assignment(self, assignment: Assignment) -> None:
        self.assignments[assignment.assignment_id] = copy.deepcopy(assignment)

    async def open_assignment(self, lead_id: str) -> Assignment | None:
        found = [
            a
            for a in self.assignments.values()
            if a.lead_id == lead_id and a.status in ("open", "queued")
        ]
        latest = max(found, key=lambda a: a.assigned_at, default=None)
        return copy.deepcopy(latest)

    async def due_assignments(self, now: datetime, limit: int) -> list[Assignment]:
        self.calls.append("claim due")
        due = [
            a
            for a in self.assignments.values()
            if a.timer_due_at is not None and a.timer_due_at <= now
        ]
        due.sort(key=lambda a: a.timer_due_at or now)
        return copy.deepcopy(due[:limit])

    async def assignments_of(self, lead_id: str) -> list[Assignment]:
        found = [a for a in self.assignments.values() if a.lead_id == lead_id]
        return copy.deepcopy(sorted(found, key=lambda a: a.assigned_at, reverse=True))

    async def assignment_counts(
        self, since: datetime | None, team: str | None
    ) -> list[tuple[str, str, int]]:
        counts: dict[tuple[str, str], int] = {}
        for a in self.assignments.values():
            if a.rep_id is None or (since and a.assigned_at < since) or (team and a.team != team):
                continue
            counts[(a.team, a.rep_id)] = counts.get((a.team, a.rep_id), 0) + 1
        return [(t, r, n) for (t, r), n in counts.items()]

    async def erase(self, lead_id: str) -> None:
        self.erased.append(lead_id)
        for a in self.assignments.values():
            if a.lead_id == lead_id:
                a.intelligence = None

    async def add_subscription(self, subscription: Subscription) -> None:
        self.subs[subscription.subscription_id] = subscription

    async def subscriptions(self, page: PageRequest) -> list[Subscription]:
        return paged(self.subs.values(), lambda s: (s.created_at, s.subscription_id), page)

    async def active_subscriptions(self, event_type: str) -> list[Subscription]:
        return [s for s in self.subs.values() if s.active and event_type in s.event_types]

    async def deactivate_subscription(self, subscription_id: str) -> bool:
        sub = self.subs.get(subscription_id)
        if sub is None:
            return False
        self.subs[subscription_id] = dataclasses.replace(sub, active=False)
        return True

    async def cancel_deliveries(self, subscription_id: str) -> None:
        for key, d in self.queued.items():
            if d.subscription_id == subscription_id and d.status == "pending":
                self.queued[key] = dataclasses.replace(d, status="cancelled", next_attempt_at=None)

    async def queue_delivery(self, delivery: Delivery) -> None:
        if not any(
            d.subscription_id == delivery.subscription_id and d.event_id == delivery.event_id
            for d in self.queued.values()
        ):
            self.queued[delivery.delivery_id] = delivery

    async def deliveries(
        self, status: str | None, lead_id: str | None, page: PageRequest
    ) -> list[Delivery]:
        found = [
            d
            for d in self.queued.values()
            if (not status or d.status == status) and (not lead_id or d.lead_id == lead_id)
        ]
        return paged(found, lambda d: (d.created_at, d.delivery_id), page, descending=True)

    async def redeliver(self, delivery_id: str, at: datetime) -> Delivery | None:
        d = self.queued.get(delivery_id)
        if d is None or d.status == "cancelled" or not self.subs[d.subscription_id].active:
            return None
        self.queued[delivery_id] = dataclasses.replace(d, status="pending", next_attempt_at=at)
        return self.queued[delivery_id]

    async def due_deliveries(self, now: datetime, limit: int) -> list[LeasedDelivery]:
        due = sorted(
            (
                d
                for d in self.queued.values()
                if d.status == "pending"
                and d.next_attempt_at is not None
                and d.next_attempt_at <= now
                and self.subs[d.subscription_id].active
            ),
            key=lambda d: d.next_attempt_at or now,
        )
        return [
            LeasedDelivery(d, self.subs[d.subscription_id].url, self.subs[d.subscription_id].secret)
            for d in due[: limit * 4]
        ]

    async def lease_deliveries(self, delivery_ids: Sequence[str], until: datetime) -> None:
        for i in delivery_ids:
            self.queued[i] = dataclasses.replace(self.queued[i], next_attempt_at=until)

    async def record_delivery(self, outcome: DeliveryOutcome) -> None:
        d = self.queued[outcome.delivery_id]
        if len(d.attempts) != outcome.attempts_before:
            return
        pending = d.status == "pending"
        self.queued[d.delivery_id] = dataclasses.replace(
            d,
            attempts=outcome.attempts,
            status=outcome.status if pending else d.status,
            next_attempt_at=outcome.next_attempt_at if pending else None,
            delivered_at=outcome.delivered_at,
        )

    async def queue_email(self, email: Email) -> None:
        self.emails.setdefault(email.dedupe_key, email)

    async def lease_email(self, now: datetime, until: datetime) -> Email | None:
        due = [
            e
            for e in self.emails.values()
            if e.status == "pending" and e.next_attempt_at is not None and e.next_attempt_at <= now
        ]
        if not due:
            return None
        email = min(due, key=lambda e: e.next_attempt_at or now)
        self.emails[email.dedupe_key] = dataclasses.replace(email, next_attempt_at=until)
        return email

    async def record_email(self, outcome: EmailOutcome) -> None:
        key, email = next((k, e) for k, e in self.emails.items() if e.email_id == outcome.email_id)
        if email.attempts != outcome.attempts_before:
            return
        pending = email.status == "pending"
        self.emails[key] = dataclasses.replace(
            email,
            attempts=outcome.attempts,
            last_error=outcome.last_error,
            status=outcome.status if pending else email.status,
            sent_at=outcome.sent_at,
            next_attempt_at=outcome.next_attempt_at if pending else None,
        )


class FakeUnitOfWork:
    """One transaction: state through `repo`, connector jobs through `connectors`, events
    through `publish`, deferred measurements."""

    def __init__(self, repo: FakeRepository | None = None) -> None:
        self.repo = repo or FakeRepository()
        self.connectors = FakeConnectorDeliveries()
        self.events: list[tuple[str, CloudEvent]] = []
        self.observations: list[tuple[Any, tuple[str, ...], float]] = []

    def publish(self, topic: str, event: CloudEvent) -> None:
        self.events.append((topic, event))

    def observe(self, histogram: Any, value: float, *labels: str) -> None:
        self.observations.append((histogram, labels, value))

    def published(self, event_type: str) -> list[dict[str, Any]]:
        """The data of the events of one type published so far."""
        return [e.data for _, e in self.events if e.type == event_type]


class FakeTransactions(FakeUnitOfWork):
    """A unit of work usable by the real `Transactions` runner: every run shares one repo."""

    def __init__(self, repo: FakeRepository | None = None) -> None:
        super().__init__(repo)
        self.committed: list[CloudEvent] = []
        self.measured: list[tuple[Any, tuple[str, ...], float]] = []

    async def __aenter__(self) -> FakeTransactions:
        self.events, self.observations = [], []
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def commit(self) -> None:
        self.committed += [event for _, event in self.events]
        self.measured += self.observations

    def sent(self, event_type: str) -> list[dict[str, Any]]:
        """The data of every committed event of one type, in order."""
        return [e.data for e in self.committed if e.type == event_type]
