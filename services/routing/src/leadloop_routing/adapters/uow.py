"""Routing's unit of work on Postgres; its metrics come from what it committed."""

from __future__ import annotations

from typing import ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncConnection

from leadloop_db.uow import CommittedObserver, UnitOfWork
from leadloop_routing import metrics
from leadloop_routing.adapters.connector_deliveries import SqlConnectorDeliveries
from leadloop_routing.adapters.read_once import SAVE_WEIGHTS
from leadloop_routing.adapters.repository import SqlRepository


class WeightsAtCommit(SqlRepository):
    """The repository of a unit of work: a team's round-robin weights are written once per
    transaction, by its commit (the last ones saved), not once per hand-off.

    Nothing can tell the difference: the team's lock (taken by `rr_states`, before any weights
    are read or saved) is held until that commit, so another transaction reads the team's
    weights only after it, as before; this one reads them as saved (`ReadOnce` keeps them); and
    a transaction that does not commit writes nothing, as before.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn)
        self.unsaved: dict[str, dict[str, int]] = {}

    async def save_rr_state(self, team: str, weights: dict[str, int]) -> None:
        """Keep the team's weights as saved; `save_weights` writes them (its lock is held)."""
        self.kept.weights[team] = dict(weights)
        self.unsaved[team] = dict(weights)

    async def save_weights(self) -> None:
        """Write the weights saved since the last call, one row per team, in team order."""
        if self.unsaved:
            rows = [{"team": team, "weights": w} for team, w in sorted(self.unsaved.items())]
            await self.conn.execute(SAVE_WEIGHTS, rows)
            self.unsaved = {}


class SqlUnitOfWork(UnitOfWork):
    """One transaction over routing's schema and its outbox."""

    observers: ClassVar[tuple[CommittedObserver, ...]] = (metrics.observe,)
    repo: WeightsAtCommit
    connectors: SqlConnectorDeliveries

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.repo = WeightsAtCommit(self.conn)
        self.connectors = SqlConnectorDeliveries(self.conn)
        return self

    async def flush(self) -> None:
        """The round-robin weights the transaction saved, written at its commit."""
        await self.repo.save_weights()
