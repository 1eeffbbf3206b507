"""Routing's queries: `SqlRepository` is the unit of work's view of routing's tables, taking
and returning domain objects (`adapters.ports.Repository`). It lives as long as its transaction;
what a hand-off reads is read once per transaction (adapters.read_once, adapters.rep_loads)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_contract.agreement import Agreement, stored_document
from leadloop_platform.http.paging import PageRequest, keyset
from leadloop_routing.adapters.deliveries import SqlDeliveries
from leadloop_routing.adapters.read_once import Kept, ReadOnce
from leadloop_routing.adapters.rep_loads import COUNTED, RepLoads
from leadloop_routing.adapters.rows import (
    assignment_from_row,
    assignment_row,
    rep_from_row,
    rep_row,
)
from leadloop_routing.adapters.tables import (
    accounts,
    agreements,
    assignments,
    emails,
    outbox,
    reps,
    webhook_deliveries,
)
from leadloop_routing.domain.assignment import Assignment
from leadloop_routing.domain.delivery import Subscription
from leadloop_routing.domain.model import Account, Load, Rep

# What a step of the SLA ladder, a touch or a reassignment may change on an assignment.
MUTABLE = (
    "rep_id",
    "queue",
    "status",
    "sla_deadline",
    "first_touch_at",
    "reassignments",
    "timer_due_at",
    "timer_step",
    "history",
)


class SqlRepository(ReadOnce, SqlDeliveries):
    """Routing's state inside one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.kept = Kept()
        # Every writer of counters holds the teams' locks first (adapters.rep_loads).
        self.counters = RepLoads(conn, before_write=self.lock_teams_in_force)

    async def rep_by_crm_id(self, system: str, crm_id: str) -> Rep | None:
        """The rep linked to this CRM owner (`system`: hubspot or salesforce), or None; a
        Salesforce User id matches in its 15- or 18-character form."""
        column = reps.c.crm_ids[system].astext
        if system == "salesforce":
            match = sa.func.left(column, 15) == crm_id[:15]
        else:
            match = column == crm_id
        row = (await self.conn.execute(sa.select(reps).where(match))).first()
        return None if row is None else rep_from_row(row)

    async def rep_by_email(self, email: str) -> Rep | None:
        """The rep with this email (any case), or None; an active one before an inactive one
        when several share it, then by id."""
        query = (
            sa.select(reps)
            .where(sa.func.lower(reps.c.email) == email.strip().lower())
            .order_by(reps.c.active.desc(), reps.c.rep_id)
            .limit(1)
        )
        row = (await self.conn.execute(query)).first()
        return None if row is None else rep_from_row(row)

    async def reps(self, page: PageRequest) -> list[Rep]:
        """A page of reps by id (one more than its limit, to tell whether another follows)."""
        rows = await self.conn.execute(keyset(sa.select(reps), [reps.c.rep_id], page))
        return [rep_from_row(r) for r in rows]

    async def save_rep(self, rep: Rep, now: datetime) -> None:
        """Create or replace a rep (their open-load counters follow their time zone)."""
        await self._upsert(reps, reps.c.rep_id, rep_row(rep, now))
        self.kept.reps, self.kept.rep = None, {}
        await self.counters.follow_zone(rep.rep_id, rep.calendar.timezone)

    async def save_account(self, account: Account, now: datetime) -> None:
        """Create or replace an account."""
        values = {
            "domain": account.domain,
            "name": account.name,
            "owner_rep_id": account.owner_rep_id,
            "updated_at": now,
        }
        await self._upsert(accounts, accounts.c.domain, values)
        self.kept.accounts.pop(account.domain, None)

    async def _upsert(self, table: sa.Table, key: sa.Column[Any], values: dict[str, Any]) -> None:
        stmt = insert(table).values(values)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[key], set_={k: stmt.excluded[k] for k in values}
            )
        )

    async def loads(self, reps: Sequence[Rep], now: datetime) -> dict[str, Load]:
        """Open SQLs per rep: assigned since the start of their local day, and in total (one
        counter row per rep, adapters.rep_loads)."""
        return await self.counters.read(reps, now)

    async def save_agreement(self, version: str, agreement: Agreement, at: datetime) -> None:
        """Keep a published agreement version (once)."""
        await self.conn.execute(
            insert(agreements)
            .values(version=version, document=stored_document(agreement), published_at=at)
            .on_conflict_do_nothing()
        )
        self.kept.agreement.clear()

    async def add_assignment(self, assignment: Assignment) -> None:
        """Store a new assignment (counted for its rep when it is theirs and open)."""
        await self.conn.execute(assignments.insert(), assignment_row(assignment))
        if assignment.rep_id is not None and assignment.status in COUNTED:
            await self.counters.enter(assignment.rep_id, assignment.assigned_at)

    async def save_assignment(self, assignment: Assignment) -> None:
        """Store what changed on an assignment (owner, status, timer, history); a change of
        owner or status moves it between the reps' counters in the same transaction."""
        row = assignment_row(assignment)
        a = assignments
        # The stored owner and status come back from the same statement (pre-update values).
        old = (
            sa.select(a.c.assignment_id, a.c.rep_id, a.c.status)
            .where(a.c.assignment_id == assignment.assignment_id)
            .with_for_update()
            .cte("old")
        )
        stored = (
            await self.conn.execute(
                a.update()
                .where(a.c.assignment_id == old.c.assignment_id)
                .values({k: row[k] for k in MUTABLE})
                .returning(old.c.rep_id, old.c.status)
            )
        ).first()
        if stored is None:
            return  # no such assignment: nothing stored, nothing to count
        await self.counters.move(
            (stored.rep_id, stored.status),
            (assignment.rep_id, assignment.status),
            assignment.assigned_at,
        )

    async def open_assignment(self, lead_id: str) -> Assignment | None:
        """The lead's assignment still waiting for (or in) follow-up, locked."""
        a = assignments
        row = (
            await self.conn.execute(
                sa.select(a)
                .where(a.c.lead_id == lead_id, a.c.status.in_(("open", "queued")))
                .order_by(a.c.assigned_at.desc())
                .limit(1)
                .with_for_update()
            )
        ).first()
        return None if row is None else assignment_from_row(row)

    async def active_subscriptions(self, event_type: str) -> list[Subscription]:
        """The active subscriptions to `event_type` (read once per transaction)."""
        if event_type not in self.kept.subscriptions:
            self.kept.subscriptions[event_type] = await super().active_subscriptions(event_type)
        return list(self.kept.subscriptions[event_type])

    async def add_subscription(self, subscription: Subscription) -> None:
        """Store a new subscription."""
        await super().add_subscription(subscription)
        self.kept.subscriptions.clear()

    async def deactivate_subscription(self, subscription_id: str) -> bool:
        """Mark a subscription inactive; False when there is none."""
        self.kept.subscriptions.clear()
        return await super().deactivate_subscription(subscription_id)

    async def due_assignments(self, now: datetime, limit: int) -> list[Assignment]:
        """Claim assignments whose SLA step is due; other replicas skip the locked ones."""
        rows = await self.conn.execute(
            sa.select(assignments)
            .where(assignments.c.timer_due_at <= now)
            .order_by(assignments.c.timer_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [assignment_from_row(r) for r in rows]

    async def assignments_of(self, lead_id: str) -> list[Assignment]:
        """A lead's assignments, newest first."""
        a = assignments
        rows = await self.conn.execute(
            sa.select(a).where(a.c.lead_id == lead_id).order_by(a.c.assigned_at.desc())
        )
        return [assignment_from_row(r) for r in rows]

    async def assignment_counts(
        self, since: datetime | None, team: str | None
    ) -> list[tuple[str, str, int]]:
        """(team, rep, assignments) for every rep that got one."""
        a = assignments
        query = (
            sa.select(a.c.team, a.c.rep_id, sa.func.count())
            .where(a.c.rep_id.is_not(None))
            .group_by(a.c.team, a.c.rep_id)
        )
        if since is not None:
            query = query.where(a.c.assigned_at >= since)
        if team is not None:
            query = query.where(a.c.team == team)
        return [(t, r, n) for t, r, n in await self.conn.execute(query)]

    async def erase(self, lead_id: str) -> None:
        """Forget the person: intelligence, queued payloads, relayed events."""
        d = webhook_deliveries
        await self.conn.execute(
            assignments.update().where(assignments.c.lead_id == lead_id).values(intelligence=None)
        )
        await self.conn.execute(
            d.update()
            .where(d.c.lead_id == lead_id)
            .values(
                payload=b"{}",
                status=sa.case((d.c.status == "pending", "cancelled"), else_=d.c.status),
                next_attempt_at=None,
            )
        )
        await self.conn.execute(
            emails.update()
            .where(emails.c.lead_id == lead_id)
            .values(
                message=b"",
                recipient="erased",
                status=sa.case((emails.c.status == "pending", "cancelled"), else_=emails.c.status),
                next_attempt_at=None,
            )
        )
        await self.conn.execute(outbox.delete().where(outbox.c.key == lead_id))
