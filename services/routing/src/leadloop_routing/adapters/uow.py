"""Routing's unit of work on Postgres; its metrics come from what it committed."""

from __future__ import annotations

from typing import ClassVar, Self

from leadloop_db.uow import CommittedObserver, UnitOfWork
from leadloop_routing import metrics
from leadloop_routing.adapters.connector_deliveries import SqlConnectorDeliveries
from leadloop_routing.adapters.repository import SqlRepository


class SqlUnitOfWork(UnitOfWork):
    """One transaction over routing's schema and its outbox."""

    observers: ClassVar[tuple[CommittedObserver, ...]] = (metrics.observe,)
    repo: SqlRepository
    connectors: SqlConnectorDeliveries

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.repo = SqlRepository(self.conn)
        self.connectors = SqlConnectorDeliveries(self.conn)
        return self
