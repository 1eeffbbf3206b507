"""End-to-end: services as real processes, driven only through HTTP and topics."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from leadloop_cli.infra import free_port

E2E_KEY = "llk_e2e_bootstrap_key_with_every_scope_0000"
READY_TIMEOUT_S = 30.0
POLL_S = 0.1


@dataclass
class ServiceProcess:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


async def wait_ready(service: ServiceProcess) -> None:
    """Poll /readyz until 200; fail with the service's log if it dies or never gets ready."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(base_url=service.url) as client:
        while time.monotonic() < deadline:
            if service.proc.poll() is not None:
                raise AssertionError(f"{service.name} exited:\n{service.log.read_text()[-3000:]}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(POLL_S)
    raise AssertionError(f"{service.name} not ready:\n{service.log.read_text()[-3000:]}")


@pytest.fixture
def service_env(database_url: str, bootstrap_servers: str, topic_prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "LEADLOOP_TOPIC_PREFIX": topic_prefix,
        "LEADLOOP_BOOTSTRAP_API_KEY": E2E_KEY,
        "LEADLOOP_ENV": "test",
        "LEADLOOP_KAFKA_SESSION_TIMEOUT_MS": "3000",
        "LEADLOOP_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
    }


@pytest.fixture
def start_service(service_env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    """Start `uvicorn --factory leadloop_<name>.bootstrap:create_app` as its own process."""
    started: list[ServiceProcess] = []

    async def start(name: str, extra_env: dict[str, str] | None = None) -> ServiceProcess:
        port = free_port()
        log = tmp_path / f"{name}.log"
        proc = subprocess.Popen(  # noqa: ASYNC220 - a child that outlives this call
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                f"leadloop_{name}.bootstrap:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env={**service_env, **(extra_env or {})},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        service = ServiceProcess(name, f"http://127.0.0.1:{port}", proc, log)
        started.append(service)
        await wait_ready(service)
        return service

    yield start
    for service in started:
        if service.proc.poll() is None:
            service.proc.terminate()
            try:
                service.proc.wait(15)
            except subprocess.TimeoutExpired:
                service.kill()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {E2E_KEY}"}) as client:
        yield client
