"""The dev stack's children, and their restarter: compose's `restart: unless-stopped`.

A service that exits (a crash, kill -9, or the task supervisor stopping it on purpose) is
started again after a pause that doubles from 1 s up to 30 s, and drops back to 1 s once the
service has stayed up for a minute. Only the stack stopping stops it for good.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from leadloop_cli.infra import die_with_parent

STOP_TIMEOUT_S = 20.0
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
HEALTHY_AFTER_S = 60.0  # up this long: the next exit starts the backoff from the beginning


@dataclass
class Child:
    """A process the stack started, how to start it again, and its restart state."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] = field(init=False)
    log: IO[bytes] = field(init=False)
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = FIRST_BACKOFF_S
    restart_at: float | None = None  # set while it is down, waiting for its restart

    def start(self) -> None:
        """Start the process in its own session (Ctrl-C reaches only the stack)."""
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            env=dict(self.env),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # dies with the stack, even when the stack is killed
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def running(self) -> bool:
        return self.proc.poll() is None

    def schedule_restart(self, now: float) -> str:
        """Plan the restart after an exit; returns the line that says so."""
        self.log.close()
        if now - self.started_at >= HEALTHY_AFTER_S:
            self.backoff_s = FIRST_BACKOFF_S
        delay = self.backoff_s
        self.backoff_s = min(self.backoff_s * 2, MAX_BACKOFF_S)
        self.restart_at = now + delay
        at = datetime.now().astimezone().strftime("%H:%M:%S")
        return (
            f"{at} {self.name} exited with code {self.proc.returncode}; restarting it in "
            f"{delay:g} s (log {self.log_path})"
        )


def spawn(name: str, argv: list[str], env: Mapping[str, str], log_path: Path) -> Child:
    """Start a child, dying with the stack."""
    child = Child(name, argv, env, log_path)
    child.start()
    return child


def supervise(children: list[Child], say: Callable[[str], None]) -> None:
    """One round: plan a restart for each child that exited, start those whose pause is over."""
    now = time.monotonic()
    for child in children:
        if child.restart_at is None and not child.running():
            say(child.schedule_restart(now))
        elif child.restart_at is not None and now >= child.restart_at:
            child.restarts += 1
            say(f"restarting {child.name} (restart {child.restarts})")
            child.start()


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM all at once, wait for them to drain, SIGKILL what is left."""
    for child in children:
        if child.running():
            child.proc.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"  {child.name} did not stop within {timeout:.0f} s; killing it", flush=True)
            child.proc.kill()
            child.proc.wait()
        child.log.close()
