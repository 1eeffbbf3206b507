"""One dev stack per data dir: an exclusive lock file naming the stack that holds it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class StackAlreadyRunning(RuntimeError):
    """Another dev stack holds this data dir."""


class DevLock:
    """`<data dir>/dev.pid`, locked (flock) for as long as this stack runs.

    The kernel drops the lock when the process dies, however it dies: a stale file never
    blocks a start, and a live stack always does.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "dev.pid"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise StackAlreadyRunning naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a+")
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "unknown"
            file.close()
            raise StackAlreadyRunning(
                f"a dev stack is already running in this clone (pid {holder}); stop it first"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file

    def release(self) -> None:
        """Drop the lock (closing the file releases it)."""
        if self._file is not None:
            self._file.close()
            self._file = None
