"""CPU seconds and peak memory of each process of the run (psutil), and a py-spy profile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from .stats import by_package, collapse_speedscope, top_functions

MIB = 1024 * 1024


@dataclass
class Watched:
    """One named process, or a process and its children (PostgreSQL's backends).

    Memory of a tree is the sum of PSS (shared buffers counted once); of one process, its RSS.
    """

    name: str
    root: psutil.Process
    tree: bool = False
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    procs: dict[int, psutil.Process] = field(default_factory=dict)
    peak_bytes: int = 0

    def sample(self) -> None:
        members = [self.root]
        if self.tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                members += self.root.children(recursive=True)
        memory = 0
        for proc in members:
            proc = self.procs.setdefault(proc.pid, proc)  # psutil caches per object
            try:
                times = proc.cpu_times()
                self.cpu_by_pid[proc.pid] = times.user + times.system
                memory += proc.memory_full_info().pss if self.tree else proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue  # an exited backend keeps its last CPU figure
        self.peak_bytes = max(self.peak_bytes, memory)

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu_by_pid.values())


class Monitor:
    """Samples every watched process twice a second; snapshots mark phase boundaries."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.watched: dict[str, Watched] = {}
        self._lock = threading.Lock()  # samples come from a worker thread and the event loop

    def watch(self, name: str, pid: int, *, tree: bool = False) -> None:
        self.watched[name] = Watched(name, psutil.Process(pid), tree)

    def cpu(self) -> dict[str, float]:
        """Cumulative CPU seconds per name, sampled now."""
        with self._lock:
            for w in self.watched.values():
                w.sample()
            return {name: w.cpu_s for name, w in self.watched.items()}

    async def run(self) -> None:
        while True:
            await asyncio.to_thread(self.cpu)
            await asyncio.sleep(self.interval_s)

    def report(self, baseline: dict[str, float]) -> dict[str, dict[str, Any]]:
        """CPU seconds since `baseline` and peak memory (MiB) per watched process."""
        now = self.cpu()
        return {
            name: {
                "cpu_s": round(now[name] - baseline.get(name, 0.0), 1),
                "peak_mib": round(w.peak_bytes / MIB, 1),
                "memory": "pss, summed over its processes" if w.tree else "rss",
            }
            for name, w in self.watched.items()
        }


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """CPU seconds spent between two `Monitor.cpu()` snapshots, per name."""
    return {name: round(after[name] - before.get(name, 0.0), 2) for name in after}


async def py_spy(pid: int, seconds: float, out: Path) -> dict[str, Any]:
    """`py-spy record` on `pid` for `seconds` into `out` (speedscope JSON), and its summary."""
    exe = Path(sys.executable).with_name("py-spy")
    binary = str(exe) if exe.exists() else shutil.which("py-spy")
    if binary is None:
        return {"error": "py-spy is not installed (it is a dev dependency: make bootstrap)"}
    argv = ["record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    argv += ["--rate", "100", "--format", "speedscope", "--output", str(out)]
    proc = await asyncio.create_subprocess_exec(
        binary, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        # Attaching needs ptrace rights (root, or CAP_SYS_PTRACE, or ptrace_scope 0).
        return {"error": output.decode(errors="replace")[-1500:]}
    collapsed = collapse_speedscope(json.loads(await asyncio.to_thread(out.read_bytes)))
    total, self_top, inclusive_top = top_functions(collapsed, 12, inclusive_package="leadloop")
    return {
        "file": str(out),
        "samples": total,
        "by_package_self": by_package(collapsed, limit=10),
        "top_self": self_top,
        "top_inclusive": inclusive_top,
    }
