"""Intake's queries: `SqlRepository` is the unit of work's view of intake's tables; the read
functions at the end serve the HTTP query routes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_events.intake import LeadProfile
from leadloop_intake.adapters.tables import (
    activities,
    idempotency_keys,
    leads,
    outbox,
    submissions,
)
from leadloop_intake.domain.ports import PROFILE_FIELDS, LeadIdentity, StoredAnswer

PURGE_BATCH = 100
"""Expired idempotency keys deleted per claim: far more than keys are claimed, so the table
shrinks to the keys of the last TTL."""


class SqlRepository:
    """Intake's state inside one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def upsert_leads(
        self, rows: Sequence[dict[str, Any]], now: datetime
    ) -> dict[str, tuple[str, bool, LeadProfile]]:
        """Insert or update leads by normalized email (one row per email in `rows`).

        Each row has lead_id (used if new), email_normalized, email, the profile fields, source and
        campaign. Returns email_normalized -> (lead_id, is_new, merged profile). A field the new
        submission leaves empty keeps its known value.
        """
        values = [
            {
                "lead_id": r["lead_id"],
                "email_normalized": r["email_normalized"],
                "email": r["email"],
                **{f: r.get(f) for f in PROFILE_FIELDS},
                "first_source": r.get("source"),
                "first_campaign": r.get("campaign"),
                "created_at": now,
                "updated_at": now,
            }
            for r in rows
        ]
        # A one-row VALUES compiles once and is cached; a multi-row one compiles every time.
        base = insert(leads).values(values[0] if len(values) == 1 else values)
        ex = base.excluded
        stmt = base.on_conflict_do_update(
            index_elements=[leads.c.email_normalized],
            set_={
                "email": ex.email,
                **{f: sa.func.coalesce(getattr(ex, f), leads.c[f]) for f in PROFILE_FIELDS},
                "updated_at": ex.updated_at,
            },
        ).returning(
            leads.c.lead_id,
            leads.c.email_normalized,
            leads.c.email,
            *[leads.c[f] for f in PROFILE_FIELDS],
            (sa.literal_column("xmax") == 0).label("inserted"),
        )
        result = await self.conn.execute(stmt)
        out: dict[str, tuple[str, bool, LeadProfile]] = {}
        for row in result:
            profile = LeadProfile(email=row.email, **{f: getattr(row, f) for f in PROFILE_FIELDS})
            out[row.email_normalized] = (row.lead_id, bool(row.inserted), profile)
        return out

    async def insert_submissions(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.conn.execute(submissions.insert(), list(rows))

    async def insert_activities(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.conn.execute(activities.insert(), list(rows))

    async def find_leads(
        self, lead_ids: Sequence[str], emails_normalized: Sequence[str]
    ) -> tuple[set[str], dict[str, str]]:
        """Live leads among `lead_ids`, and email_normalized -> lead_id for `emails_normalized`."""
        live = leads.c.erased_at.is_(None)
        ids: set[str] = set()
        by_email: dict[str, str] = {}
        if lead_ids:
            rows = await self.conn.execute(
                sa.select(leads.c.lead_id).where(leads.c.lead_id.in_(lead_ids), live)
            )
            ids = {r.lead_id for r in rows}
        if emails_normalized:
            rows = await self.conn.execute(
                sa.select(leads.c.lead_id, leads.c.email_normalized).where(
                    leads.c.email_normalized.in_(emails_normalized), live
                )
            )
            by_email = {r.email_normalized: r.lead_id for r in rows}
        return ids, by_email

    async def lock_lead(self, lead_id: str) -> LeadIdentity | None:
        row = (
            await self.conn.execute(
                sa.select(leads.c.lead_id, leads.c.erased_at)
                .where(leads.c.lead_id == lead_id)
                .with_for_update()
            )
        ).first()
        return None if row is None else LeadIdentity(row.lead_id, row.erased_at)

    async def erase_lead(self, lead_id: str, now: datetime) -> None:
        """Forget the person: identity, raw submissions, activity details, relayed events."""
        await self.conn.execute(
            leads.update()
            .where(leads.c.lead_id == lead_id)
            .values(
                email_normalized=None,
                email=None,
                phone=None,
                first_name=None,
                last_name=None,
                company=None,
                job_title=None,
                erased_at=now,
                updated_at=now,
            )
        )
        await self.conn.execute(
            submissions.update()
            .where(submissions.c.lead_id == lead_id)
            .values(raw='{"erased": true}', form_id=None)
        )
        await self.conn.execute(
            activities.update()
            .where(activities.c.lead_id == lead_id)
            .values(properties={}, url=None, asset=None)
        )
        # The person's earlier events leave the outbox too, sent or not: lead.erased follows them,
        # and a captured event that never reaches a consumer spreads the data nowhere.
        await self.conn.execute(outbox.delete().where(outbox.c.key == lead_id))

    async def claim_idempotency_key(
        self,
        caller: str,
        scope: str,
        key: str,
        fingerprint: str,
        now: datetime,
        ttl: timedelta,
    ) -> StoredAnswer | None:
        """Reserve the caller's `key`; returns the stored answer when the caller used it within
        `ttl` (else None: a new key, or an expired one taken over).

        The insert waits on a concurrent request with the same key until it commits.
        """
        expired = now - ttl
        await self._purge_expired(expired)
        stmt = insert(idempotency_keys).values(
            caller=caller,
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            status_code=0,
            response={},
            lead_id=None,
            created_at=now,
        )
        fresh = {c: getattr(stmt.excluded, c) for c in ("fingerprint", "response", "lead_id")}
        claimed = await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[
                    idempotency_keys.c.caller,
                    idempotency_keys.c.scope,
                    idempotency_keys.c.key,
                ],
                set_={**fresh, "status_code": 0, "created_at": stmt.excluded.created_at},
                where=idempotency_keys.c.created_at < expired,
            ).returning(idempotency_keys.c.key)
        )
        if claimed.first() is not None:
            return None
        row = (
            await self.conn.execute(
                sa.select(idempotency_keys).where(*self._the_key(caller, scope, key))
            )
        ).one()
        return StoredAnswer(row.fingerprint, row.status_code, dict(row.response))

    async def _purge_expired(self, expired: datetime) -> None:
        """Delete a bounded batch of expired keys; rows another transaction holds are left for
        the next purge, so concurrent requests never wait on each other here."""
        doomed = (
            sa.select(idempotency_keys.c.caller, idempotency_keys.c.scope, idempotency_keys.c.key)
            .where(idempotency_keys.c.created_at < expired)
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )
        await self.conn.execute(
            idempotency_keys.delete().where(
                sa.tuple_(
                    idempotency_keys.c.caller, idempotency_keys.c.scope, idempotency_keys.c.key
                ).in_(doomed)
            )
        )

    @staticmethod
    def _the_key(caller: str, scope: str, key: str) -> list[sa.ColumnElement[bool]]:
        t = idempotency_keys.c
        return [t.caller == caller, t.scope == scope, t.key == key]

    async def store_idempotent_response(
        self,
        caller: str,
        scope: str,
        key: str,
        status_code: int,
        response: dict[str, Any],
        lead_id: str | None,
    ) -> None:
        await self.conn.execute(
            idempotency_keys.update()
            .where(*self._the_key(caller, scope, key))
            .values(status_code=status_code, response=response, lead_id=lead_id)
        )


async def get_lead(conn: AsyncConnection, lead_id: str) -> sa.Row[Any] | None:
    return (await conn.execute(sa.select(leads).where(leads.c.lead_id == lead_id))).first()


async def lead_submissions(conn: AsyncConnection, lead_id: str) -> list[sa.Row[Any]]:
    rows = await conn.execute(
        sa.select(submissions)
        .where(submissions.c.lead_id == lead_id)
        .order_by(submissions.c.received_at.desc())
        .limit(200)
    )
    return list(rows)
