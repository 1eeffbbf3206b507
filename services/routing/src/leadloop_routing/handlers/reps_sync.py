"""The owner sync's transaction: the reps follow one CRM's owners (domain.reps_sync decides)."""

from __future__ import annotations

from leadloop_routing.adapters.ports import RoutingUnitOfWork
from leadloop_routing.domain.commands import SyncReps
from leadloop_routing.domain.reps_sync import RepsSyncPlan, plan_reps_sync


async def sync_reps(uow: RoutingUnitOfWork, command: SyncReps) -> RepsSyncPlan:
    """Create, update and deactivate reps as the CRM's owners say; never delete one."""
    # Locked until commit: two replicas' syncs, or a sync and an admin's PUT, take turns.
    reps = await uow.repo.all_reps(for_update=True)
    plan = plan_reps_sync(command.system, command.owners, reps, command.teams)
    for rep in plan.changed:
        await uow.repo.save_rep(rep, command.at)
    return plan
