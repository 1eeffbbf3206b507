"""Decay runs on time: each round hands `RescoreDueLeads` to the transaction runner.

Each round claims due leads with FOR UPDATE SKIP LOCKED, so any number of replicas can run it
and no lead is re-scored by two of them at once; a replica runs `parallel` such transactions at
a time (one scores while the database serves another). The runtime's `Periodic` runs the rounds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from leadloop_runtime import Periodic, Transactions
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.domain.agreements import NoAgreement
from leadloop_scoring.handlers import Context, RescoreDueLeads, rescore_due_leads

# Expected while running: the database away, no agreement published yet.
RETRIED = (DBAPIError, OSError, NoAgreement)
# Batches a replica re-scores at once: one is scored while the database serves the other.
PARALLEL = 2


class DecayScheduler:
    """Re-scores due leads, `batch` at a time in each of `parallel` transactions per round."""

    def __init__(
        self,
        transactions: Transactions[SqlUnitOfWork],
        context: Context,
        *,
        interval_s: float,
        batch: int,
        parallel: int = PARALLEL,
    ) -> None:
        self.transactions = transactions
        self.context = context
        self.batch = batch
        self.parallel = parallel
        # Full batches run again at once: more leads are due.
        self.worker = Periodic(
            "decay", self.run_once, interval_s, batch=batch * parallel, retry_on=RETRIED
        )

    def wake(self) -> None:
        """Run a round now (after an agreement was published with rescore)."""
        self.worker.wake()

    async def run_once(self, now: datetime | None = None) -> int:
        """One round: `parallel` transactions, each claiming due leads and re-scoring them.
        Returns how many were re-scored."""
        command = RescoreDueLeads(now or datetime.now(UTC), self.batch)
        rounds = [
            self.transactions.run(rescore_due_leads, command, self.context)
            for _ in range(self.parallel)
        ]
        return sum(await asyncio.gather(*rounds))
