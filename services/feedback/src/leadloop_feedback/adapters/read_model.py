"""The read model's writes on Postgres: idempotent by natural keys (ON CONFLICT), so a replayed
event changes nothing, and independent of the order topics arrive in.

Statements are built once (module level, bind parameters); what nothing reads back inside the
transaction is kept until the commit and written set-based (`adapters.deferred`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_contract.agreement import stored_document
from leadloop_contract.values import Stage
from leadloop_feedback.adapters.deferred import Deferred
from leadloop_feedback.adapters.tables import (
    agreements,
    assignments,
    crm_requests,
    deals,
    journey,
    leads,
    outbox,
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


def _appended(campaign: Any) -> Any:
    """campaigns with the SQL value `campaign` added once (order kept), unless it is null or
    empty: `append_campaign` for a value known when the statement runs."""
    return sa.case(
        (sa.func.coalesce(campaign, "") == "", leads.c.campaigns),
        (campaign == sa.any_(leads.c.campaigns), leads.c.campaigns),
        else_=sa.func.array_append(leads.c.campaigns, campaign),
    )


def _capture() -> Any:
    stmt = insert(leads)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[leads.c.lead_id],
        set_={
            "source": sa.func.coalesce(leads.c.source, new.source),
            "campaign": sa.func.coalesce(leads.c.campaign, new.campaign),
            "company": sa.func.coalesce(new.company, leads.c.company),
            "first_seen_at": sa.func.least(leads.c.first_seen_at, new.first_seen_at),
            "campaigns": _appended(new.campaign),
            "updated_at": new.updated_at,
        },
    )


def _add_campaign() -> Any:
    """The lead (created with this one campaign if new) with :campaign appended once."""
    stmt = insert(leads)
    return stmt.on_conflict_do_update(
        index_elements=[leads.c.lead_id],
        set_={
            "campaigns": _appended(stmt.excluded.campaigns[1]),
            "updated_at": stmt.excluded.updated_at,
        },
    )


def _by_assignment(**values: Any) -> Any:
    key = assignments.c.assignment_id == sa.bindparam("key", type_=sa.String())
    return assignments.update().where(key).values(**values)


CAPTURE = _capture()
ADD_CAMPAIGN = _add_campaign()
ADD_HANDOFF = insert(assignments).on_conflict_do_nothing()
REASSIGN = _by_assignment(
    rep_id=sa.bindparam("rep_id", type_=sa.String()),
    sla_deadline=sa.bindparam("due", type_=assignments.c.sla_deadline.type),
    reassignments=assignments.c.reassignments + 1,
)
COUNT_BREACH = _by_assignment(breaches=assignments.c.breaches + 1)
ADD_DEAL = insert(deals).on_conflict_do_nothing()
ADD_AGREEMENT = insert(agreements).on_conflict_do_nothing()
SELECT_LEAD = sa.select(leads).where(leads.c.lead_id == sa.bindparam("lead_id"))
LOCK_LEADS = (
    sa.select(leads.c.lead_id)
    .where(leads.c.lead_id == sa.any_(sa.bindparam("ids", type_=ARRAY(leads.c.lead_id.type))))
    .order_by(leads.c.lead_id)
    .with_for_update()
)


class ReadModelWrites:
    """The projection's side of feedback's repository."""

    conn: AsyncConnection
    deferred: Deferred

    async def lock_leads(self, lead_ids: Collection[str]) -> None:
        """Lock the known leads' rows, in lead order (a consumer batch's first statement)."""
        if lead_ids:
            await self.conn.execute(LOCK_LEADS, {"ids": sorted(lead_ids)})

    async def lead(self, lead_id: str) -> ProjectedLead | None:
        """The projected lead, None before any event named it."""
        row = (await self.conn.execute(SELECT_LEAD, {"lead_id": lead_id})).first()
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
        await self.conn.execute(
            CAPTURE,
            {
                "lead_id": capture.lead_id,
                "source": capture.source,
                "campaign": capture.campaign,
                "campaigns": [capture.campaign] if capture.campaign else [],
                "first_seen_at": capture.first_seen_at,
                "company": capture.company,
                "updated_at": datetime.now(UTC),
            },
        )

    async def add_campaign(self, lead_id: str, campaign: str) -> None:
        """A campaign the lead came through (once, in order)."""
        now = datetime.now(UTC)
        await self.conn.execute(
            ADD_CAMPAIGN, {"lead_id": lead_id, "campaigns": [campaign], "updated_at": now}
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
        """The lead's latest scores (written at commit: the batch's last per lead)."""
        self.deferred.scores[lead_id] = vars(scores)

    async def add_stage_entry(self, entry: StageEntry) -> None:
        """Keep the move (once) and set the lead's stage (both written at commit)."""
        self.deferred.inserts[stage_events.name].append(vars(entry))
        self.deferred.stages[entry.lead_id] = {"stage": entry.to_stage}

    async def know_reps(
        self, rep_ids: Collection[str], at: datetime, names: Mapping[str, str] | None = None
    ) -> None:
        """Remember the reps a hand-off named (a CRM touch must come from one of them) and
        their names as routing last gave them (written at commit, in rep order)."""
        given = names or {}
        for rep_id in rep_ids:
            self.deferred.know_rep(rep_id, at, given.get(rep_id))

    async def add_handoff(self, handoff: Handoff) -> None:
        """The assignment, once."""
        await self.conn.execute(ADD_HANDOFF, vars(handoff))

    async def reassign(self, reassignment: Reassignment) -> None:
        """The assignment's new rep and deadline; one more reassignment counted."""
        await self.conn.execute(
            REASSIGN,
            {
                "key": reassignment.assignment_id,
                "rep_id": reassignment.rep_id,
                "due": reassignment.sla_deadline,
            },
        )

    async def count_breach(self, assignment_id: str) -> None:
        """One more SLA breach on the assignment."""
        await self.conn.execute(COUNT_BREACH, {"key": assignment_id})

    async def add_touch(self, touch: TouchFact) -> None:
        """The touch, once per crm_event_id (written at commit)."""
        self.deferred.inserts[touches.name].append(vars(touch))

    async def add_status(self, status: StatusFact) -> None:
        """The status, once per crm_event_id (written at commit)."""
        self.deferred.inserts[statuses.name].append(vars(status))

    async def add_deal(self, deal: DealFact) -> None:
        """The deal, once per crm_event_id."""
        await self.conn.execute(ADD_DEAL, vars(deal))

    async def save_agreement(self, published: PublishedAgreement) -> None:
        """The version as published, once."""
        await self.conn.execute(
            ADD_AGREEMENT,
            {
                "version": published.version,
                "document": stored_document(published.agreement),
                "published_at": published.published_at,
            },
        )

    async def add_journey_line(self, line: JourneyLine) -> None:
        """The event's line in the lead's story, once (written at commit)."""
        self.deferred.inserts[journey.name].append(vars(line))

    async def forget_journey(self, lead_id: str) -> None:
        """An erased lead's story goes with it (the lines written and those still pending)."""
        self.deferred.forget_journey(lead_id)
        await self.conn.execute(journey.delete().where(journey.c.lead_id == lead_id))

    async def flush(self) -> None:
        """Write the pending writes (before the commit)."""
        await self.deferred.flush(self.conn)
