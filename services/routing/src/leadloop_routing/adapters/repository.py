"""Routing's queries: `SqlRepository` is the unit of work's view of routing's tables."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_routing.adapters.tables import (
    accounts,
    agreements,
    assignments,
    emails,
    outbox,
    reps,
    round_robin,
    webhook_deliveries,
    webhook_subscriptions,
)
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.model import Absence, Account, Load, Rep


def rep_from_row(row: Any) -> Rep:
    return Rep(
        rep_id=row.rep_id,
        name=row.name,
        email=row.email,
        teams=tuple(row.teams),
        weight=row.weight,
        max_open_per_day=row.max_open_per_day,
        max_open_total=row.max_open_total,
        calendar=WorkingCalendar(
            row.timezone, row.work_start, row.work_end, frozenset(row.workdays)
        ),
        out_of_office=tuple(
            Absence(datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"]))
            for a in row.out_of_office
        ),
        active=row.active,
        manager_email=row.manager_email,
    )


def rep_row(rep: Rep, now: datetime) -> dict[str, Any]:
    return {
        "rep_id": rep.rep_id,
        "name": rep.name,
        "email": rep.email,
        "teams": list(rep.teams),
        "weight": rep.weight,
        "max_open_per_day": rep.max_open_per_day,
        "max_open_total": rep.max_open_total,
        "timezone": rep.calendar.timezone,
        "work_start": rep.calendar.start,
        "work_end": rep.calendar.end,
        "workdays": sorted(rep.calendar.workdays),
        "out_of_office": [
            {"start": a.start.isoformat(), "end": a.end.isoformat()} for a in rep.out_of_office
        ],
        "manager_email": rep.manager_email,
        "active": rep.active,
        "updated_at": now,
    }


class SqlRepository:
    """Routing's state inside one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    # reps and accounts
    async def all_reps(self) -> list[Rep]:
        rows = await self.conn.execute(sa.select(reps).order_by(reps.c.rep_id))
        return [rep_from_row(r) for r in rows]

    async def rep(self, rep_id: str) -> Rep | None:
        row = (await self.conn.execute(sa.select(reps).where(reps.c.rep_id == rep_id))).first()
        return None if row is None else rep_from_row(row)

    async def save_rep(self, rep: Rep, now: datetime) -> None:
        values = rep_row(rep, now)
        stmt = insert(reps).values(values)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[reps.c.rep_id], set_={k: stmt.excluded[k] for k in values}
            )
        )

    async def save_account(self, account: Account, now: datetime) -> None:
        values = {
            "domain": account.domain,
            "name": account.name,
            "owner_rep_id": account.owner_rep_id,
            "updated_at": now,
        }
        stmt = insert(accounts).values(values)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[accounts.c.domain], set_={k: stmt.excluded[k] for k in values}
            )
        )

    async def account(self, domain: str) -> Account | None:
        row = (
            await self.conn.execute(sa.select(accounts).where(accounts.c.domain == domain))
        ).first()
        return None if row is None else Account(row.domain, row.name, row.owner_rep_id)

    async def loads(self, rep_list: list[Rep], now: datetime) -> dict[str, Load]:
        """Open SQLs per rep: assigned since the start of their local day, and in total."""
        rows = await self.conn.execute(
            sa.select(assignments.c.rep_id, assignments.c.assigned_at).where(
                assignments.c.status.in_(("open", "touched")), assignments.c.rep_id.is_not(None)
            )
        )
        by_rep: dict[str, list[datetime]] = {}
        for row in rows:
            by_rep.setdefault(row.rep_id, []).append(row.assigned_at)
        out: dict[str, Load] = {}
        for rep in rep_list:
            zone = rep.calendar.zone
            day_start = datetime.combine(now.astimezone(zone).date(), time(0), zone)
            times = by_rep.get(rep.rep_id, [])
            out[rep.rep_id] = Load(today=sum(1 for t in times if t >= day_start), total=len(times))
        return out

    async def rr_state(self, team: str) -> dict[str, int]:
        """The team's round-robin weights, locked until commit (so concurrent SQLs queue)."""
        # A transaction-level advisory lock per team: it holds even before the team's row
        # exists, so two first decisions cannot both start from empty weights.
        await self.conn.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext("leadloop-rr:" + team)))
        )
        row = (
            await self.conn.execute(
                sa.select(round_robin.c.weights).where(round_robin.c.team == team).with_for_update()
            )
        ).first()
        return dict(row.weights) if row else {}

    async def save_rr_state(self, team: str, weights: dict[str, int]) -> None:
        stmt = insert(round_robin).values(team=team, weights=weights)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[round_robin.c.team], set_={"weights": stmt.excluded.weights}
            )
        )

    # agreements
    async def save_agreement(self, version: str, document: dict[str, Any], at: datetime) -> None:
        await self.conn.execute(
            insert(agreements)
            .values(version=version, document=document, published_at=at)
            .on_conflict_do_nothing()
        )

    async def current_agreement(self) -> tuple[str, dict[str, Any]] | None:
        row = (
            await self.conn.execute(
                sa.select(agreements).order_by(agreements.c.published_at.desc()).limit(1)
            )
        ).first()
        return None if row is None else (row.version, dict(row.document))

    # assignments and timers
    async def insert_assignment(self, values: dict[str, Any]) -> None:
        await self.conn.execute(assignments.insert().values(values))

    async def update_assignment(self, assignment_id: str, **values: Any) -> None:
        await self.conn.execute(
            assignments.update()
            .where(assignments.c.assignment_id == assignment_id)
            .values(**values)
        )

    async def open_assignment(self, lead_id: str) -> Any | None:
        """The lead's assignment still waiting for (or in) follow-up, locked."""
        return (
            await self.conn.execute(
                sa.select(assignments)
                .where(
                    assignments.c.lead_id == lead_id, assignments.c.status.in_(("open", "queued"))
                )
                .order_by(assignments.c.assigned_at.desc())
                .limit(1)
                .with_for_update()
            )
        ).first()

    async def due_timers(self, now: datetime, limit: int) -> list[Any]:
        """Claim assignments whose SLA step is due; other replicas skip the locked ones."""
        rows = await self.conn.execute(
            sa.select(assignments)
            .where(assignments.c.timer_due_at <= now)
            .order_by(assignments.c.timer_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows)

    # webhooks and emails
    async def active_subscriptions(self, event_type: str) -> list[Any]:
        rows = await self.conn.execute(
            sa.select(webhook_subscriptions).where(
                webhook_subscriptions.c.active.is_(True),
                sa.literal(event_type) == sa.any_(webhook_subscriptions.c.event_types),
            )
        )
        return list(rows)

    async def queue_delivery(self, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(webhook_deliveries).values(values).on_conflict_do_nothing())

    async def queue_email(self, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(emails).values(values).on_conflict_do_nothing())

    async def erase(self, lead_id: str) -> None:
        """Forget the person: intelligence, queued payloads, relayed events."""
        await self.conn.execute(
            assignments.update().where(assignments.c.lead_id == lead_id).values(intelligence=None)
        )
        await self.conn.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.lead_id == lead_id)
            .values(
                payload=b"{}",
                status=sa.case(
                    (webhook_deliveries.c.status == "pending", "cancelled"),
                    else_=webhook_deliveries.c.status,
                ),
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


def in_minutes(at: datetime, minutes: float) -> datetime:
    return (at + timedelta(minutes=minutes)).astimezone(UTC)
