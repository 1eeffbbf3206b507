"""`leadloop dev`: broker, Postgres, topics, migrations, then each service as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from leadloop_cli.devlock import DevLock, StackAlreadyRunning
from leadloop_cli.infra import (
    EmbeddedBroker,
    EmbeddedPostgres,
    database_exists,
    log_tail,
    port_accepts,
)
from leadloop_cli.kafka import ApacheKafka, broker_kind, new_broker
from leadloop_cli.kafka_install import KAFKA_VERSION
from leadloop_cli.outboxes import requeue_outboxes
from leadloop_cli.services import (
    SERVICES,
    Service,
    create_topics,
    env_bootstrap_servers,
    env_database_url,
    migrate_all,
    server_argv,
)
from leadloop_cli.supervisor import Child, spawn, stop_children, supervise

HOST = "127.0.0.1"
DEV_DATABASE = "leadloop"
READY_TIMEOUT_S = 90.0


def dev_api_key(data_dir: Path) -> str:
    """The dev stack's bootstrap key: generated once, kept in the data dir across restarts."""
    path = data_dir / "bootstrap-api-key"
    if path.exists():
        return path.read_text().strip()
    key = f"llk_dev_{secrets.token_urlsafe(24)}"
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


class StackFailed(RuntimeError):
    """A part of the stack could not start or died."""


def check_agreement_file(env: Mapping[str, str]) -> None:
    """Refuse to start on an agreement file scoring cannot use: one line naming file and error."""
    from leadloop_contract.agreement import EXAMPLE_FILE
    from leadloop_scoring.agreement_handlers import AgreementFileUnusable, read_agreement_file

    try:
        read_agreement_file(Path(env.get("LEADLOOP_AGREEMENT_FILE") or EXAMPLE_FILE))
    except AgreementFileUnusable as exc:
        raise StackFailed(str(exc)) from None


class DevStack:
    """Broker, Postgres, topics, migrations, then each available service as a uvicorn process."""

    def __init__(
        self,
        data_dir: Path,
        *,
        demo: bool = False,
        broker: str | None = None,
        env: Mapping[str, str] = os.environ,
    ):
        self.data_dir = data_dir.resolve()
        self.logs = self.data_dir / "logs"
        self.demo = demo
        self.env = dict(env)
        self.broker_kind = broker_kind(self.env, broker)  # --broker, else LEADLOOP_BROKER
        self.broker: EmbeddedBroker | ApacheKafka | None = None
        self.postgres: EmbeddedPostgres | None = None
        self.children: list[Child] = []
        self.urls: dict[str, str] = {}

    async def run(self) -> int:
        """Start everything, restart services that exit, until Ctrl-C/SIGTERM; then stop it all."""
        lock = DevLock(self.data_dir)
        try:
            lock.acquire()  # before anything: a second stack must not touch the first one's parts
        except StackAlreadyRunning as exc:
            print(exc, file=sys.stderr, flush=True)
            return 1
        try:
            return await self._run()
        finally:
            lock.release()

    async def _run(self) -> int:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        try:
            start = asyncio.create_task(self.start())
            stop_wait = asyncio.create_task(stopping.wait())
            await asyncio.wait({start, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not start.done():
                start.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await start
                print("\ninterrupted while starting; stopping", flush=True)
                return 130
            stop_wait.cancel()
            start.result()
            self.print_summary()
            from leadloop_cli.devenv import write_stack_env  # where other shells' CLI connects

            write_stack_env(self.data_dir, self.env)
            failure = await self.watch(stopping)
            if failure:
                print(f"\n{failure}\nstopping the stack", file=sys.stderr, flush=True)
                return 1
            print("\nstopping the stack", flush=True)
            return 0
        except StackFailed as exc:
            print(f"\nthe stack could not start: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            self.stop()

    async def start(self) -> None:
        """Bring the stack up, step by step; every step says what it does."""
        self.logs.mkdir(parents=True, exist_ok=True)
        env = self.env
        if any(s.name == "scoring" and s.runnable() for s in SERVICES):
            check_agreement_file(env)
        bootstrap = env_bootstrap_servers(env)
        if bootstrap is None:
            port = int(env.get("LEADLOOP_DEV_KAFKA_PORT", "9092"))
            name = f"Apache Kafka {KAFKA_VERSION}" if self.broker_kind == "kafka" else "Tansu"
            print(f"starting the broker ({name}) on {HOST}:{port}", flush=True)
            self.broker = new_broker(
                self.broker_kind,
                port,
                host=HOST,
                log_path=self.logs / "broker.log",
                data_dir=self.data_dir / "kafka",
            )
            try:
                self.broker.start()  # in this thread: the broker dies with the thread that made it
            except (RuntimeError, TimeoutError) as exc:
                raise StackFailed(str(exc)) from exc
            bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"] = self.broker.bootstrap_servers
        database_url = env_database_url(env)
        if database_url is None:
            print(f"starting embedded PostgreSQL in {self.data_dir / 'pgdata'}", flush=True)
            self.postgres = EmbeddedPostgres(self.data_dir / "pgdata")
            await asyncio.to_thread(self.postgres.start)
            if not await database_exists(self.postgres.url(), DEV_DATABASE):
                await self.postgres.create_database(DEV_DATABASE)
            database_url = env["DATABASE_URL"] = self.postgres.url(DEV_DATABASE)
        prefix = env.get("LEADLOOP_TOPIC_PREFIX", "")
        created = await create_topics(bootstrap, prefix)
        print(f"topics: {len(created)} created, the rest already existed", flush=True)
        print(f"migrated schemas: {', '.join(await migrate_all(database_url, env))}", flush=True)
        if self.broker is not None and self.broker_is_new():
            queued = await requeue_outboxes(database_url, env)
            print(
                f"the broker's storage is new: {queued} events from the "
                "outboxes queued again; consumers skip those they already processed",
                flush=True,
            )
        if not env.get("LEADLOOP_BOOTSTRAP_API_KEY"):
            env["LEADLOOP_BOOTSTRAP_API_KEY"] = dev_api_key(self.data_dir)
        env.setdefault("LEADLOOP_ENV", "development")
        for service in SERVICES:
            if service.runnable():
                self.start_service(service)
        for child in list(self.children):
            await self.wait_ready(child, self.urls[child.name])
        if self.demo and "intake" in self.urls:
            argv = [sys.executable, "-m", "leadloop_cli.demo", "--intake-url", self.urls["intake"]]
            for name in ("routing", "feedback"):
                if name in self.urls:
                    argv += [f"--{name}-url", self.urls[name]]
            self.children.append(spawn("demo", argv, env, self.logs / "demo.log"))
        elif self.demo:
            raise StackFailed("--demo needs the intake service, which is not installed")

    def broker_is_new(self) -> bool:
        """True for Tansu (memory) and for an Apache Kafka whose log directory was just made."""
        return not isinstance(self.broker, ApacheKafka) or self.broker.formatted

    def start_service(self, service: Service) -> None:
        port = service.port(self.env)
        if port_accepts(HOST, port):
            variable = f"LEADLOOP_{service.name.upper()}_PORT"
            raise StackFailed(f"port {port} for {service.name} is in use; set {variable}")
        argv = server_argv(service.app, HOST, port)
        print(f"starting {service.name} on {HOST}:{port}", flush=True)
        log_path = self.logs / f"{service.name}.log"
        self.children.append(spawn(service.name, argv, self.env, log_path))
        self.urls[service.name] = f"http://{HOST}:{port}"

    async def wait_ready(self, child: Child, url: str) -> None:
        """Poll /readyz until it answers 200; fail early if the process exits."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if child.proc.poll() is not None:
                    raise StackFailed(
                        f"{child.name} exited with code {child.proc.returncode} while starting; "
                        f"last lines of {child.log_path}:\n{log_tail(child.log_path)}"
                    )
                with contextlib.suppress(httpx.TransportError):  # not listening yet
                    if (await client.get(url + "/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise StackFailed(f"{child.name} was not ready within {READY_TIMEOUT_S:.0f} s")
                await asyncio.sleep(0.2)

    async def watch(self, stopping: asyncio.Event) -> str | None:
        """Restart services that exit until Ctrl-C/SIGTERM (None); the broker or PostgreSQL
        dying stops the stack (what died)."""
        while not stopping.is_set():
            supervise(self.children, lambda line: print(line, flush=True))
            if self.broker is not None and not self.broker.is_running():
                return (
                    "the broker died (Tansu's topics with it); a broker restart is a stack "
                    f"restart (run `leadloop dev` again). Log: {self.broker.log_path}"
                )
            if self.postgres is not None and not self.postgres.is_running():
                return f"PostgreSQL stopped; its log: {self.postgres.log_path}"
            try:
                await asyncio.wait_for(stopping.wait(), timeout=0.5)
            except TimeoutError:
                continue
        return None

    def stop(self) -> None:
        """Services first (they drain), then the broker, then Postgres."""
        if self.children:
            print("stopping services", flush=True)
            stop_children(self.children)
            self.children = []
        if self.broker is not None:
            if self.broker.is_running():
                print("stopping the broker", flush=True)
            self.broker.stop()
            self.broker = None
        if self.postgres is not None:
            if not self.postgres.started_here:
                print("leaving PostgreSQL running: this stack did not start it", flush=True)
            elif self.postgres.is_running():
                print("stopping PostgreSQL", flush=True)
                self.postgres.stop()
            self.postgres = None

    def print_summary(self) -> None:
        env = self.env
        key = env["LEADLOOP_BOOTSTRAP_API_KEY"]
        lines = ["", "leadloop dev stack is up", ""]
        for name, url in self.urls.items():
            lines.append(f"  {name:<9} {url}  (API docs {url}/docs, log {self.logs / name}.log)")
        if not self.urls:
            lines.append("  no service package with a bootstrap module is installed yet")
        lines += [
            "",
            f"  API key (every scope)   {key}",
            "",
        ]
        if "feedback" in self.urls:
            lines += [
                f"  dashboard   {self.urls['feedback']}/dashboard   (sign in with the key above)",
                f"  reviews     {self.urls['feedback']}/v1/reviews/weekly   (and /monthly)",
                "",
            ]
        lines += [
            "  in another shell, `.venv/bin/leadloop ...` finds this stack by itself;",
            "  for Kafka clients and psql:",
            f"    export DATABASE_URL='{env['DATABASE_URL']}'",
            f"    export KAFKA_BOOTSTRAP_SERVERS='{env['KAFKA_BOOTSTRAP_SERVERS']}'",
            "",
        ]
        if self.broker is not None:
            lines.append(f"  broker log      {self.broker.log_path}")
        if self.postgres is not None:
            lines.append(f"  PostgreSQL log  {self.postgres.log_path}")
            lines.append(f"  survives a restart: PostgreSQL's data in {self.data_dir / 'pgdata'}")
        if isinstance(self.broker, ApacheKafka):
            lines.append(f"  survives a restart: Apache Kafka's topics in {self.broker.data_dir}")
        elif self.broker is not None:
            lines.append(
                "  lost at a stop: the embedded broker's topics (memory); the next start "
                "recreates them and republishes every event"
            )
        if any(c.name == "demo" for c in self.children):
            lines.append(f"  demo traffic    {self.logs / 'demo.log'}")
        if "intake" in self.urls:
            lines += [
                "",
                "  try:",
                f"    curl -X POST {self.urls['intake']}/v1/form-submissions \\",
                f"      -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\",
                '      -d \'{"email": "ada@acme-dental.example", "company": "ACME Dental"}\'',
            ]
        lines += ["", "A service that exits is restarted; Ctrl-C stops everything.", ""]
        print("\n".join(lines), flush=True)
