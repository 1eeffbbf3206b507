"""Routing's unit of work on Postgres, and the metrics it derives from what it committed."""

from __future__ import annotations

from typing import Self

from prometheus_client import Histogram

from leadloop_db.uow import UnitOfWork
from leadloop_routing import metrics
from leadloop_routing.adapters.repository import SqlRepository


class SqlUnitOfWork(UnitOfWork):
    """One transaction over routing's schema and its outbox."""

    repo: SqlRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.repo = SqlRepository(self.conn)
        self.observations: list[tuple[Histogram, str | None, float]] = []
        return self

    def observe(self, histogram: Histogram, label: str | None, value: float) -> None:
        """A measurement that counts only if this transaction commits."""
        self.observations.append((histogram, label, value))

    async def commit(self) -> None:
        events = [event for _, event in self.events]
        pending, self.observations = self.observations, []
        await super().commit()
        metrics.observe(events)
        for histogram, label, value in pending:
            (histogram.labels(label) if label is not None else histogram).observe(value)
