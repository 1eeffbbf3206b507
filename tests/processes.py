"""The services as real `uvicorn --factory` processes (end-to-end and fault tests): started by
name, each killable with kill -9 and restartable on the same port and environment."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from leadloop_cli.infra import die_with_parent, free_port, log_tail
from leadloop_cli.services import server_argv

from .waiting import POLL_S

READY_TIMEOUT_S = 90.0
REQUEST_LINE = re.compile(r'HTTP/1\.1" \d{3}|HTTP Request: ')


@dataclass
class ServiceProcess:
    """One service as `uvicorn --factory`: kill -9 it, restart it on the same port and env."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    ready_s: list[float] = field(default_factory=list)  # spawn to ready, per start

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> None:
        """Start the process (without waiting for it to be ready)."""
        assert not self.alive(), f"{self.name} is already running"
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== start #{self.starts} of {self.name} =====\n".encode())
            self.proc = subprocess.Popen(
                server_argv(
                    f"leadloop_{self.name}.bootstrap:create_app",
                    "127.0.0.1",
                    self.port,
                    "--no-access-log",
                ),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # a crashed test run leaves no service behind
            )

    async def start(self) -> ServiceProcess:
        """Spawn and wait until /readyz answers 200."""
        started = time.monotonic()
        self.spawn()
        await self.wait_ready()
        self.ready_s.append(round(time.monotonic() - started, 1))
        return self

    async def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll /readyz until 200; fail with the log's tail if it dies or never gets ready."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=self.url, timeout=5.0) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    raise AssertionError(f"{self.name} exited:\n{log_tail(self.log, 40)}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                await asyncio.sleep(POLL_S)
        raise AssertionError(f"{self.name} not ready in {timeout_s} s:\n{log_tail(self.log, 40)}")

    def kill9(self) -> None:
        """SIGKILL: no drain, no commit, no goodbye."""
        assert self.proc is not None and self.alive(), f"{self.name} is not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    async def restart(self) -> None:
        """Start again on the same port with the same environment; wait until ready."""
        await self.start()

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (graceful drain), then SIGKILL after `timeout_s`."""
        if self.proc is None or not self.alive():
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class Services:
    """The services of one test, by name; all stopped at teardown. `principals` holds, per
    service name, the settings that make it connect to the broker as its own principal."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        principals: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.env = env
        self.log_dir = log_dir
        self.principals = principals or {}
        self.running: dict[str, ServiceProcess] = {}

    async def start(self, name: str, extra_env: dict[str, str] | None = None) -> ServiceProcess:
        """Start service `name` (intake, scoring, routing, feedback) on a free port."""
        key = name
        n = 2
        while key in self.running:  # a second replica of the same service
            key, n = f"{name}-{n}", n + 1
        service = ServiceProcess(
            name=name,
            port=free_port(),
            env={**self.env, **self.principals.get(name, {}), **(extra_env or {})},
            log=self.log_dir / f"{key}.log",
        )
        self.running[key] = service
        return await service.start()

    def __getitem__(self, key: str) -> ServiceProcess:
        return self.running[key]

    def __iter__(self) -> Iterator[ServiceProcess]:
        return iter(list(self.running.values()))

    def stop_all(self) -> None:
        for service in self:
            service.stop()

    def logs(self, lines: int = 30) -> str:
        """The tail of every service's log without request lines, for failure messages."""
        return "\n".join(f"--- {s.name} ({s.log}) ---\n{quiet_tail(s.log, lines)}" for s in self)


def quiet_tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a log that are not one request each (access log, httpx)."""
    if not path.exists():
        return ""
    text = path.read_text(errors="replace")
    kept = [line for line in text.splitlines() if not REQUEST_LINE.search(line)]
    return "\n".join(kept[-lines:])
