"""Routing's unit of work on Postgres, and the metrics it derives from what it committed."""

from __future__ import annotations

from typing import Self

from leadloop_db.uow import UnitOfWork
from leadloop_routing import metrics
from leadloop_routing.adapters.repository import SqlRepository


class SqlUnitOfWork(UnitOfWork):
    """One transaction over routing's schema and its outbox."""

    repo: SqlRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.repo = SqlRepository(self.conn)
        return self

    async def commit(self) -> None:
        events = [event for _, event in self.events]
        await super().commit()
        metrics.observe(events)
