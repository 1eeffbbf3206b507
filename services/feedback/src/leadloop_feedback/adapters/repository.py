"""Feedback's repository on Postgres: the read model's writes (`ReadModelWrites`), the identity
indexes (`IdentityIndex`) and the CRM's calls (idempotency by the CRM's event id, the stages
feedback decides, campaign costs)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_contract.agreement import Agreement, ParsedAgreements
from leadloop_contract.values import Stage
from leadloop_feedback.adapters.deferred import Deferred
from leadloop_feedback.adapters.identities import IdentityIndex
from leadloop_feedback.adapters.read_model import ReadModelWrites
from leadloop_feedback.adapters.tables import (
    agreements,
    assignments,
    campaigns,
    crm_requests,
    leads,
    reps,
)
from leadloop_feedback.domain.crm import Campaign, Earlier, Handoffs, Item, Kind

PARSED = ParsedAgreements()
"""Stored agreement documents, parsed once per version and process."""


async def newest_agreement(conn: AsyncConnection) -> Agreement | None:
    """The newest agreement feedback has seen, typed (None before the first)."""
    row = (
        await conn.execute(
            sa.select(agreements.c.version, agreements.c.document)
            .order_by(agreements.c.published_at.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else PARSED.parse(row.version, row.document)


class SqlRepository(ReadModelWrites, IdentityIndex):
    """Feedback's state inside one transaction (a consumer batch is one): made when the
    transaction opens, so what it keeps (pending writes, reps written) lasts that long."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.deferred = Deferred()
        self.reps_known = {}

    async def claim_request(self, kind: Kind, item: Item, now: datetime) -> bool:
        """Keep the call under its crm_event_id; False when one was kept before."""
        claimed = await self.conn.execute(
            insert(crm_requests)
            .values(
                kind=kind,
                crm_event_id=item.crm_event_id,
                event_id="pending",
                lead_id=item.lead,
                received_at=now,
                body=item.facts(json=True),
            )
            .on_conflict_do_nothing()
            .returning(crm_requests.c.crm_event_id)
        )
        return claimed.first() is not None

    async def earlier_request(self, kind: Kind, crm_event_id: str) -> Earlier:
        """The call kept under this crm_event_id."""
        row = (
            await self.conn.execute(
                sa.select(crm_requests.c.event_id, crm_requests.c.body).where(
                    crm_requests.c.kind == kind, crm_requests.c.crm_event_id == crm_event_id
                )
            )
        ).one()
        return Earlier(row.event_id, dict(row.body))

    async def settle_request(self, kind: Kind, crm_event_id: str, event_id: str) -> None:
        """The event published for the call, for the answer to its repeats."""
        await self.conn.execute(
            crm_requests.update()
            .where(crm_requests.c.kind == kind, crm_requests.c.crm_event_id == crm_event_id)
            .values(event_id=event_id)
        )

    async def stages(self, lead_ids: Collection[str]) -> dict[str, Stage]:
        """The stage of each live lead named (erased and unknown ones are absent)."""
        rows = await self.conn.execute(
            sa.select(leads.c.lead_id, leads.c.stage).where(
                leads.c.lead_id.in_(set(lead_ids)), leads.c.erased.is_(False)
            )
        )
        return {r.lead_id: cast(Stage, r.stage) for r in rows}

    async def handoffs(self, lead_ids: Collection[str], rep_ids: Collection[str]) -> Handoffs:
        """Which of these leads were handed to sales, and which of these reps a hand-off named."""
        if not lead_ids and not rep_ids:
            return Handoffs(set(), set())
        handed = await self.conn.execute(
            sa.select(assignments.c.lead_id).where(assignments.c.lead_id.in_(set(lead_ids)))
        )
        known = await self.conn.execute(
            sa.select(reps.c.rep_id).where(reps.c.rep_id.in_(set(rep_ids)))
        )
        return Handoffs({r.lead_id for r in handed}, {r.rep_id for r in known})

    async def current_agreement(self) -> Agreement | None:
        """The newest agreement feedback has seen."""
        return await newest_agreement(self.conn)

    async def decide_stage(self, lead_id: str, stage: Stage, now: datetime) -> None:
        """Keep the stage feedback decided, so the next CRM call is checked from there
        (scoring's stage_changed, when it comes back, says the same)."""
        await self.conn.execute(
            leads.update().where(leads.c.lead_id == lead_id).values(stage=stage, updated_at=now)
        )

    async def campaign(self, campaign_id: str) -> Campaign | None:
        """One campaign's cost, or None; its row stays locked until the transaction ends."""
        row = (
            await self.conn.execute(
                sa.select(campaigns).where(campaigns.c.campaign_id == campaign_id).with_for_update()
            )
        ).first()
        return None if row is None else Campaign(**row._asdict())

    async def save_campaign(self, campaign: Campaign) -> None:
        """Insert or replace the campaign's cost."""
        values = vars(campaign)
        stmt = insert(campaigns).values(values)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[campaigns.c.campaign_id],
                set_={k: stmt.excluded[k] for k in values},
            )
        )
