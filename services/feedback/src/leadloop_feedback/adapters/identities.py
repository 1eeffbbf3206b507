"""Feedback's identity indexes on Postgres: (kind, value) -> the one lead or rep it names.
An email is only ever its hash here (`domain.identity.email_key`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from leadloop_feedback.adapters.deferred import Deferred, unnest_rows
from leadloop_feedback.adapters.tables import lead_identities, leads, rep_identities
from leadloop_feedback.domain.identity import IdentityKind


def _know_lead() -> Insert:
    """Index :owner under each (kind, value) of the arrays at :seen_at, unless a later event
    named another (latest wins, whatever order the topics arrive in); nothing for an erased
    lead (checked in the same statement). Built once. (A rep's identities are written at
    commit: adapters/deferred.py.)"""
    table = lead_identities
    rows = unnest_rows(table, ["kind", "value"])
    owner_id = sa.bindparam("owner", type_=table.c.lead_id.type)
    seen_at = sa.bindparam("seen_at", type_=table.c.seen_at.type)
    erased = sa.exists().where(leads.c.lead_id == owner_id, leads.c.erased.is_(True))
    chosen = sa.select(rows.c.kind, rows.c.value, owner_id, seen_at).where(~erased)
    stmt = insert(table).from_select(["kind", "value", "lead_id", "seen_at"], chosen)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.value],
        set_={"lead_id": stmt.excluded.lead_id, "seen_at": stmt.excluded.seen_at},
        where=table.c.seen_at <= stmt.excluded.seen_at,
    )


KNOW_LEAD = _know_lead()


class IdentityIndex:
    """The identity side of feedback's repository."""

    conn: AsyncConnection
    deferred: Deferred

    async def know_lead_identities(
        self, lead_id: str, identities: Collection[tuple[IdentityKind, str]], at: datetime
    ) -> None:
        """Index the lead under these identities; never an erased lead (a late event must not
        bring its identities back)."""
        pairs = sorted(set(identities))
        if pairs:
            await self.conn.execute(
                KNOW_LEAD,
                {
                    "kind": [kind for kind, _ in pairs],
                    "value": [value for _, value in pairs],
                    "owner": lead_id,
                    "seen_at": at,
                },
            )

    async def know_rep_identities(
        self, rep_id: str, identities: Collection[tuple[IdentityKind, str]], at: datetime
    ) -> None:
        """Index the rep under these identities (written at commit, in identity order)."""
        for kind, value in identities:
            self.deferred.know_rep_identity(kind, value, rep_id, at)

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
