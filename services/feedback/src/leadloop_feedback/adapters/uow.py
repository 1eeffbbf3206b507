"""Feedback's unit of work on Postgres: the shared one plus feedback's repository (whose pending
writes it flushes before committing); its metrics come from what it committed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self

from leadloop_db.uow import CommittedObserver, UnitOfWork
from leadloop_events.envelope import CloudEvent
from leadloop_feedback import metrics
from leadloop_feedback.adapters.repository import SqlRepository


class SqlUnitOfWork(UnitOfWork):
    """One transaction over feedback's schema and its outbox."""

    observers: ClassVar[tuple[CommittedObserver, ...]] = (metrics.observe,)
    repo: SqlRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.repo = SqlRepository(self.conn)
        return self

    async def prepare(self, events: Sequence[CloudEvent]) -> None:
        """Lock the batch's leads in lead order before any handler writes: each topic's batches
        write the same leads' rows (a capture, its scores, its hand-off, its touches), and in
        event order two of them deadlocked."""
        await self.repo.lock_leads({event.subject for event in events if event.subject})

    async def flush(self) -> None:
        """The repository's pending writes (a batch's journey lines, scores...), written at
        commit before the outbox."""
        await self.repo.flush()
