"""Decay runs on time: re-score leads whose interest is due to cross a threshold.

Each round claims due leads with FOR UPDATE SKIP LOCKED, so any number of replicas can run it
and no lead is re-scored by two of them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.agreements import NoAgreement
from leadloop_scoring.handlers import Scoring

log = logging.getLogger(__name__)
CAUSE = "leadloop.scoring.decay"


class DecayScheduler:
    def __init__(
        self,
        scoring: Scoring,
        uow_factory: Callable[[], SqlUnitOfWork],
        *,
        interval_s: float,
        batch: int,
    ) -> None:
        self.scoring = scoring
        self.uow_factory = uow_factory
        self.interval_s = interval_s
        self.batch = batch
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Run a round now (after an agreement was published with rescore)."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                while await self.run_once() == self.batch and not self._stopping.is_set():
                    pass
            except (DBAPIError, OSError, NoAgreement) as exc:
                log.warning("decay round failed, next round retries: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()

    async def run_once(self, now: datetime | None = None) -> int:
        """One round in one transaction: claim due leads, re-score them. Returns the count."""
        now = now or datetime.now(UTC)
        async with self.uow_factory() as uow:
            due = await uow.repo.due_for_rescore(now, self.batch)
            for lead_id in due:
                lead = await uow.repo.lead_for_update(lead_id)
                if lead is not None:
                    await self.scoring.rescore(uow, lead, cause=CAUSE, now=now)
            await uow.commit()
        return len(due)
