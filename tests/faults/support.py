"""The fault-test harness: services as killable processes, alert receivers that count, a steady
load of form fills, and readers that take a whole topic.

Everything here is real: uvicorn processes, a local HTTP server, an aiosmtpd server, the
session's broker and PostgreSQL. The fixtures in conftest.py build these for each test.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadloop_cli.infra import die_with_parent, free_port, log_tail
from leadloop_events.envelope import CloudEvent
from leadloop_platform.settings import to_asyncpg_url
from leadloop_platform.webhooks import SignatureError, verify

READY_TIMEOUT_S = 90.0
REQUEST_LINE = re.compile(r'HTTP/1\.1" \d{3}|HTTP Request: ')
RETRY_S = 0.5  # the load generator's pause before retrying a request
POLL_S = 0.1
SCHEMAS = ("intake", "scoring", "routing", "feedback")

ASSIGNED = "leadloop.lead.assigned.v1"
CAPTURED = "leadloop.lead.captured.v1"
STAGE_CHANGED = "leadloop.lead.stage_changed.v1"


async def wait_for(
    condition: Callable[[], Awaitable[bool]],
    *,
    timeout_s: float = 60.0,
    what: str = "condition",
    detail: Callable[[], Awaitable[str]] | None = None,
) -> None:
    """Poll `condition` until true; fail naming `what` (and `detail()`) at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            extra = f"\n{await detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}{extra}")
        await asyncio.sleep(POLL_S * 2)


async def grows(measure: Callable[[], int], by: int, *, what: str, timeout_s: float = 60.0) -> None:
    """Wait until `measure()` is `by` more than it is now."""
    target = measure() + by

    async def grown() -> bool:
        return measure() >= target

    await wait_for(grown, timeout_s=timeout_s, what=what)


# --- services as processes ---------------------------------------------------------------


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
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    f"leadloop_{self.name}.bootstrap:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-access-log",
                ],
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
    """The services of one test, by name; all stopped at teardown."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
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
            env={**self.env, **(extra_env or {})},
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


# --- alert receivers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One webhook POST as received."""

    webhook_id: str
    event_id: str
    event_type: str
    lead_id: str
    assignment_id: str | None
    signature_ok: bool


@dataclass
class WebhookReceiver:
    """A real local HTTP endpoint that answers 204 and records every POST."""

    url: str
    secret: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    # Called once, after the next delivery is recorded and before it is answered: e.g. kill the
    # sender there, so that it dies after sending and before it can record the success.
    on_next: Callable[[], None] | None = None

    def fire_on_next(self) -> None:
        action, self.on_next = self.on_next, None
        if action is not None:
            action()

    def record(self, body: bytes, headers: dict[str, str]) -> None:
        event = CloudEvent.from_bytes(body)
        signature_ok = False
        if self.secret is not None:
            try:
                verify(
                    self.secret,
                    body,
                    msg_id=headers.get("webhook-id"),
                    timestamp=headers.get("webhook-timestamp"),
                    signature=headers.get("webhook-signature"),
                    now=time.time(),
                )
                signature_ok = True
            except SignatureError:
                signature_ok = False  # counted and asserted on, not ignored
        self.deliveries.append(
            Delivery(
                webhook_id=headers.get("webhook-id", ""),
                event_id=event.id,
                event_type=event.type,
                lead_id=event.subject or "",
                assignment_id=event.data.get("assignment_id"),
                signature_ok=signature_ok,
            )
        )

    def by_assignment(self) -> dict[str, Counter[str]]:
        """assignment id -> webhook-id -> how many times it arrived."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for d in self.deliveries:
            if d.assignment_id is not None:
                out[d.assignment_id][d.webhook_id] += 1
        return dict(out)


async def serve_webhooks() -> tuple[WebhookReceiver, Callable[[], Awaitable[None]]]:
    """Start a receiver on a free port in this event loop; returns it and its stop function."""
    port = free_port()
    box = WebhookReceiver(f"http://127.0.0.1:{port}/hooks/leads")

    async def hook(request: Request) -> Response:
        box.record(await request.body(), dict(request.headers))
        box.fire_on_next()
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hooks/leads", hook, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # raises what stopped the server
        return server.started

    await wait_for(started, timeout_s=30, what="the webhook receiver to listen")

    async def stop() -> None:
        server.should_exit = True
        await task

    return box, stop


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server took it."""

    message_id: str
    to: str
    lead_email: str | None


class SmtpReceiver:
    """An aiosmtpd server (its own thread) that keeps every message it is handed."""

    def __init__(self) -> None:
        self.port = free_port()
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        # Called once (in the server's thread), after the next message is kept and before the
        # 250 answer, like WebhookReceiver.on_next.
        self.on_next: Callable[[], None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        plain = message.get_body(("plain",))
        lead_email = None
        if plain is not None:
            for line in plain.get_content().splitlines():
                if line.startswith("Email: "):
                    lead_email = line.removeprefix("Email: ").strip()
        mail = Mail(str(message["Message-ID"]), str(message["To"]), lead_email)
        with self._lock:
            self._mails.append(mail)
            action, self.on_next = self.on_next, None
        if action is not None:
            action()
        return "250 OK"

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def by_lead_email(self) -> dict[str, Counter[str]]:
        """The lead's email (from the message body) -> Message-ID -> how many times it arrived."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for m in self.mails:
            out[m.lead_email or "?"][m.message_id] += 1
        return dict(out)

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


# --- the load ------------------------------------------------------------------------------

ALWAYS = {
    "timezone": "UTC",
    "start": "00:00:00",
    "end": "23:59:59",
    "workdays": [0, 1, 2, 3, 4, 5, 6],
}

# One in ten of each: which leads the agreement makes SQLs, and which it never does.
KINDS = (
    "sql-dach",
    "sql-dach",
    "sql-na",
    "sql-na",
    "sql-dach",
    "sql-na",
    "sql-queue",  # enterprise: the team has no reps, the lead goes to its queue (no email)
    "student",  # hand-raise, but disqualified: never an SQL
    "student",
    "nurture",  # a fit lead with no hand-raise: not an SQL
)


def form_for(kind: str, n: int, run: str) -> dict[str, Any]:
    """A form fill with a readable, unique person for lead number `n` of this run."""
    email = f"lead{n:05d}.{run}@acme-dental.example"
    base: dict[str, Any] = {
        "email": email,
        "first_name": f"Lead{n}",
        "last_name": "Fault",
        "company": f"ACME Dental {n}",
        "company_size": 240,
        "industry": "Healthcare",
        "country": "DE",
        "job_title": "Head of Operations",
        "source": "webinar",
        "campaign": "q4-dental-webinar",
    }
    if kind == "sql-na":
        base.update(country="US", company=f"Hooli Health {n}", source="paid-search")
    elif kind == "sql-queue":
        base.update(company_size=8000, company=f"Umbrella Corp {n}")
    elif kind == "student":
        base.update(
            email=f"student{n:05d}.{run}@uni-leipzig.edu",
            job_title="Student",
            company="University",
            source="organic",
        )
    elif kind == "nurture":
        base.update(source="organic", campaign=None)
    return {k: v for k, v in base.items() if v is not None}


@dataclass
class Attempt:
    """One lead the load generator tried: what it sent and what intake answered."""

    n: int
    kind: str
    email: str
    form_status: int | str | None = None
    lead_id: str | None = None
    activity_status: int | str | None = None

    @property
    def accepted(self) -> bool:
        return self.form_status == 202 and self.lead_id is not None

    @property
    def hand_raise_sent(self) -> bool:
        """A demo request was attempted (it may have landed even without a 202 seen)."""
        return self.activity_status is not None

    @property
    def must_be_sql(self) -> bool:
        return self.kind.startswith("sql") and self.accepted and self.activity_status == 202

    @property
    def may_be_sql(self) -> bool:
        return self.kind.startswith("sql") and self.hand_raise_sent


class LoadGenerator:
    """Posts form fills (and, for the hand-raisers, a demo request) at a steady rate, and
    retries what got no answer with the same Idempotency-Key, as a marketing tool would."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        intake_url: str,
        *,
        rate: float,
        run: str,
        max_in_flight: int = 400,
    ) -> None:
        self.http = http
        self.intake_url = intake_url
        self.rate = rate
        self.run = run
        self.attempts: list[Attempt] = []
        self.skipped = 0  # ticks dropped because too many requests were in flight
        self.failed_tries = 0
        self.retried: Counter[str] = Counter()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop issuing; wait for the requests in flight to finish."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner
        if self._tasks:
            await asyncio.gather(*self._tasks)

    async def _run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        n = 0
        while not self._stopping.is_set():
            if self._slots.locked():
                self.skipped += 1
            else:
                await self._slots.acquire()
                task = asyncio.create_task(self._one(n))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                n += 1
            # Pace by the clock, not by the answers: a slow intake does not slow the load.
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _one(self, n: int) -> None:
        kind = KINDS[n % len(KINDS)]
        body = form_for(kind, n, self.run)
        attempt = Attempt(n=n, kind=kind, email=body["email"])
        self.attempts.append(attempt)
        try:
            attempt.form_status = await self._post("/v1/form-submissions", body, attempt)
            if attempt.accepted and kind in ("sql-dach", "sql-na", "sql-queue", "student"):
                activity = {
                    "lead_id": attempt.lead_id,
                    "type": "demo_request",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "campaign": "demo-page",
                }
                attempt.activity_status = "sending"
                attempt.activity_status = await self._post("/v1/activities", activity, None)
        finally:
            self._slots.release()

    async def _post(self, path: str, body: dict[str, Any], attempt: Attempt | None) -> int | str:
        """POST as a marketing tool does: on no answer or a 5xx, retry with the same
        Idempotency-Key until answered (or the load stops). Returns the last status code, or
        the transport error's name when no answer came back."""
        headers = {"idempotency-key": str(uuid.uuid4())}
        while True:
            try:
                r = await self.http.post(self.intake_url + path, json=body, headers=headers)
            except httpx.TransportError as exc:
                status: int | str = type(exc).__name__
            else:
                status = r.status_code
                if r.status_code == 202 and attempt is not None:
                    attempt.lead_id = r.json()["lead_id"]
            if status == 202 or (isinstance(status, int) and status < 500):
                return status
            self.failed_tries += 1
            self.retried[path] += 1
            if self._stopping.is_set():
                return status
            await asyncio.sleep(RETRY_S)

    # What the test waits on while a fault is in place.

    def accepted(self) -> list[Attempt]:
        return [a for a in self.attempts if a.accepted]

    def refused(self) -> int:
        """Requests that got no answer or a 5xx (each retry counts)."""
        return self.failed_tries

    def summary(self) -> dict[str, Any]:
        statuses = Counter(str(a.form_status) for a in self.attempts)
        activity = Counter(str(a.activity_status) for a in self.attempts if a.hand_raise_sent)
        return {
            "attempted": len(self.attempts),
            "accepted": len(self.accepted()),
            "form_statuses": dict(statuses),
            "activity_statuses": dict(activity),
            "retried": dict(self.retried),
            "skipped_ticks": self.skipped,
        }


# --- reading what happened -----------------------------------------------------------------


async def read_topic(
    bootstrap: str, topic: str, *, timeout_s: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of `topic`, read from offset 0 (no group) up to each partition's high-water
    mark as the broker reports it with the fetched data."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic)
        assert partitions, f"topic {topic} does not exist"
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout_s
        done: set[TopicPartition] = set()
        while len(done) < len(tps):
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            for tp in tps:
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    done.add(tp)
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end in {timeout_s} s")
        return records
    finally:
        await consumer.stop()


async def read_events(bootstrap: str, topic: str) -> list[CloudEvent]:
    """Every record of `topic` as a CloudEvent, physical duplicates included."""
    return [CloudEvent.from_bytes(r.value or b"") for r in await read_topic(bootstrap, topic)]


def db_engine(database_url: str) -> AsyncEngine:
    """The test's own engine; pre-ping so that it survives a PostgreSQL restart."""
    return create_async_engine(to_asyncpg_url(database_url), pool_size=2, pool_pre_ping=True)


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(sa.text(sql), params)).scalar()


async def unsent_outbox_rows(engine: AsyncEngine) -> dict[str, int]:
    """Schema -> outbox rows not yet published."""
    out = {}
    for schema in SCHEMAS:
        out[schema] = int(
            await scalar(engine, f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL")
        )
    return out


def env_rate(default: float) -> float:
    """LEADLOOP_FAULT_RATE overrides the load's leads per second."""
    return float(os.environ.get("LEADLOOP_FAULT_RATE", default))
