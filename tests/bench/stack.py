"""The benches' shared set-up: a broker and PostgreSQL (started here unless the environment names
them), a bench database migrated, a topic prefix and its topics, the services' environment, the
services as processes on free ports, and all of it torn down at the end; and a result written
as JSON.

    async with bench_stack(workdir, monitor, services=("intake", "scoring")) as stack:
        ...  # stack.db_url, stack.bootstrap, stack.prefix, stack.env, stack.urls["intake"]
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from leadloop_cli.infra import EmbeddedPostgres, create_database, free_port
from leadloop_cli.services import SERVICES, migrate_all
from leadloop_cli.supervisor import Child, spawn, stop_children
from leadloop_messaging.provisioning import ensure_topics, topic_plan

from . import brokers
from .procs import Monitor

KEY = "llk_bench_bootstrap_key_with_every_scope_00"
AUTO = "auto"  # the broker KAFKA_BOOTSTRAP_SERVERS names, else the embedded one
READY_TIMEOUT_S = 90.0
APPS = {service.name: service.app for service in SERVICES}


@dataclass
class Stack:
    """What a bench runs against; `serve` starts services on it."""

    workdir: Path
    monitor: Monitor | None
    db_url: str
    bootstrap: str = ""  # "" when the bench asked for no broker
    prefix: str = ""
    started_broker: bool = False  # the broker is ours (not KAFKA_BOOTSTRAP_SERVERS's)
    env: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)

    @property
    def broker_label(self) -> str:
        """The JSON's "broker": the embedded one, or the address the environment gave."""
        return "embedded tansu" if self.started_broker else self.bootstrap

    async def serve(self, names: Iterable[str], env: Mapping[str, str] | None = None) -> None:
        """Start each named service (uvicorn, a free port, `env` over the stack's), watched by
        the monitor; return once every one answers /readyz."""
        started = []
        for name in names:
            port = free_port()
            argv = [sys.executable, "-m", "uvicorn", "--factory", APPS[name], "--port", str(port)]
            argv += ["--no-access-log", "--log-level", "warning"]
            child = spawn(name, argv, {**self.env, **(env or {})}, self.workdir / f"{name}.log")
            self.children.append(child)
            started.append(child)
            self.urls[name] = f"http://127.0.0.1:{port}"
            if self.monitor is not None:
                self.monitor.watch(name, child.proc.pid)
        for child in started:
            await wait_ready(child, self.urls[child.name])


async def wait_ready(child: Child, url: str) -> None:
    """Poll /readyz until 200; fail with the log's tail if the process exits or hangs."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if child.proc.poll() is not None:
                break
            try:
                if (await client.get(url + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            await asyncio.sleep(0.1)
    raise SystemExit(f"{child.name} did not start:\n{child.log_path.read_text()[-3000:]}")


@asynccontextmanager
async def bench_stack(
    workdir: Path,
    monitor: Monitor | None,
    *,
    broker_kind: str | None = AUTO,
    services: Iterable[str] = (),
    watch_infra: bool = True,
) -> AsyncIterator[Stack]:
    """The stack for one bench run, torn down on exit (the logs stay in `workdir`).

    `broker_kind`: AUTO, one of brokers.TANSU / KAFKA (started here) or EXTERNAL
    (KAFKA_BOOTSTRAP_SERVERS), or None for no broker, topics nor prefix. PostgreSQL is
    DATABASE_URL's server, else an embedded one in `workdir`. With `watch_infra`, the monitor
    also watches the broker and PostgreSQL that were started here."""
    async with AsyncExitStack() as cleanup:
        watch = monitor if watch_infra else None
        external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
        if broker_kind == AUTO:
            broker_kind = brokers.EXTERNAL if external else brokers.TANSU
        bootstrap = external if broker_kind == brokers.EXTERNAL else ""
        ours = broker_kind not in (None, brokers.EXTERNAL)
        if broker_kind is not None and ours:
            broker = brokers.start(broker_kind, workdir)
            cleanup.callback(broker.stop)
            bootstrap = broker.bootstrap_servers
            if watch is not None:
                assert broker.pid is not None
                watch.watch("broker", broker.pid)
        server_url = os.environ.get("DATABASE_URL")
        if not server_url:
            postgres = EmbeddedPostgres(workdir / "pgdata").start()
            cleanup.callback(shutil.rmtree, workdir / "pgdata", ignore_errors=True)
            cleanup.callback(postgres.stop)
            server_url = postgres.url()
            if watch is not None:
                pid = int((workdir / "pgdata" / "postmaster.pid").read_text().split()[0])
                watch.watch("postgres", pid, tree=True)
        db_url = await create_database(server_url, f"bench_{uuid.uuid4().hex[:8]}")
        stack = Stack(workdir, monitor, db_url, bootstrap, started_broker=ours)
        stack.env = {**os.environ, "DATABASE_URL": db_url}
        if broker_kind is not None:
            stack.prefix = f"bench{uuid.uuid4().hex[:6]}."
            await ensure_topics(bootstrap, topic_plan(stack.prefix))
            stack.env |= {"KAFKA_BOOTSTRAP_SERVERS": bootstrap}
            stack.env |= {"LEADLOOP_TOPIC_PREFIX": stack.prefix}
        await migrate_all(db_url, env={})
        stack.env |= {"LEADLOOP_BOOTSTRAP_API_KEY": KEY, "LEADLOOP_LOG_LEVEL": "WARNING"}
        cleanup.callback(stop_children, stack.children)
        await stack.serve(services)
        yield stack


def save(result: dict[str, Any], out: Path, *, echo: bool = True) -> None:
    """Write `result` to `out` as JSON (and print it, with `echo`)."""
    text = json.dumps(result, indent=2)
    out.write_text(text + "\n")
    if echo:
        print(text)
