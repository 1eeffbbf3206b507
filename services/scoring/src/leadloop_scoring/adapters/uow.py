"""Scoring's unit of work on Postgres, and the metrics it derives from what it committed."""

from __future__ import annotations

from typing import Self

from leadloop_db.uow import UnitOfWork
from leadloop_scoring import metrics
from leadloop_scoring.adapters.repository import SqlRepository


class SqlUnitOfWork(UnitOfWork):
    """One transaction over scoring's schema and its outbox."""

    repo: SqlRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.repo = SqlRepository(self.conn)
        return self

    async def commit(self) -> None:
        events = [event for _, event in self.events]
        await super().commit()
        # Counted from committed facts, so a rolled-back attempt is never counted.
        metrics.observe(events)
