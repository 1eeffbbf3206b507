"""A lead's ids in other systems, in `intake.lead_identities`: one lead per (system, id) and
one id per system per lead, the latest submission's."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_contract.values import ExternalIds, ExternalSystem
from leadloop_intake.adapters.tables import lead_identities

T = lead_identities.c


async def link(conn: AsyncConnection, links: Sequence[tuple[str, str, str]], now: datetime) -> None:
    """Point each (lead_id, system, id)'s id at its lead, the lead's earlier id in that system
    let go (a contact merged or recreated in the CRM)."""
    for lead_id, system, external_id in links:
        await conn.execute(
            lead_identities.delete().where(
                T.lead_id == lead_id, T.system == system, T.external_id != external_id
            )
        )
        stmt = insert(lead_identities).values(
            system=system, external_id=external_id, lead_id=lead_id, updated_at=now
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[T.system, T.external_id],
                set_={"lead_id": stmt.excluded.lead_id, "updated_at": now},
            )
        )


async def of(conn: AsyncConnection, lead_ids: Sequence[str]) -> dict[str, ExternalIds]:
    """lead_id -> its ids in other systems."""
    if not lead_ids:
        return {}
    rows = await conn.execute(
        sa.select(T.lead_id, T.system, T.external_id).where(T.lead_id.in_(lead_ids))
    )
    out: dict[str, ExternalIds] = {}
    for r in rows:
        out.setdefault(r.lead_id, {})[cast(ExternalSystem, r.system)] = r.external_id
    return out
