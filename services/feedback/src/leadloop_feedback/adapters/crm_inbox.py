"""Feedback's CRM inbox on Postgres: notifications stored once by event key, leased by the
worker (FOR UPDATE SKIP LOCKED), finished only by the lease's holder, deleted with the lead
they name when it is erased."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_events.intake import CrmNotificationReceived
from leadloop_feedback.adapters.tables import crm_inbox, lead_identities
from leadloop_platform.http.paging import PageRequest, keyset


@dataclass(frozen=True)
class InboxRow:
    """A leased notification and how many attempts it had before this one."""

    notification: CrmNotificationReceived
    attempts: int
    lease_id: str | None


@dataclass(frozen=True)
class InboxResult:
    """How an attempt ended: `pending` again at `next_attempt_at`, or `done`/`failed`; the
    lead it resolved to and the contacts the CRM said it is about, when known."""

    event_key: str
    lease_id: str
    status: str
    outcome: str
    error: str | None
    next_attempt_at: datetime
    finished_at: datetime | None
    lead_id: str | None = None
    contact_ids: tuple[str, ...] = ()


class CrmInboxStore(Protocol):
    """What the inbox's handlers need."""

    async def store(self, notification: CrmNotificationReceived, now: datetime) -> bool: ...
    async def due(self, system: str, now: datetime, limit: int) -> list[InboxRow]: ...
    async def lease(self, keys: Sequence[str], lease_id: str, until: datetime) -> None: ...
    async def finish(self, result: InboxResult) -> bool: ...
    async def forget_lead(self, lead_id: str) -> int: ...
    async def page(self, status: str | None, page: PageRequest) -> list[dict[str, Any]]: ...
    async def retry(self, event_key: str, now: datetime) -> dict[str, Any] | None: ...


def inbox_of(uow: object) -> CrmInboxStore | None:
    """The inbox of a Postgres unit of work; None for one without a connection (a fake)."""
    conn = getattr(uow, "conn", None)
    return SqlCrmInbox(conn) if isinstance(conn, AsyncConnection) else None


def row_of(row: sa.Row[tuple[object, ...]]) -> InboxRow:
    """A row as the notification it stores."""
    m = row._mapping
    notification = CrmNotificationReceived(
        system=m["system"],
        subscription_type=m["subscription_type"],
        object_type=m["object_type"],
        object_id=m["object_id"],
        property_name=m["property_name"],
        property_value=m["property_value"],
        occurred_at=m["occurred_at"],
        event_key=m["event_key"],
    )
    return InboxRow(notification, int(m["attempts"]), m["lease_id"])


class SqlCrmInbox:
    """The inbox inside one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def store(self, notification: CrmNotificationReceived, now: datetime) -> bool:
        """Keep a notification, due now; False when its event key is already kept."""
        n = notification
        values = {
            "event_key": n.event_key,
            "system": n.system,
            "subscription_type": n.subscription_type,
            "object_type": n.object_type,
            "object_id": n.object_id,
            "property_name": n.property_name,
            "property_value": n.property_value,
            "occurred_at": n.occurred_at,
            "received_at": now,
            "status": "pending",
            "next_attempt_at": now,
            "contact_ids": [n.object_id] if n.object_type == "contact" else [],
        }
        done = await self.conn.execute(
            insert(crm_inbox).values(values).on_conflict_do_nothing(index_elements=["event_key"])
        )
        return bool(done.rowcount)

    async def due(self, system: str, now: datetime, limit: int) -> list[InboxRow]:
        """Lock due notifications of `system`, oldest first, skipping rows others hold."""
        t = crm_inbox
        rows = await self.conn.execute(
            sa.select(t)
            .where(t.c.system == system, t.c.status == "pending", t.c.next_attempt_at <= now)
            .order_by(t.c.next_attempt_at, t.c.occurred_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [row_of(r) for r in rows]

    async def lease(self, keys: Sequence[str], lease_id: str, until: datetime) -> None:
        """Lease notifications to `lease_id` until `until`: nobody else reads them before."""
        t = crm_inbox
        await self.conn.execute(
            t.update()
            .where(t.c.event_key.in_(list(keys)))
            .values(next_attempt_at=until, lease_id=lease_id, attempts=t.c.attempts + 1)
        )

    async def finish(self, result: InboxResult) -> bool:
        """Write an attempt's end if its lease still holds; False when it does not."""
        t = crm_inbox
        named = {"contact_ids": list(result.contact_ids)} if result.contact_ids else {}
        done = await self.conn.execute(
            t.update()
            .where(
                t.c.event_key == result.event_key,
                t.c.lease_id == result.lease_id,
                t.c.status == "pending",
            )
            .values(
                status=result.status,
                outcome=result.outcome,
                last_error=result.error,
                next_attempt_at=result.next_attempt_at,
                finished_at=result.finished_at,
                lease_id=None,
                lead_id=result.lead_id,
                **named,
            )
        )
        return bool(done.rowcount)

    async def forget_lead(self, lead_id: str) -> int:
        """Delete the rows about an erased lead: those resolved to it, and those naming one of
        its HubSpot contact ids (read from its identities, so before they are deleted); a row
        leased meanwhile then records nothing (its lease is gone). How many went."""
        i, t = lead_identities, crm_inbox
        contacts = await self.conn.execute(
            sa.select(i.c.value).where(i.c.lead_id == lead_id, i.c.kind == "hubspot")
        )
        named = [c for (c,) in contacts]
        about = t.c.lead_id == lead_id
        if named:
            about = sa.or_(about, sa.and_(t.c.system == "hubspot", t.c.contact_ids.overlap(named)))
        done = await self.conn.execute(t.delete().where(about))
        return int(done.rowcount)

    async def page(self, status: str | None, page: PageRequest) -> list[dict[str, Any]]:
        """Rows newest first (by receipt, then event key), up to the page's limit + 1."""
        t = crm_inbox
        query = sa.select(t).where(t.c.status == status) if status else sa.select(t)
        rows = await self.conn.execute(
            keyset(query, [t.c.received_at, t.c.event_key], page, descending=True)
        )
        return [dict(r._mapping) for r in rows]

    async def retry(self, event_key: str, now: datetime) -> dict[str, Any] | None:
        """Put a finished row (failed, or done: e.g. its lead unknown then) back to due now with
        a fresh count of tries; a pending row is made due now unless a worker holds its lease.
        The row as it is then; None when there is no such row."""
        t = crm_inbox
        again = await self.conn.execute(
            t.update()
            .where(
                t.c.event_key == event_key,
                sa.or_(t.c.lease_id.is_(None), t.c.next_attempt_at <= now),  # not held
            )
            .values(
                status="pending", next_attempt_at=now, attempts=0, finished_at=None, lease_id=None
            )
            .returning(*t.c)
        )
        row = again.first()
        if row is None:
            row = (await self.conn.execute(sa.select(t).where(t.c.event_key == event_key))).first()
        return None if row is None else dict(row._mapping)
