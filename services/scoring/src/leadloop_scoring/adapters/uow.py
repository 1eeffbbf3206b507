"""Scoring's unit of work on Postgres (its metrics come from what it committed), and the
`ScoringUnitOfWork` its handlers are written against (an in-memory fake satisfies it too)."""

from __future__ import annotations

from typing import ClassVar, Protocol, Self

from leadloop_db.uow import CommittedObserver, UnitOfWork
from leadloop_events.envelope import CloudEvent
from leadloop_scoring import metrics
from leadloop_scoring.adapters.repository import Repository, SqlRepository


class ScoringUnitOfWork(Protocol):
    """The transaction a handler works in: state through `repo`, events through `publish`."""

    @property
    def repo(self) -> Repository:
        """Scoring's state inside this transaction."""
        ...

    def publish(self, topic: str, event: CloudEvent) -> None:
        """Record an event to be written to the outbox at commit."""
        ...


class SqlUnitOfWork(UnitOfWork):
    """One transaction over scoring's schema and its outbox."""

    observers: ClassVar[tuple[CommittedObserver, ...]] = (metrics.observe,)
    repo: SqlRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.repo = SqlRepository(self.conn)
        return self
