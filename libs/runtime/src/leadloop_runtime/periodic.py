"""One periodic worker type: run a step, wait an interval or until woken, until stopped.

A step failing with an expected error (the database away, by default) is logged and the next
round retries; any other error ends `run`, so the task supervisor reports it and the process
restarts. With `batch`, a step that returned a full batch runs again at once: there is more due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
Step = Callable[[], Awaitable[int]]
EXPECTED: tuple[type[BaseException], ...] = (DBAPIError, OSError)


class Periodic:
    """A named background loop over `step`, woken early by `wake()`, ended by `stop()`."""

    def __init__(
        self,
        name: str,
        step: Step,
        interval_s: float,
        *,
        batch: int | None = None,
        retry_on: tuple[type[BaseException], ...] = EXPECTED,
    ) -> None:
        self.name = name
        self.step = step
        self.interval_s = interval_s
        self.batch = batch
        self.retry_on = retry_on
        self.steps = 0
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        """Finish the round in hand, then return from `run`."""
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Run a round now instead of at the end of the interval."""
        self._wake.set()

    async def run(self) -> None:
        """Rounds until stopped; an unexpected failure propagates to the supervisor."""
        while not self._stopping.is_set():
            # Cleared before the round: a wake arriving during it runs another round.
            self._wake.clear()
            try:
                await self._round()
            except self.retry_on as exc:
                log.warning("%s round failed, the next one retries: %r", self.name, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)

    async def _round(self) -> None:
        while True:
            done = await self.step()
            self.steps += 1
            if self.batch is None or done < self.batch or self._stopping.is_set():
                return
