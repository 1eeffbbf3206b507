"""Scoring's storage: the `Repository` its handlers need, and `SqlRepository` on Postgres.

Both take and return domain objects (`ScoredLead`, `ActivityFact`, `StageMove`,
`StoredAgreement`); rows and JSON stay in here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_contract.bounds import MAX_ITEMS
from leadloop_contract.profile import LeadProfile
from leadloop_events.lifecycle import ScoreLine
from leadloop_platform.http.paging import PageRequest, keyset
from leadloop_scoring.adapters.lead_batches import LeadBatchStatements
from leadloop_scoring.adapters.rescoring import RescoreStatements
from leadloop_scoring.adapters.tables import (
    activities,
    agreements,
    leads,
    outbox,
    score_history,
)
from leadloop_scoring.domain.agreements import StoredAgreement
from leadloop_scoring.domain.interest import ActivityFact
from leadloop_scoring.domain.lead import ScoredLead, StageMove


class Repository(Protocol):
    """What scoring's handlers read and write, inside one unit of work."""

    async def lead_for_update(self, lead_id: str) -> ScoredLead | None: ...
    async def save_lead(self, lead: ScoredLead, now: datetime) -> None: ...
    async def add_activity(self, lead_id: str, activity_id: str, fact: ActivityFact) -> bool: ...
    async def activities_of(self, lead_id: str, limit: int) -> list[ActivityFact]: ...
    async def record_score(self, lead: ScoredLead, cause: str, at: datetime) -> None: ...
    async def record_stage(self, move: StageMove) -> None: ...
    async def erase(self, lead_id: str, at: datetime) -> None: ...
    async def claim_due_leads(self, now: datetime, limit: int) -> list[ScoredLead]: ...
    async def activities_of_leads(
        self, lead_ids: list[str], limit: int
    ) -> dict[str, list[ActivityFact]]: ...
    async def record_scores(self, scores: list[tuple[ScoredLead, str, datetime]]) -> None: ...
    async def record_stages(self, moves: list[StageMove]) -> None: ...
    async def save_rescored(self, rescored: list[ScoredLead], now: datetime) -> None: ...
    async def leads_for_update(self, lead_ids: list[str]) -> dict[str, ScoredLead]: ...
    async def add_activities(self, rows: list[tuple[str, str, ActivityFact]]) -> set[str]: ...
    async def save_leads(self, saved: list[tuple[ScoredLead, datetime]]) -> None: ...
    async def schedule_rescore_all(self, now: datetime) -> int: ...
    async def current_agreement(self) -> StoredAgreement | None: ...
    async def current_version(self) -> tuple[str, str] | None: ...
    async def agreement(self, version: str) -> StoredAgreement | None: ...
    async def agreement_versions(self, page: PageRequest) -> list[StoredAgreement]: ...
    async def save_agreement(self, stored: StoredAgreement, published_by: str | None) -> bool: ...


_COLUMNS = [c.name for c in leads.columns if c.name != "updated_at"]
_APPENDED = ("sources", "campaigns")  # appended to in SQL: a lead may have thousands


def select_lead() -> sa.Select[Any]:
    """Every column of a lead, its sources and campaigns cut to the most recent."""
    return sa.select(*(_most_recent(c) if c.name in _APPENDED else c for c in leads.columns))


def _most_recent(column: Any) -> Any:
    """The column's last MAX_ITEMS elements, cut in PostgreSQL (not loaded whole)."""
    n = sa.func.cardinality(column)
    return column[sa.func.greatest(n - (MAX_ITEMS - 1), 1) : n].label(column.name)


def _upsert_lead() -> Any:
    """INSERT ... ON CONFLICT (lead_id) DO UPDATE of every column, built once.

    Built per call, it was rebuilt for every record scoring handled (the `excluded` alias
    proxies every column each time); executed with a parameter dict, it is built only here.
    """
    stmt = insert(leads)
    return stmt.on_conflict_do_update(
        index_elements=[leads.c.lead_id],
        set_={
            c.name: stmt.excluded[c.name]
            for c in leads.columns
            if c.name != "lead_id" and c.name not in _APPENDED
        },
    )


UPSERT_LEAD = _upsert_lead()
# The version in force and its checksum, without its document: what every event asks.
_CURRENT_VERSION = (
    sa.select(agreements.c.version, agreements.c.checksum)
    .order_by(agreements.c.published_at.desc())
    .limit(1)
)


def lead_of(row: sa.Row[Any]) -> ScoredLead:
    values = {k: v for k, v in row._mapping.items() if k in _COLUMNS}
    # A profile this version cannot read (a newer one's field) fails here, loudly.
    profile = values.pop("profile")
    values["profile"] = LeadProfile.model_validate(profile) if profile else None
    values["breakdown"] = [ScoreLine.model_validate(line) for line in values["breakdown"]]
    return ScoredLead(**values)


def lead_row(lead: ScoredLead, now: datetime) -> dict[str, Any]:
    values = {c: getattr(lead, c) for c in _COLUMNS} | {"updated_at": now}
    values["profile"] = lead.profile.model_dump(mode="json") if lead.profile else None
    values["breakdown"] = _breakdown(lead)
    values["stage_changed_at"] = lead.stage_changed_at or now
    return values


def _breakdown(lead: ScoredLead) -> list[dict[str, Any]]:
    return [line.model_dump(mode="json") for line in lead.breakdown]


class SqlRepository(RescoreStatements, LeadBatchStatements):
    """Scoring's state inside one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def lead_for_update(self, lead_id: str) -> ScoredLead | None:
        """The lead, locked until the transaction ends; None when scoring never saw it."""
        query = select_lead().where(leads.c.lead_id == lead_id).with_for_update()
        row = (await self.conn.execute(query)).first()
        return None if row is None else lead_of(row)

    async def save_lead(self, lead: ScoredLead, now: datetime) -> None:
        """Write the lead; its new sources and campaigns are appended, each once."""
        await self.conn.execute(UPSERT_LEAD, lead_row(lead, now))
        for name, added in (("sources", lead.added_sources), ("campaigns", lead.added_campaigns)):
            column = leads.c[name]
            for value in added:  # a new lead was inserted with them: ANY() skips those
                await self.conn.execute(
                    leads.update()
                    .where(leads.c.lead_id == lead.lead_id, sa.literal(value) != sa.all_(column))
                    .values({name: sa.func.array_append(column, value, type_=column.type)})
                )
            added.clear()

    async def add_activity(self, lead_id: str, activity_id: str, fact: ActivityFact) -> bool:
        """Store an activity; False when it was already there."""
        row = {
            "activity_id": activity_id,
            "lead_id": lead_id,
            "activity_type": fact.activity_type,
            "occurred_at": fact.occurred_at,
            "url": fact.url,
            "campaign": fact.campaign,
        }
        result = await self.conn.execute(
            insert(activities)
            .values(row)
            .on_conflict_do_nothing()
            .returning(activities.c.activity_id)
        )
        return result.first() is not None

    async def activities_of(self, lead_id: str, limit: int) -> list[ActivityFact]:
        """The lead's most recent activities first."""
        rows = await self.conn.execute(
            sa.select(activities)
            .where(activities.c.lead_id == lead_id)
            .order_by(activities.c.occurred_at.desc())
            .limit(limit)
        )
        return [ActivityFact(r.activity_type, r.occurred_at, r.campaign, r.url) for r in rows]

    async def record_score(self, lead: ScoredLead, cause: str, at: datetime) -> None:
        """Keep the lead's current score in its history."""
        await self.record_scores([(lead, cause, at)])

    async def record_stage(self, move: StageMove) -> None:
        """Keep an applied move in the lead's stage history."""
        await self.record_stages([move])

    async def erase(self, lead_id: str, at: datetime) -> None:
        """Forget the person's data; keep the anonymous funnel facts (and a tombstone)."""
        # A lead scoring never saw is remembered as erased, so a late capture stays ignored.
        await self.conn.execute(
            insert(leads)
            .values(lead_id=lead_id, stage_changed_at=at, captured_at=at, updated_at=at)
            .on_conflict_do_nothing()
        )
        await self.conn.execute(
            leads.update()
            .where(leads.c.lead_id == lead_id)
            .values(
                profile=None,
                breakdown=[],
                external_ids={},
                erased_at=at,
                next_rescore_at=None,
                updated_at=at,
            )
        )
        await self.conn.execute(
            activities.update().where(activities.c.lead_id == lead_id).values(url=None)
        )
        # Relayed or not, the person's lifecycle events (intelligence holds the profile) go too.
        await self.conn.execute(outbox.delete().where(outbox.c.key == lead_id))
        await self.conn.execute(
            score_history.update()
            .where(score_history.c.lead_id == lead_id)
            .values(breakdown=sa.text("'[]'::jsonb"))
        )

    async def schedule_rescore_all(self, now: datetime) -> int:
        """Make every live lead due for re-scoring (the decay scheduler works through them)."""
        result = await self.conn.execute(
            leads.update().where(leads.c.erased_at.is_(None)).values(next_rescore_at=now)
        )
        return int(result.rowcount)

    async def current_agreement(self) -> StoredAgreement | None:
        """The latest published version."""
        query = sa.select(agreements).order_by(agreements.c.published_at.desc()).limit(1)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _agreement(row)

    async def current_version(self) -> tuple[str, str] | None:
        """The latest published version and its checksum (the document is not read)."""
        row = (await self.conn.execute(_CURRENT_VERSION)).first()
        return None if row is None else (row.version, row.checksum)

    async def agreement(self, version: str) -> StoredAgreement | None:
        """A published version by its name."""
        query = sa.select(agreements).where(agreements.c.version == version)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _agreement(row)

    async def agreement_versions(self, page: PageRequest) -> list[StoredAgreement]:
        """A page of published versions, the latest first (one more than its limit)."""
        a = agreements
        query = keyset(sa.select(a), [a.c.published_at, a.c.version], page, descending=True)
        return [_agreement(r) for r in await self.conn.execute(query)]

    async def save_agreement(self, stored: StoredAgreement, published_by: str | None) -> bool:
        """Store a version; False when that version exists already."""
        result = await self.conn.execute(
            insert(agreements)
            .values(
                version=stored.version,
                checksum=stored.checksum,
                document=stored.document,
                source_yaml=stored.source_yaml,
                published_at=stored.published_at,
                published_by=published_by,
            )
            .on_conflict_do_nothing()
            .returning(agreements.c.version)
        )
        return result.first() is not None


def _agreement(row: sa.Row[Any]) -> StoredAgreement:
    return StoredAgreement(
        row.version, row.checksum, dict(row.document), row.source_yaml, row.published_at
    )
