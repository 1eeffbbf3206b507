"""Background tasks that cannot die silently.

A service's lifespan starts its loops (outbox relay, consumer, workers) through the app's
`TaskSupervisor`. A loop that raises, or returns while the service is not stopping, has met
something nobody handled: it is logged at CRITICAL with its traceback, counted in
`leadloop_background_task_failures_total`, reported by `/healthz` and `/readyz` (503), and the
process is asked to stop, the way an orchestrator would (SIGTERM), so uvicorn drains and Docker's
restart policy or Kubernetes starts a fresh process.

The SIGTERM waits `stop_delay_s` (LEADLOOP_TASK_FAILURE_STOP_DELAY_S, 20 s by default): one
Prometheus scrape (every 15 s) so the counter is recorded and the alert can fire; a process that
exits at once is never scraped. The exit status stays uvicorn's after a SIGTERM (0 as a
container's PID 1, killed by SIGTERM elsewhere): uvicorn logs and swallows an exception raised
from the lifespan shutdown, so a failure code would mean exiting past uvicorn's own shutdown.
Docker's `restart: unless-stopped` and a Deployment's `restartPolicy: Always` restart either way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from leadloop_platform import metrics

log = logging.getLogger(__name__)


def terminate_process() -> None:
    """Ask this process to stop as an orchestrator would: SIGTERM, so uvicorn drains first."""
    os.kill(os.getpid(), signal.SIGTERM)


class TaskSupervisor:
    """Starts a service's background tasks; an unexpected end makes the service stop."""

    def __init__(
        self,
        service: str,
        *,
        stop_delay_s: float = 0.0,
        stop_process: Callable[[], None] = terminate_process,
    ) -> None:
        self.service = service
        self.stop_delay_s = stop_delay_s
        # Replaceable (tests do), so that a failure need not signal the whole process.
        self.stop_process = stop_process
        self.failures: dict[str, str] = {}
        self._stopping = False
        self._stop_timer: asyncio.TimerHandle | None = None

    def start(self, name: str, loop: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `loop` as the task `name`. The task ends quietly: awaiting it never raises."""
        # The series exists at 0 from the start, so a first failure is an increase.
        metrics.BACKGROUND_TASK_FAILURES.labels(self.service, name)
        return asyncio.create_task(self._supervise(name, loop), name=name)

    def stopping(self) -> None:
        """The service is shutting down: a task returning from now on is done, not dead."""
        self._stopping = True
        if self._stop_timer is not None:
            self._stop_timer.cancel()  # already stopping: no second signal

    def problem(self) -> str | None:
        """What /healthz and /readyz report: the dead tasks and why, or None."""
        if not self.failures:
            return None
        dead = "; ".join(f"{name}: {why}" for name, why in self.failures.items())
        return f"background task died, the service is stopping to restart: {dead}"[:500]

    async def _supervise(self, name: str, loop: Coroutine[Any, Any, None]) -> None:
        # CancelledError is not an Exception: a cancelled task stays cancelled, not failed.
        try:
            await loop
        except Exception as exc:  # noqa: BLE001 - reported, counted and ends the process
            self._failed(name, f"{type(exc).__name__}: {exc}", exc)
            return
        if not self._stopping:
            self._failed(name, "returned while the service was running", None)

    def _failed(self, name: str, why: str, exc: BaseException | None) -> None:
        self.failures[name] = why[:300]
        log.critical(
            "background task %s died (%s); %s stops so that it is restarted",
            name,
            why,
            self.service,
            exc_info=exc,
        )
        metrics.BACKGROUND_TASK_FAILURES.labels(self.service, name).inc()
        if self._stopping or self._stop_timer is not None:
            return  # stopping already, or asked to
        self._stop_timer = asyncio.get_running_loop().call_later(
            self.stop_delay_s, self.stop_process
        )
