"""Waiting on a condition in the fault tests: poll it, and fail naming what never happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

POLL_S = 0.1


async def wait_for(
    condition: Callable[[], Awaitable[bool]],
    *,
    timeout_s: float = 60.0,
    what: str = "condition",
    detail: Callable[[], Awaitable[str]] | None = None,
) -> None:
    """Poll `condition` until true; fail naming `what` (and `detail()`) at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            extra = f"\n{await detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}{extra}")
        await asyncio.sleep(POLL_S * 2)


async def grows(measure: Callable[[], int], by: int, *, what: str, timeout_s: float = 60.0) -> None:
    """Wait until `measure()` is `by` more than it is now."""
    target = measure() + by

    async def grown() -> bool:
        return measure() >= target

    await wait_for(grown, timeout_s=timeout_s, what=what)
