"""Feedback's repository on Postgres: the read model's writes (`ReadModelWrites`), the identity
indexes (`IdentityIndex`) and the CRM's calls (idempotency by the CRM's event id, the stages
feedback decides, campaign costs)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
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
from leadloop_feedback.domain.crm import Campaign, CrmContext, Earlier, Handoffs, Item, Kind

PARSED = ParsedAgreements()
"""Stored agreement documents, parsed once per version and process."""
AGREEMENTS: dict[str, Agreement] = {}
"""The versions `crm_context` has parsed (their documents are not read again)."""

CLAIM = (
    insert(crm_requests)
    .values({c.name: sa.bindparam(c.name, type_=c.type) for c in crm_requests.c})
    .on_conflict_do_nothing()
    .returning(crm_requests.c.crm_event_id)
)
EARLIER = sa.select(crm_requests.c.event_id, crm_requests.c.body).where(
    crm_requests.c.kind == sa.bindparam("kind"),
    crm_requests.c.crm_event_id == sa.bindparam("crm_event_id"),
)
CRM_CONTEXT = sa.text(
    f"""
    SELECT
      (SELECT coalesce(jsonb_object_agg(l.lead_id, l.stage), '{{}}'::jsonb) FROM {leads.fullname} l
        WHERE l.lead_id = ANY(:leads) AND NOT l.erased) AS stages,
      (SELECT coalesce(array_agg(DISTINCT a.lead_id), '{{}}') FROM {assignments.fullname} a
        WHERE a.lead_id = ANY(:touched)) AS handed,
      (SELECT coalesce(array_agg(r.rep_id), '{{}}') FROM {reps.fullname} r
        WHERE r.rep_id = ANY(:reps)) AS reps,
      newest.version,
      CASE WHEN newest.version = ANY(:known) THEN NULL ELSE newest.document END AS document
    FROM (SELECT 1) AS one LEFT JOIN LATERAL (
      SELECT version, document FROM {agreements.fullname} ORDER BY published_at DESC LIMIT 1
    ) AS newest ON true
    """
).columns(
    sa.column("stages", JSONB),
    sa.column("handed", ARRAY(sa.String)),
    sa.column("reps", ARRAY(sa.String)),
    sa.column("version", sa.String),
    sa.column("document", JSONB),
)
"""Built once: what `crm_context` reads, in one statement."""


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

    async def claim_request(self, kind: Kind, item: Item, now: datetime, event_id: str) -> bool:
        """Keep the call under its crm_event_id, with the id of the event it publishes; False
        when one was kept before."""
        claimed = await self.conn.execute(
            CLAIM,
            {
                "kind": kind,
                "crm_event_id": item.crm_event_id,
                "event_id": event_id,
                "lead_id": item.lead,
                "received_at": now,
                "body": item.facts(json=True),
            },
        )
        return claimed.first() is not None

    async def earlier_request(self, kind: Kind, crm_event_id: str) -> Earlier:
        """The call kept under this crm_event_id."""
        params = {"kind": kind, "crm_event_id": crm_event_id}
        row = (await self.conn.execute(EARLIER, params)).one()
        return Earlier(row.event_id, dict(row.body))

    async def crm_context(
        self, lead_ids: Collection[str], touched: Collection[str], rep_ids: Collection[str]
    ) -> CrmContext:
        """The stages of the named live leads, which touched leads were handed to sales and
        which reps a hand-off named, and the newest agreement: one round trip (the agreement's
        document only when this process has not parsed its version yet)."""
        params = {
            "leads": list(lead_ids),
            "touched": list(touched),
            "reps": list(rep_ids),
            "known": list(AGREEMENTS),
        }
        row = (await self.conn.execute(CRM_CONTEXT, params)).one()
        agreement = None
        if row.version is not None:
            agreement = AGREEMENTS.get(row.version)
            if agreement is None:
                agreement = AGREEMENTS[row.version] = PARSED.parse(row.version, row.document)
        stages = cast(dict[str, Stage], row.stages)
        return CrmContext(stages, Handoffs(set(row.handed), set(row.reps)), agreement)

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
