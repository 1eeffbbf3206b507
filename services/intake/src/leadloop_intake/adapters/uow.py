"""Intake's unit of work on Postgres: the shared one plus intake's repository."""

from __future__ import annotations

from typing import Self

from leadloop_db.uow import UnitOfWork
from leadloop_intake.adapters.repository import SqlRepository


class SqlUnitOfWork(UnitOfWork):
    """One transaction over intake's schema and its outbox."""

    repo: SqlRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.repo = SqlRepository(self.conn)
        return self
