"""The read model's writes on Postgres: idempotent by natural keys (ON CONFLICT), so a replayed
event changes nothing, and independent of the order topics arrive in."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_contract.agreement import stored_document
from leadloop_contract.values import Stage
from leadloop_feedback.adapters.tables import (
    agreements,
    assignments,
    crm_requests,
    deals,
    journey,
    leads,
    outbox,
    reps,
    stage_events,
    statuses,
    touches,
)
from leadloop_feedback.domain.read_model import (
    Capture,
    DealFact,
    Handoff,
    JourneyLine,
    ProjectedLead,
    PublishedAgreement,
    Reassignment,
    Scores,
    StageEntry,
    StatusFact,
    TouchFact,
)


def append_campaign(campaign: str | None) -> Any:
    """campaigns with `campaign` added once, order kept."""
    if not campaign:
        return leads.c.campaigns
    return sa.case(
        (sa.literal(campaign) == sa.any_(leads.c.campaigns), leads.c.campaigns),
        else_=sa.func.array_append(leads.c.campaigns, campaign),
    )


class ReadModelWrites:
    """The projection's side of feedback's repository."""

    conn: AsyncConnection

    async def lead(self, lead_id: str) -> ProjectedLead | None:
        """The projected lead, None before any event named it."""
        row = (await self.conn.execute(sa.select(leads).where(leads.c.lead_id == lead_id))).first()
        if row is None:
            return None
        r = row._mapping
        return ProjectedLead(
            lead_id=r["lead_id"],
            stage=cast(Stage, r["stage"]),
            source=r["source"],
            campaign=r["campaign"],
            campaigns=tuple(r["campaigns"]),
            first_seen_at=r["first_seen_at"],
            fit=r["fit"],
            interest=r["interest"],
            grade=r["grade"],
            interest_band=r["interest_band"],
            erased=r["erased"],
        )

    async def _ensure(self, lead_id: str, **values: Any) -> None:
        """Make sure the lead exists, then set `values` (a later capture fills the rest)."""
        now = datetime.now(UTC)
        stmt = insert(leads).values(lead_id=lead_id, updated_at=now, **values)
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[leads.c.lead_id], set_={**values, "updated_at": now}
            )
        )

    async def capture(self, capture: Capture) -> None:
        """The lead as intake saw it; the first source, campaign and time are kept."""
        now = datetime.now(UTC)
        stmt = insert(leads).values(
            lead_id=capture.lead_id,
            source=capture.source,
            campaign=capture.campaign,
            campaigns=[capture.campaign] if capture.campaign else [],
            first_seen_at=capture.first_seen_at,
            company=capture.company,
            updated_at=now,
        )
        await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[leads.c.lead_id],
                set_={
                    "source": sa.func.coalesce(leads.c.source, stmt.excluded.source),
                    "campaign": sa.func.coalesce(leads.c.campaign, stmt.excluded.campaign),
                    "company": sa.func.coalesce(stmt.excluded.company, leads.c.company),
                    "first_seen_at": sa.func.least(
                        leads.c.first_seen_at, stmt.excluded.first_seen_at
                    ),
                    "campaigns": append_campaign(capture.campaign),
                    "updated_at": now,
                },
            )
        )

    async def add_campaign(self, lead_id: str, campaign: str) -> None:
        """A campaign the lead came through (once, in order)."""
        await self._ensure(lead_id)
        await self.conn.execute(
            leads.update()
            .where(leads.c.lead_id == lead_id)
            .values(campaigns=append_campaign(campaign))
        )

    async def erase(self, lead_id: str) -> None:
        """Forget the person: the CRM's free text, the CRM calls as received, events not relayed."""
        await self._ensure(lead_id, erased=True, company=None)
        await self.conn.execute(
            deals.update().where(deals.c.lead_id == lead_id).values(reason=None)
        )
        # The rows stay (a repeated CRM call is still answered as a duplicate); their bodies go.
        await self.conn.execute(
            crm_requests.update()
            .where(crm_requests.c.lead_id == lead_id)
            .values(body={"erased": True})
        )
        await self.conn.execute(outbox.delete().where(outbox.c.key == lead_id))

    async def set_scores(self, lead_id: str, scores: Scores) -> None:
        """The lead's latest scores."""
        await self._ensure(
            lead_id,
            fit=scores.fit,
            interest=scores.interest,
            grade=scores.grade,
            interest_band=scores.interest_band,
        )

    async def add_stage_entry(self, entry: StageEntry) -> None:
        """Keep the move (once) and set the lead's stage."""
        await self.conn.execute(
            insert(stage_events)
            .values(
                event_id=entry.event_id,
                lead_id=entry.lead_id,
                from_stage=entry.from_stage,
                to_stage=entry.to_stage,
                reason=entry.reason,
                at=entry.at,
            )
            .on_conflict_do_nothing()
        )
        await self._ensure(entry.lead_id, stage=entry.to_stage)

    async def know_reps(
        self, rep_ids: Collection[str], at: datetime, names: Mapping[str, str] | None = None
    ) -> None:
        """Remember the reps a hand-off named (a CRM touch must come from one of them) and
        their names as routing last gave them."""
        named = sorted(set(rep_ids))
        if named:
            given = names or {}
            stmt = insert(reps).values(
                [{"rep_id": r, "first_seen_at": at, "name": given.get(r)} for r in named]
            )
            await self.conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[reps.c.rep_id],
                    set_={"name": sa.func.coalesce(stmt.excluded.name, reps.c.name)},
                )
            )

    async def add_handoff(self, handoff: Handoff) -> None:
        """The assignment, once."""
        await self.conn.execute(
            insert(assignments)
            .values(
                assignment_id=handoff.assignment_id,
                lead_id=handoff.lead_id,
                team=handoff.team,
                rep_id=handoff.rep_id,
                assigned_at=handoff.assigned_at,
                sla_deadline=handoff.sla_deadline,
            )
            .on_conflict_do_nothing()
        )

    async def reassign(self, reassignment: Reassignment) -> None:
        """The assignment's new rep and deadline; one more reassignment counted."""
        await self.conn.execute(
            assignments.update()
            .where(assignments.c.assignment_id == reassignment.assignment_id)
            .values(
                rep_id=reassignment.rep_id,
                sla_deadline=reassignment.sla_deadline,
                reassignments=assignments.c.reassignments + 1,
            )
        )

    async def count_breach(self, assignment_id: str) -> None:
        """One more SLA breach on the assignment."""
        await self.conn.execute(
            assignments.update()
            .where(assignments.c.assignment_id == assignment_id)
            .values(breaches=assignments.c.breaches + 1)
        )

    async def add_touch(self, touch: TouchFact) -> None:
        """The touch, once per crm_event_id."""
        await self._insert_once(touches, vars(touch))

    async def add_status(self, status: StatusFact) -> None:
        """The status, once per crm_event_id."""
        await self._insert_once(statuses, vars(status))

    async def add_deal(self, deal: DealFact) -> None:
        """The deal, once per crm_event_id."""
        await self._insert_once(deals, vars(deal))

    async def save_agreement(self, published: PublishedAgreement) -> None:
        """The version as published, once."""
        await self._insert_once(
            agreements,
            {
                "version": published.version,
                "document": stored_document(published.agreement),
                "published_at": published.published_at,
            },
        )

    async def add_journey_line(self, line: JourneyLine) -> None:
        """The event's line in the lead's story, once."""
        await self._insert_once(journey, vars(line))

    async def forget_journey(self, lead_id: str) -> None:
        """An erased lead's story goes with it."""
        await self.conn.execute(journey.delete().where(journey.c.lead_id == lead_id))

    async def _insert_once(self, table: sa.Table, values: dict[str, Any]) -> None:
        await self.conn.execute(insert(table).values(values).on_conflict_do_nothing())
