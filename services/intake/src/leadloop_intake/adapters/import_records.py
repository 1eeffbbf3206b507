"""An import's record in `intake.imports`: the counts its batches add, its failure, its state.
Part of `SqlRepository` (the `Repository` port's import methods)."""

from __future__ import annotations

from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_intake.adapters.tables import imports
from leadloop_intake.domain.lead import ImportProgress, ImportStatus


class ImportRecords:
    """The import statements of `SqlRepository` (its connection is `conn`)."""

    conn: AsyncConnection

    async def record_import(self, progress: ImportProgress) -> bool:
        """Add a batch's counts to its import's record (created by the first batch); False,
        and nothing changed, when the import already failed."""
        stmt = insert(imports).values(asdict(progress))
        t, new = imports.c, stmt.excluded
        done = await self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.import_id],
                set_={
                    "rows_accepted": t.rows_accepted + new.rows_accepted,
                    "rows_rejected": t.rows_rejected + new.rows_rejected,
                    "new_leads": t.new_leads + new.new_leads,
                    "errors": t.errors.op("||")(new.errors),
                    "finished_at": new.finished_at,
                    "failure": new.failure,
                    "updated_at": sa.func.coalesce(new.updated_at, t.updated_at),
                    "last_line": sa.func.coalesce(new.last_line, t.last_line),
                },
                where=t.failure.is_(None),
            ).returning(t.import_id)
        )
        return done.first() is not None

    async def fail_stale_import(self, seen: ImportStatus, failure: str) -> bool:
        """Fail the import as `seen`, unless a batch was written since (its writer lives)."""
        t = imports.c
        done = await self.conn.execute(
            imports.update()
            .where(
                t.import_id == seen.import_id,
                t.failure.is_(None),
                t.finished_at.is_(None),
                t.updated_at.is_not_distinct_from(seen.updated_at),
                t.last_line.is_not_distinct_from(seen.last_line),
            )
            .values(failure=failure)
        )
        return bool(done.rowcount)

    async def import_status(self, import_id: str) -> ImportStatus | None:
        """The import's record as it stands."""
        row = (
            await self.conn.execute(sa.select(imports).where(imports.c.import_id == import_id))
        ).first()
        return None if row is None else ImportStatus(**row._mapping)
