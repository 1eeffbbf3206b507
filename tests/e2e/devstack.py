"""`leadloop dev` as a real process for the tests: its own embedded broker and PostgreSQL in a
data dir, every service on a free port; its services found by pid, to be killed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from leadloop_cli.infra import die_with_parent, free_port
from leadloop_cli.services import SERVICES

from ..processes import ServiceProcess, Services
from ..waiting import wait_for

DEV_KEY = "llk_devstack_bootstrap_key_with_every_scope_00"
UP_LINE = "leadloop dev stack is up"
UP_TIMEOUT_S = 240.0
# What the dev stack would otherwise take from the caller's shell instead of its own parts.
OUTSIDE = (
    "DATABASE_URL",
    "LEADLOOP_DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "LEADLOOP_KAFKA_BOOTSTRAP_SERVERS",
    "LEADLOOP_TOPIC_PREFIX",
)


def dev_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of one dev stack: free ports for the broker and every service."""
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE}
    env.update(
        {
            "LEADLOOP_DEV_KAFKA_PORT": str(free_port()),
            "LEADLOOP_BOOTSTRAP_API_KEY": DEV_KEY,
            "LEADLOOP_KAFKA_SESSION_TIMEOUT_MS": "3000",
            "LEADLOOP_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "LEADLOOP_LOG_JSON": "false",
            "LEADLOOP_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "LEADLOOP_DELIVERY_INTERVAL_S": "1",
        }
    )
    for service in SERVICES:
        env[f"LEADLOOP_{service.name.upper()}_PORT"] = str(free_port())
    env.update(extra or {})
    return env


class DevProcess:
    """One `leadloop dev --data-dir <dir>` process and its output."""

    def __init__(self, data_dir: Path, env: dict[str, str], out: Path) -> None:
        self.data_dir = data_dir
        self.env = env
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DevProcess:
        argv = [sys.executable, "-m", "leadloop_cli.main", "dev", "--data-dir", str(self.data_dir)]
        with self.out.open("ab") as out:
            self.proc = subprocess.Popen(
                argv,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # a crashed test run leaves no stack behind
            )
        return self

    def output(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def up(self, *, times: int = 1) -> DevProcess:
        """Wait until the stack has said it is up (the `times`-th time in its output)."""

        async def said_up() -> bool:
            if not self.alive():
                raise AssertionError(f"leadloop dev exited:\n{self.output()[-4000:]}")
            return self.output().count(UP_LINE) >= times

        await wait_for(said_up, timeout_s=UP_TIMEOUT_S, what="the dev stack to come up")
        return self

    def exit_code(self, timeout_s: float = 120.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout_s)

    def stop(self) -> int | None:
        """SIGTERM, as Ctrl-C; returns the exit code."""
        if self.proc is None:
            return None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    @property
    def database_url(self) -> str:
        found = re.findall(r"export DATABASE_URL='([^']+)'", self.output())
        assert found, f"no DATABASE_URL in the output:\n{self.output()[-2000:]}"
        return str(found[-1])

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.env['LEADLOOP_DEV_KAFKA_PORT']}"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[f'LEADLOOP_{name.upper()}_PORT']}"

    def services(self) -> Services:
        """The stack's services as the fault tests' Services (their URLs and logs)."""
        found = Services(self.env, self.data_dir / "logs")
        for service in SERVICES:
            port = int(self.env[f"LEADLOOP_{service.name.upper()}_PORT"])
            log = self.data_dir / "logs" / f"{service.name}.log"
            found.running[service.name] = ServiceProcess(service.name, port, self.env, log)
        return found

    def service_pid(self, name: str) -> int | None:
        """The pid of the stack's running `name` process, if one runs."""
        assert self.proc is not None
        app = f"leadloop_{name}.bootstrap"
        for child in psutil.Process(self.proc.pid).children():
            try:
                if app in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                    return int(child.pid)
            except psutil.NoSuchProcess:
                continue
        return None

    async def ready(self, name: str) -> bool:
        """True when the service answers /readyz with 200."""
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                return (await client.get(self.url(name) + "/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    async def kill9_and_wait_restart(self, name: str) -> None:
        """kill -9 the service; wait for the stack to say so and for a new process to be ready."""
        pid = self.service_pid(name)
        assert pid is not None, f"{name} is not running"
        said = self.output().count(f"{name} exited with code -9")
        os.kill(pid, signal.SIGKILL)

        async def back() -> bool:
            new = self.service_pid(name)
            reported = self.output().count(f"{name} exited with code -9") > said
            return reported and new not in (None, pid) and await self.ready(name)

        await wait_for(back, timeout_s=120, what=f"{name} to be restarted after kill -9")
        assert self.alive(), f"the stack stopped after {name} was killed:\n{self.output()[-3000:]}"


async def stopped(dev: DevProcess) -> int | None:
    """Stop the stack off the event loop."""
    return await asyncio.to_thread(dev.stop)
