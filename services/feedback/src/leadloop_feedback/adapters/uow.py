"""Feedback's unit of work on Postgres, and the metrics it derives from what it committed."""

from __future__ import annotations

from leadloop_db.uow import UnitOfWork
from leadloop_feedback import metrics


class SqlUnitOfWork(UnitOfWork):
    """One transaction over feedback's schema and its outbox."""

    async def commit(self) -> None:
        events = [event for _, event in self.events]
        await super().commit()
        metrics.observe(events)
