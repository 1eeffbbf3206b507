"""Intake's tables seen as domain objects: `SqlRepository` is the unit of work's repository."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_intake.adapters import idempotency, identities
from leadloop_intake.adapters.import_records import ImportRecords
from leadloop_intake.adapters.tables import activities, lead_identities, leads, outbox, submissions
from leadloop_intake.domain.lead import (
    PROFILE_FIELDS,
    Lead,
    LeadDetails,
    RecordedActivity,
    Submission,
    Upserted,
)
from leadloop_intake.domain.ports import StoredAnswer

SUBMISSIONS_SHOWN = 200
LEAD_COLUMNS = [leads.c[name] for name in Lead.__dataclass_fields__ if name != "external_ids"]
SUBMISSION_COLUMNS = [submissions.c[name] for name in Submission.__dataclass_fields__]


LEAD_FIELDS = [c.name for c in LEAD_COLUMNS]
SUBMISSION_FIELDS = [c.name for c in SUBMISSION_COLUMNS]
INSERTED = (sa.literal_column("xmax") == 0).label("inserted")
# The lead's ids in other systems as the upsert found them: a person's form fill that brings
# no id of its own reads them in the upsert's own statement, not in one more round trip.
IDENTITIES = sa.literal_column(
    "(SELECT coalesce(jsonb_object_agg(i.system, i.external_id), '{}'::jsonb)"
    f" FROM {lead_identities.schema}.{lead_identities.name} i"
    f" WHERE i.lead_id = {leads.schema}.{leads.name}.lead_id)",
    JSONB,
).label("identities")


def _upsert(values: Any) -> Any:
    """Insert the lead, or merge it into the one with its normalized email: a field the new
    submission leaves empty keeps its known value."""
    return _merging(insert(leads).values(values))


def _merging(base: Any) -> Any:
    """`base` (an insert into leads) merging into the lead with the same normalized email."""
    ex = base.excluded
    return base.on_conflict_do_update(
        index_elements=[leads.c.email_normalized],
        set_={
            "email": ex.email,
            **{f: sa.func.coalesce(getattr(ex, f), leads.c[f]) for f in PROFILE_FIELDS},
            "updated_at": ex.updated_at,
        },
    )


# One person, no external ids (a form fill): built once, with bind parameters.
UPSERT_ONE = _upsert({c.name: sa.bindparam(c.name, type_=c.type) for c in leads.c}).returning(
    *LEAD_COLUMNS, INSERTED, IDENTITIES
)
INSERT_SUBMISSIONS = submissions.insert()


def _upsert_many() -> Any:
    """Many people (one row each), no matter how many: one array per column, `unnest`ed. Built
    once: a multi-row VALUES compiles anew for every batch (a third of an import's CPU)."""
    arrays = [sa.bindparam(c.name, type_=ARRAY(c.type)) for c in leads.c]
    columns = (sa.column(c.name, c.type) for c in leads.c)
    rows = sa.func.unnest(*arrays).table_valued(*columns).render_derived("r")
    base = insert(leads).from_select([c.name for c in leads.c], sa.select(*rows.c))
    return _merging(base).returning(*LEAD_COLUMNS, INSERTED)


UPSERT_MANY = _upsert_many()


def _capture_one() -> sa.Select[Any]:
    """UPSERT_ONE and the submission's insert under the lead's id, one statement."""
    up = UPSERT_ONE.cte("up")
    fields = [name for name in SUBMISSION_FIELDS if name != "lead_id"]
    kept = submissions.insert().from_select(
        [*fields, "lead_id"],
        sa.select(
            *(sa.bindparam(f"s_{name}", type_=submissions.c[name].type) for name in fields),
            up.c.lead_id,
        ),
    )
    return sa.select(up).add_cte(kept.cte("kept"))


CAPTURE_ONE = _capture_one()


def _lead(row: sa.Row[Any]) -> Lead:
    return Lead(**{name: row._mapping[name] for name in LEAD_FIELDS})


def _lead_row(lead: Lead, now: datetime) -> dict[str, Any]:
    row = {name: getattr(lead, name) for name in LEAD_FIELDS}
    return row | {"created_at": now, "updated_at": now, "erased_at": None}


def _submission(row: sa.Row[Any]) -> Submission:
    return Submission(**{c.name: row._mapping[c.name] for c in SUBMISSION_COLUMNS})


class SqlRepository(ImportRecords):
    """Intake's state inside one transaction (an import's record: ImportRecords)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def upsert_leads(self, candidates: Sequence[Lead], now: datetime) -> dict[str, Upserted]:
        """Insert or merge leads by normalized email (one per email): a field the new
        submission leaves empty keeps its known value. email_normalized -> the merged lead."""
        if len(candidates) == 1 and not candidates[0].external_ids:
            row = (await self.conn.execute(UPSERT_ONE, _lead_row(candidates[0], now))).one()
            lead = replace(_lead(row), external_ids=row.identities)
            return {row.email_normalized: Upserted(lead, bool(row.inserted))}
        values = [_lead_row(lead, now) for lead in candidates]
        if len(values) == 1:
            stmt = _upsert(values[0]).returning(*LEAD_COLUMNS, INSERTED)
            rows = list(await self.conn.execute(stmt))
        else:
            # An import's batch (each person once): one array per column, one statement.
            columns = {c.name: [v[c.name] for v in values] for c in leads.c}
            rows = list(await self.conn.execute(UPSERT_MANY, columns))
        by_email = {c.email_normalized: c.external_ids for c in candidates}
        await identities.link(
            self.conn,
            [
                (r.lead_id, system, i)
                for r in rows
                for system, i in by_email[r.email_normalized].items()
            ],
            now,
        )
        ids = await identities.of(self.conn, [r.lead_id for r in rows])
        return {
            r.email_normalized: Upserted(
                replace(_lead(r), external_ids=ids.get(r.lead_id, {})), bool(r.inserted)
            )
            for r in rows
        }

    async def capture(self, candidate: Lead, kept: Submission, now: datetime) -> Upserted:
        """upsert_leads of one lead that brings no external id, and its submission kept under
        the merged lead's id: one statement."""
        params = _lead_row(candidate, now)
        params |= {f"s_{name}": getattr(kept, name) for name in SUBMISSION_FIELDS}
        row = (await self.conn.execute(CAPTURE_ONE, params)).one()
        lead = replace(_lead(row), external_ids=row.identities)
        return Upserted(lead, bool(row.inserted))

    async def find_by_external_ids(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Lead]:
        """(system, id) -> the live lead it identifies."""
        if not pairs:
            return {}
        t = lead_identities.c
        rows = await self.conn.execute(
            sa.select(t.system, t.external_id, *LEAD_COLUMNS)
            .join(leads, leads.c.lead_id == t.lead_id)
            .where(sa.tuple_(t.system, t.external_id).in_(list(pairs)), leads.c.erased_at.is_(None))
        )
        return {(r.system, r.external_id): _lead(r) for r in rows}

    async def readdress(self, lead_id: str, email: str, email_normalized: str) -> bool:
        """Give the lead a new email unless another lead has it; whether it did."""
        taken = sa.select(leads.c.lead_id).where(leads.c.email_normalized == email_normalized)
        done = await self.conn.execute(
            leads.update()
            .where(leads.c.lead_id == lead_id, ~sa.exists(taken))
            .values(email=email, email_normalized=email_normalized)
        )
        return bool(done.rowcount)

    async def insert_submissions(self, kept: Sequence[Submission]) -> None:
        """Keep the raw submissions."""
        if kept:
            rows = [{name: getattr(s, name) for name in SUBMISSION_FIELDS} for s in kept]
            await self.conn.execute(INSERT_SUBMISSIONS, rows)

    async def insert_activities(self, recorded: Sequence[RecordedActivity]) -> None:
        """Keep the activities."""
        if recorded:
            await self.conn.execute(activities.insert(), [asdict(a) for a in recorded])

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

    async def lock_lead(self, lead_id: str) -> Lead | None:
        """The lead, locked until the transaction ends."""
        row = (
            await self.conn.execute(
                sa.select(*LEAD_COLUMNS).where(leads.c.lead_id == lead_id).with_for_update()
            )
        ).first()
        return None if row is None else _lead(row)

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
            lead_identities.delete().where(lead_identities.c.lead_id == lead_id)
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

    async def lead_details(self, lead_id: str) -> LeadDetails | None:
        """The lead and its latest submissions."""
        row = (
            await self.conn.execute(sa.select(*LEAD_COLUMNS).where(leads.c.lead_id == lead_id))
        ).first()
        if row is None:
            return None
        rows = await self.conn.execute(
            sa.select(*SUBMISSION_COLUMNS)
            .where(submissions.c.lead_id == lead_id)
            .order_by(submissions.c.received_at.desc())
            .limit(SUBMISSIONS_SHOWN)
        )
        ids = await identities.of(self.conn, [lead_id])
        lead = replace(_lead(row), external_ids=ids.get(lead_id, {}))
        return LeadDetails(lead, [_submission(r) for r in rows])

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
        `ttl` (else None: a new key, or an expired one taken over)."""
        return await idempotency.claim(self.conn, caller, scope, key, fingerprint, now, ttl)

    async def store_idempotent_response(
        self,
        caller: str,
        scope: str,
        key: str,
        status_code: int,
        response: dict[str, Any],
        lead_id: str | None,
    ) -> None:
        await idempotency.store(self.conn, caller, scope, key, (status_code, response, lead_id))
