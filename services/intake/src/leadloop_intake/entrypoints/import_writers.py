"""The background imports a process is writing, stopped in order when the process stops."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from leadloop_runtime import Periodic


class ImportWriters(Periodic):
    """This process's import writers, as one of the service's workers.

    Being a worker, it is stopped by the runtime's shutdown (SIGTERM, a deploy) while the
    database and the relay still run: `stopping` tells each writer to end after its batch in
    hand and fail its import, naming the line it reached; `run` returns once they all did.
    (The runtime has no shutdown hook besides its workers' `stop`.)
    """

    def __init__(self) -> None:
        super().__init__("import-writers", self._idle, interval_s=3600.0)
        self.stopping = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    async def _idle() -> int:
        return 0

    def start(self, writing: Coroutine[Any, Any, None]) -> None:
        """Run a writer, kept here (a task only the loop holds may be collected)."""
        task = asyncio.create_task(writing)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def stop(self) -> None:
        """Ask every writer to stop after its batch in hand."""
        self.stopping.set()
        super().stop()

    async def run(self) -> None:
        """Idle until stopped, then wait for the writers to end their imports."""
        await super().run()
        if self.tasks:
            await asyncio.wait(set(self.tasks))
