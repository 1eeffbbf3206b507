"""Routing's connector deliveries on Postgres: queued with the event, leased one at a time per
connector and lead (FOR UPDATE SKIP LOCKED), recorded only by the lease's holder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_platform.http.paging import PageRequest, keyset
from leadloop_routing.adapters.tables import connector_deliveries
from leadloop_routing.domain.connectors import ConnectorDelivery, JobOutcome

# Candidates are over-fetched: rows other replicas hold are skipped, the rest are claimed.
OVERFETCH = 4


def delivery_of(row: Any) -> ConnectorDelivery:
    """A row as the domain's delivery."""
    return ConnectorDelivery(
        delivery_id=row.delivery_id,
        connector=row.connector,
        event_id=row.event_id,
        event_type=row.event_type,
        lead_id=row.lead_id,
        payload=row.payload,
        status=row.status,
        attempts=tuple(row.attempts),
        progress=dict(row.progress),
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
        lease_id=row.lease_id,
        context=dict(row.context),
    )


class SqlConnectorDeliveries:
    """The connector delivery log inside one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def queue(self, delivery: ConnectorDelivery) -> None:
        """Queue a job, once per connector and event (a re-consumed event queues nothing)."""
        d = delivery
        values = {
            "delivery_id": d.delivery_id,
            "connector": d.connector,
            "event_id": d.event_id,
            "event_type": d.event_type,
            "lead_id": d.lead_id,
            "payload": d.payload,
            "status": d.status,
            "attempts": list(d.attempts),
            "progress": d.progress,
            "context": d.context,
            "next_attempt_at": d.next_attempt_at,
            "created_at": d.created_at,
        }
        await self.conn.execute(
            insert(connector_deliveries).values(values).on_conflict_do_nothing()
        )

    async def due(
        self, connectors: Sequence[str], now: datetime, limit: int
    ) -> list[ConnectorDelivery]:
        """Lock due jobs of `connectors`, each the oldest pending one of its connector and lead
        (a later event never overtakes an earlier one), skipping rows others hold."""
        d = connector_deliveries
        e = d.alias("earlier")
        earlier_pending = (
            sa.select(sa.literal(1))
            .where(
                e.c.connector == d.c.connector,
                e.c.lead_id == d.c.lead_id,
                e.c.status == "pending",
                e.c.seq < d.c.seq,
            )
            .exists()
        )
        rows = await self.conn.execute(
            sa.select(d)
            .where(
                d.c.status == "pending",
                d.c.next_attempt_at <= now,
                d.c.connector.in_(list(connectors)),
                ~earlier_pending,
            )
            .order_by(d.c.next_attempt_at, d.c.seq)
            .limit(limit * OVERFETCH)
            .with_for_update(of=d, skip_locked=True)
        )
        return [delivery_of(r) for r in rows]

    async def lease(self, delivery_ids: Sequence[str], lease_id: str, until: datetime) -> None:
        """Lease jobs to `lease_id` until `until`: nobody else performs them before."""
        d = connector_deliveries
        await self.conn.execute(
            d.update()
            .where(d.c.delivery_id.in_(list(delivery_ids)))
            .values(next_attempt_at=until, lease_id=lease_id)
        )

    async def record(self, outcome: JobOutcome) -> bool:
        """Write an attempt's outcome if its lease still holds and the job is still pending;
        False when it does not (a late writer, or the job cancelled meanwhile)."""
        d = connector_deliveries
        done = await self.conn.execute(
            d.update()
            .where(
                d.c.delivery_id == outcome.delivery_id,
                d.c.lease_id == outcome.lease_id,
                d.c.status == "pending",
            )
            .values(
                attempts=list(outcome.attempts),
                progress=outcome.progress,
                status=outcome.status,
                next_attempt_at=outcome.next_attempt_at,
                finished_at=outcome.finished_at,
                lease_id=None,
            )
        )
        return bool(done.rowcount)

    async def deliveries(
        self, connector: str | None, status: str | None, lead_id: str | None, page: PageRequest
    ) -> list[ConnectorDelivery]:
        """A page of the log, newest first (one more than its limit)."""
        d = connector_deliveries
        query = sa.select(d)
        for column, value in ((d.c.connector, connector), (d.c.status, status)):
            if value:
                query = query.where(column == value)
        if lead_id:
            query = query.where(d.c.lead_id == lead_id)
        query = keyset(query, [d.c.created_at, d.c.delivery_id], page, descending=True)
        return [delivery_of(r) for r in await self.conn.execute(query)]

    async def redeliver(self, delivery_id: str, at: datetime) -> ConnectorDelivery | None:
        """Make a job due at `at` again (an attempt in flight keeps its lease); None when
        there is no such job, it was cancelled, or its lead erased (no event left)."""
        d = connector_deliveries
        in_flight = sa.and_(d.c.lease_id.is_not(None), d.c.next_attempt_at > at)
        erased = d.c.payload == sa.cast(sa.literal("{}"), JSONB)
        row = (
            await self.conn.execute(
                d.update()
                .where(d.c.delivery_id == delivery_id, d.c.status != "cancelled", ~erased)
                .values(
                    status="pending",
                    finished_at=None,
                    next_attempt_at=sa.case(
                        (in_flight, d.c.next_attempt_at),
                        else_=sa.literal(at, sa.DateTime(timezone=True)),
                    ),
                )
                .returning(d)
            )
        ).first()
        return None if row is None else delivery_of(row)

    async def erase(self, lead_id: str) -> None:
        """Forget the person: payloads, progress and context emptied, pending jobs cancelled."""
        d = connector_deliveries
        await self.conn.execute(
            d.update()
            .where(d.c.lead_id == lead_id)
            .values(
                payload={},
                progress={},
                context={},
                status=sa.case((d.c.status == "pending", "cancelled"), else_=d.c.status),
                next_attempt_at=None,
                lease_id=None,
            )
        )
