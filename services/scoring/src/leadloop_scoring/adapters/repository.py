"""Scoring's queries: `SqlRepository` is the unit of work's view of scoring's tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_events.bounds import MAX_ITEMS
from leadloop_events.lifecycle import Stage
from leadloop_scoring.adapters.tables import (
    CAMPAIGN_CHARS,
    SOURCE_CHARS,
    activities,
    agreements,
    leads,
    outbox,
    score_history,
    stage_history,
)


@dataclass
class LeadRecord:
    """A lead as scoring keeps it (mutable inside one unit of work)."""

    lead_id: str
    stage: Stage = "lead"
    stage_changed_at: datetime | None = None
    profile: dict[str, Any] | None = None
    fit: float = 0.0
    interest: float = 0.0
    total: float = 0.0
    grade: str = "D"
    interest_band: str = ""
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    agreement_version: str | None = None
    sources: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    first_source: str | None = None
    first_campaign: str | None = None
    captured_at: datetime | None = None
    recycled_at: datetime | None = None
    next_rescore_at: datetime | None = None
    erased_at: datetime | None = None
    is_new: bool = False
    added_sources: list[str] = field(default_factory=list)
    added_campaigns: list[str] = field(default_factory=list)

    def came_through(self, source: str | None = None, campaign: str | None = None) -> None:
        """Note where the lead came from; `sources` and `campaigns` hold the most recent ones."""
        if source:
            self.first_source = self.first_source or source[:SOURCE_CHARS]
            _remember(self.sources, self.added_sources, source[:SOURCE_CHARS])
        if campaign:
            self.first_campaign = self.first_campaign or campaign[:CAMPAIGN_CHARS]
            _remember(self.campaigns, self.added_campaigns, campaign[:CAMPAIGN_CHARS])


def _remember(recent: list[str], added: list[str], value: str) -> None:
    if value not in recent:
        recent.append(value)
        del recent[:-MAX_ITEMS]
        added.append(value)


_COLUMNS = [c.name for c in leads.columns if c.name != "updated_at"]
_APPENDED = ("sources", "campaigns")  # appended to in SQL: a lead may have thousands


def _select_lead() -> sa.Select[Any]:
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


_UPSERT_LEAD = _upsert_lead()


@dataclass(frozen=True)
class StoredAgreement:
    version: str
    checksum: str
    document: dict[str, Any]
    source_yaml: str
    published_at: datetime


class SqlRepository:
    """Scoring's state inside one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def lead_for_update(self, lead_id: str) -> LeadRecord | None:
        row = (
            await self.conn.execute(
                _select_lead().where(leads.c.lead_id == lead_id).with_for_update()
            )
        ).first()
        if row is None:
            return None
        values = {k: v for k, v in row._mapping.items() if k in _COLUMNS}
        return LeadRecord(**values)

    async def save_lead(self, lead: LeadRecord, now: datetime) -> None:
        values = {c: getattr(lead, c) for c in _COLUMNS} | {"updated_at": now}
        values["stage_changed_at"] = lead.stage_changed_at or now
        await self.conn.execute(_UPSERT_LEAD, values)
        for name, added in (("sources", lead.added_sources), ("campaigns", lead.added_campaigns)):
            column = leads.c[name]
            for value in added:  # a new lead was inserted with them: ANY() skips those
                await self.conn.execute(
                    leads.update()
                    .where(leads.c.lead_id == lead.lead_id, sa.literal(value) != sa.all_(column))
                    .values({name: sa.func.array_append(column, value, type_=column.type)})
                )
            added.clear()

    async def add_activity(self, row: dict[str, Any]) -> bool:
        """Store an activity; False when it was already there."""
        result = await self.conn.execute(
            insert(activities)
            .values(row)
            .on_conflict_do_nothing()
            .returning(activities.c.activity_id)
        )
        return result.first() is not None

    async def activities_of(self, lead_id: str, limit: int) -> list[dict[str, Any]]:
        """The lead's most recent activities first."""
        rows = await self.conn.execute(
            sa.select(activities)
            .where(activities.c.lead_id == lead_id)
            .order_by(activities.c.occurred_at.desc())
            .limit(limit)
        )
        return [dict(r._mapping) for r in rows]

    async def record_score(self, row: dict[str, Any]) -> None:
        await self.conn.execute(score_history.insert().values(row))

    async def record_stage(self, row: dict[str, Any]) -> None:
        await self.conn.execute(stage_history.insert().values(row))

    async def erase(self, lead_id: str, now: datetime) -> None:
        """Forget the person's data; keep the anonymous funnel facts."""
        await self.conn.execute(
            leads.update()
            .where(leads.c.lead_id == lead_id)
            .values(profile=None, breakdown=[], erased_at=now, next_rescore_at=None, updated_at=now)
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

    async def due_for_rescore(self, now: datetime, limit: int) -> list[str]:
        """Claim leads whose decay deadline passed; other replicas skip the locked ones."""
        rows = await self.conn.execute(
            sa.select(leads.c.lead_id)
            .where(leads.c.next_rescore_at <= now, leads.c.erased_at.is_(None))
            .order_by(leads.c.next_rescore_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [r.lead_id for r in rows]

    async def schedule_rescore_all(self, now: datetime) -> int:
        """Make every live lead due for re-scoring (the decay scheduler works through them)."""
        result = await self.conn.execute(
            leads.update().where(leads.c.erased_at.is_(None)).values(next_rescore_at=now)
        )
        return int(result.rowcount)

    async def current_agreement(self) -> StoredAgreement | None:
        row = (
            await self.conn.execute(
                sa.select(agreements).order_by(agreements.c.published_at.desc()).limit(1)
            )
        ).first()
        return None if row is None else _agreement(row)

    async def agreement(self, version: str) -> StoredAgreement | None:
        row = (
            await self.conn.execute(sa.select(agreements).where(agreements.c.version == version))
        ).first()
        return None if row is None else _agreement(row)

    async def agreement_versions(self) -> list[StoredAgreement]:
        rows = await self.conn.execute(
            sa.select(agreements).order_by(agreements.c.published_at.desc())
        )
        return [_agreement(r) for r in rows]

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


async def score_view(conn: AsyncConnection, lead_id: str) -> dict[str, Any] | None:
    """The current score with its breakdown and the stage history, for the HTTP API."""
    lead = (await conn.execute(_select_lead().where(leads.c.lead_id == lead_id))).first()
    if lead is None:
        return None
    stages = await conn.execute(
        sa.select(stage_history)
        .where(stage_history.c.lead_id == lead_id)
        .order_by(stage_history.c.id)
    )
    scores = await conn.execute(
        sa.select(
            score_history.c.total,
            score_history.c.grade,
            score_history.c.scored_at,
            score_history.c.agreement_version,
            score_history.c.cause,
        )
        .where(score_history.c.lead_id == lead_id)
        .order_by(score_history.c.id.desc())
        .limit(50)
    )
    return {
        "lead": dict(lead._mapping),
        "stages": [dict(r._mapping) for r in stages],
        "scores": [dict(r._mapping) for r in scores],
    }
