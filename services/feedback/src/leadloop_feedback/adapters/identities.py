"""Feedback's identity indexes on Postgres: (kind, value) -> the one lead or rep it names.
An email is only ever its hash here (`domain.identity.email_key`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_feedback.adapters.tables import lead_identities, leads, rep_identities
from leadloop_feedback.domain.identity import IdentityKind


class IdentityIndex:
    """The identity side of feedback's repository."""

    conn: AsyncConnection

    async def _know(
        self,
        table: sa.Table,
        owner: str,
        owner_id: str,
        identities: Collection[tuple[IdentityKind, str]],
        at: datetime,
    ) -> None:
        """Each value names `owner_id` now, unless a later event named another (latest wins,
        whatever order the topics arrive in)."""
        rows = [
            {"kind": kind, "value": value, owner: owner_id, "seen_at": at}
            for kind, value in sorted(set(identities))
        ]
        if not rows:
            return
        stmt = insert(table).values(rows)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.kind, table.c.value],
                set_={owner: stmt.excluded[owner], "seen_at": stmt.excluded.seen_at},
                where=table.c.seen_at <= stmt.excluded.seen_at,
            )
        )

    async def know_lead_identities(
        self, lead_id: str, identities: Collection[tuple[IdentityKind, str]], at: datetime
    ) -> None:
        """Index the lead under these identities."""
        await self._know(lead_identities, "lead_id", lead_id, identities, at)

    async def know_rep_identities(
        self, rep_id: str, identities: Collection[tuple[IdentityKind, str]], at: datetime
    ) -> None:
        """Index the rep under these identities."""
        await self._know(rep_identities, "rep_id", rep_id, identities, at)

    async def forget_lead_identities(self, lead_id: str) -> None:
        """An erased lead can no longer be found by its email or CRM ids."""
        owned = lead_identities.c.lead_id == lead_id
        await self.conn.execute(lead_identities.delete().where(owned))

    async def find_lead(self, kind: IdentityKind, value: str) -> str | None:
        """The live lead this identity names, or None."""
        erased = sa.exists().where(
            leads.c.lead_id == lead_identities.c.lead_id, leads.c.erased.is_(True)
        )
        found = await self.conn.execute(
            sa.select(lead_identities.c.lead_id).where(
                lead_identities.c.kind == kind, lead_identities.c.value == value, ~erased
            )
        )
        return found.scalar_one_or_none()

    async def find_rep(self, kind: IdentityKind, value: str) -> str | None:
        """The rep this identity names, or None."""
        found = await self.conn.execute(
            sa.select(rep_identities.c.rep_id).where(
                rep_identities.c.kind == kind, rep_identities.c.value == value
            )
        )
        return found.scalar_one_or_none()
