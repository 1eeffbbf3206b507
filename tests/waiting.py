"""Waiting on a condition in every test layer: poll it, and fail naming what never happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

POLL_S = 0.05
# Polls slow down to this, so a long wait on a heavy query (the fault tests) does not load
# the machine it measures.
MAX_POLL_S = 0.2


async def wait_for(
    condition: Callable[[], Awaitable[bool]],
    *,
    timeout_s: float = 20.0,
    what: str = "condition",
    detail: Callable[[], Awaitable[str]] | None = None,
) -> None:
    """Poll `condition` until true; fail naming `what` (and `detail()`) at the deadline."""
    deadline, pause = time.monotonic() + timeout_s, POLL_S
    while not await condition():
        if time.monotonic() > deadline:
            extra = f"\n{await detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}{extra}")
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, MAX_POLL_S)


async def grows(measure: Callable[[], int], by: int, *, what: str, timeout_s: float = 60.0) -> None:
    """Wait until `measure()` is `by` more than it is now."""
    target = measure() + by

    async def grown() -> bool:
        return measure() >= target

    await wait_for(grown, timeout_s=timeout_s, what=what)
