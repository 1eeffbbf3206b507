"""Decay runs on time: re-score leads whose interest is due to cross a threshold.

Each round claims due leads with FOR UPDATE SKIP LOCKED, so any number of replicas can run it
and no lead is re-scored by two of them at once. The runtime's `Periodic` runs the rounds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from leadloop_runtime import Periodic, Transactions
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.agreements import NoAgreement
from leadloop_scoring.handlers import Scoring

CAUSE = "leadloop.scoring.decay"
# Expected while running: the database away, no agreement published yet.
RETRIED = (DBAPIError, OSError, NoAgreement)


class DecayScheduler:
    """Re-scores due leads, `batch` at a time, in one transaction per round."""

    def __init__(
        self,
        scoring: Scoring,
        transactions: Transactions[SqlUnitOfWork],
        *,
        interval_s: float,
        batch: int,
    ) -> None:
        self.scoring = scoring
        self.transactions = transactions
        self.batch = batch
        # A full batch runs again at once: more leads are due.
        self.worker = Periodic("decay", self.run_once, interval_s, batch=batch, retry_on=RETRIED)

    def wake(self) -> None:
        """Run a round now (after an agreement was published with rescore)."""
        self.worker.wake()

    async def run_once(self, now: datetime | None = None) -> int:
        """One round in one transaction: claim due leads, re-score them. Returns the count."""
        return await self.transactions.run(self.rescore_due, now or datetime.now(UTC))

    async def rescore_due(self, uow: SqlUnitOfWork, now: datetime) -> int:
        """Re-score the leads due at `now`, at most `batch` of them."""
        due = await uow.repo.due_for_rescore(now, self.batch)
        for lead_id in due:
            lead = await uow.repo.lead_for_update(lead_id)
            if lead is not None:
                await self.scoring.rescore(uow, lead, cause=CAUSE, now=now)
        return len(due)
