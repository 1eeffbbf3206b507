"""The owner sync, as the periodic worker and `leadloop reps sync` run it: read a CRM's owners
(no transaction open), then one short transaction makes the reps follow them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from leadloop_connectors.http import ConnectorError
from leadloop_db.uow import Transactions
from leadloop_routing.adapters.crm_owners import OwnerReader, read_owners
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.config import Settings
from leadloop_routing.domain.commands import SyncReps
from leadloop_routing.domain.reps_sync import RepsSyncPlan, TeamMapping
from leadloop_routing.entrypoints.workers import RETRIED
from leadloop_routing.handlers.reps_sync import sync_reps
from leadloop_runtime import Periodic

log = logging.getLogger(__name__)
# A CRM away, limited or refusing the token: logged, and the next round tries again.
SYNC_RETRIED = (*RETRIED, ConnectorError)


class RepsSync:
    """Makes routing's reps follow the owners of the configured CRMs."""

    def __init__(
        self,
        transactions: Transactions[SqlUnitOfWork],
        settings: Settings,
        read: OwnerReader = read_owners,
    ) -> None:
        self.transactions, self.settings, self.read = transactions, settings, read
        self.teams = TeamMapping(dict(settings.reps_team_map), settings.reps_default_team)

    async def sync(self, system: str, now: datetime | None = None) -> RepsSyncPlan:
        """One CRM's owners into reps; what changed."""
        owners = tuple(await self.read(self.settings, system))
        command = SyncReps(system, owners, self.teams, now or datetime.now(UTC))
        plan = await self.transactions.run(sync_reps, command)
        for skipped in plan.skipped:
            log.warning("%s owner %s is not a rep: %s", system, skipped.owner_id, skipped.reason)
        log.info(
            "%s owners synced: %d created, %d updated, %d deactivated, %d skipped",
            system,
            len(plan.created),
            len(plan.updated),
            len(plan.deactivated),
            len(plan.skipped),
        )
        return plan

    async def run_once(self) -> int:
        """Sync every configured CRM once; how many reps changed."""
        return sum([len((await self.sync(system)).changed) for system in self.settings.crms()])


def reps_sync_worker(
    transactions: Transactions[SqlUnitOfWork], settings: Settings
) -> tuple[RepsSync, Periodic | None]:
    """The sync and its loop; no loop when no CRM is configured or the interval is 0."""
    sync = RepsSync(transactions, settings)
    if not settings.crms() or settings.reps_sync_interval_s == 0:
        return sync, None
    loop = Periodic(
        "reps-sync", sync.run_once, settings.reps_sync_interval_s, retry_on=SYNC_RETRIED
    )
    return sync, loop
