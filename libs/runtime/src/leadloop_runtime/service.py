"""A service as a declaration, and the app the runtime builds from it."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_db.engine import make_engine
from leadloop_db.uow import Transactions, UnitOfWork
from leadloop_events import topics as topic_names
from leadloop_events.catalog import EVENT_TYPES
from leadloop_messaging.consumer import ConsumerLoop
from leadloop_messaging.idempotence import producer_idempotence
from leadloop_messaging.kafka import BrokerCheck, make_consumer, make_producer
from leadloop_messaging.relay import OutboxRelay
from leadloop_platform import metrics
from leadloop_platform.http.app import ReadyCheck, database_check
from leadloop_platform.http.app import create_app as create_base_app
from leadloop_platform.logs import configure_logging
from leadloop_platform.settings import CommonSettings
from leadloop_platform.tasks import TaskSupervisor
from leadloop_runtime.lifecycle import Parts, Worker, running
from leadloop_runtime.periodic import Periodic
from leadloop_runtime.registry import EventHandler, Registry

U = TypeVar("U", bound=UnitOfWork)
U_co = TypeVar("U_co", bound=UnitOfWork, covariant=True)
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


class UnitOfWorkClass(Protocol[U_co]):
    """A service's unit of work: built from the engine, its outbox and the topic prefix."""

    def __call__(self, engine: AsyncEngine, outbox: sa.Table, topic_prefix: str, /) -> U_co:
        """A new, unopened unit of work."""
        ...


class Database(Generic[U]):
    """A service's engine, its unit-of-work factory and the transaction runner over it."""

    def __init__(
        self,
        name: str,
        settings: CommonSettings,
        unit_of_work: UnitOfWorkClass[U],
        outbox: sa.Table,
    ) -> None:
        # Logging first: it is the first thing a service sets up, before anything can log.
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        self.name = name
        self.outbox = outbox
        self.engine = make_engine(settings.database_url, application_name=f"leadloop-{name}")
        self.uow: Callable[[], U] = functools.partial(
            unit_of_work, self.engine, outbox, settings.topic_prefix
        )
        self.transactions = Transactions(self.uow)


@dataclass
class Service(Generic[U]):
    """What a service declares; `build_app` makes the rest the same way for all four."""

    title: str
    description: str
    settings: CommonSettings
    database: Database[U]
    registry: Registry[U] | Mapping[str, EventHandler[U]] | None = None
    processed: sa.Table | None = None
    consumer_group: str | None = None
    run_relay: bool = True
    run_consumer: bool = True
    routers: Sequence[APIRouter] = ()
    workers: Sequence[Periodic] = ()
    on_start: Sequence[Callable[[], Awaitable[None]]] = ()
    ready_checks: Mapping[str, ReadyCheck] = field(default_factory=dict)
    body_limits: Mapping[str, int] = field(default_factory=dict)
    exception_handlers: Mapping[type[Exception], ExceptionHandler] = field(default_factory=dict)
    state: Mapping[str, Any] = field(default_factory=dict)

    def handlers(self) -> Registry[U]:
        """The registry, whichever form it was declared in (empty when nothing is consumed)."""
        if self.registry is None:
            return Registry()
        if isinstance(self.registry, Registry):
            return self.registry
        return Registry.of(self.registry)


def parts_of(service: Service[U], producer: AIOKafkaProducer, app: FastAPI) -> Parts:
    """The relay, the consumer subscribed to what the registry handles, and the workers."""
    settings, db = service.settings, service.database
    relay = OutboxRelay(
        service=settings.service_name,
        engine=db.engine,
        database_url=settings.database_url,
        outbox=db.outbox,
        producer=producer,
        poll_interval_s=settings.outbox_poll_interval_s,
        batch_size=settings.outbox_batch_size,
    )
    app.state.relay = relay
    parts = Parts(
        producer=producer,
        relay=relay if service.run_relay else None,
        workers=[Worker(w.name, w) for w in service.workers],
        on_start=service.on_start,
    )
    registry = service.handlers()
    if service.run_consumer and len(registry) and service.processed is not None:
        group = service.consumer_group or f"leadloop-{db.name}"
        consumer = make_consumer(
            settings, *(settings.topic(t) for t in registry.topics()), group_id=group
        )
        parts.consumer = consumer
        parts.consumer_loop = app.state.consumer_loop = ConsumerLoop(
            service=settings.service_name,
            consumer_name=group,
            consumer=consumer,
            dlq_producer=producer,
            uow_factory=db.uow,
            processed=service.processed,
            handlers=registry.handlers(),
            max_retries=settings.consumer_max_retries,
            retry_backoff_s=settings.consumer_retry_backoff_s,
            batch_size=settings.consumer_batch_size,
        )
    return parts


def start_counters_at_zero(service: Service[U]) -> None:
    """The service's consumed and published (topic, type) counters, created at 0."""
    settings, name = service.settings, service.database.name
    consumed = [(settings.topic(m.topic), m.event_type) for m in service.handlers().event_types()]
    source = f"/leadloop/{name}"
    produced = [
        (settings.topic(m.topic), m.event_type)
        for m in EVENT_TYPES.values()
        if topic_names.PRODUCERS.get(m.topic) == source
    ]
    metrics.start_at_zero(settings.service_name, consumed, produced)


def build_app(service: Service[U]) -> FastAPI:
    """The service's FastAPI app, whose lifespan runs its parts in the one order."""
    settings, db = service.settings, service.database
    start_counters_at_zero(service)
    producers: list[AIOKafkaProducer] = []  # the started producer, for the readiness check

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        producer = make_producer(settings, idempotent=await producer_idempotence(settings))
        parts = parts_of(service, producer, app)
        supervisor: TaskSupervisor = app.state.tasks
        async with running(parts, supervisor):
            producers.append(producer)
            try:
                yield
            finally:
                producers.remove(producer)

    app = create_base_app(
        title=service.title,
        description=service.description,
        settings=settings,
        engine=db.engine,
        routers=service.routers,
        ready_checks={
            "postgres": database_check(db.engine),
            "broker": BrokerCheck(producers),
            **service.ready_checks,
        },
        lifespan=lifespan,
        body_limits=service.body_limits,
    )
    app.state.uow = db.uow
    app.state.transactions = db.transactions
    for name, value in service.state.items():
        setattr(app.state, name, value)
    for kind, handler in service.exception_handlers.items():
        app.add_exception_handler(kind, handler)
    return app
