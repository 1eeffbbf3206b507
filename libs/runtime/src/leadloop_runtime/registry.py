"""A service's handler registry: event type -> handler, typed per event, and its subscriptions.

    registry: Registry[SqlUnitOfWork] = Registry()
    registry.on(LeadCaptured)(capture_lead)   # capture_lead(uow, event, data: LeadCaptured)

mypy checks each handler against the class it is registered for (`Handler[U, T]`), so no
`type: ignore` is needed; the topics the consumer subscribes to are the topics of the
registered event types (`topics()`), never a list kept apart from the registry.

A handler may take the batch instead, for several types at once:

    registry.batch(LeadCaptured, ActivityRecorded)(score_leads)  # score_leads(uow, items)

`items` is a run of consecutive records of those types in offset order, `(event, data)` each;
the handler must have exactly the effect of applying them one by one in that order (it may fold
a lead's events, load every lead of the run in one statement, write one statement per table).
The consumer calls it once per run (`leadloop_messaging.batch.apply_batch`); a run of one, e.g.
a poison suspect retried alone, calls it with that one item.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

from leadloop_db.uow import UnitOfWork
from leadloop_events import topics as topic_names
from leadloop_events.catalog import EVENT_TYPES
from leadloop_events.envelope import CloudEvent, EventData
from leadloop_messaging.batch import BatchHandler, TakesBatches

U = TypeVar("U", bound=UnitOfWork)
U_contra = TypeVar("U_contra", contravariant=True)
T = TypeVar("T", bound=EventData)
T_contra = TypeVar("T_contra", bound=EventData, contravariant=True)
# What the consumer loop calls: any event's data, already parsed into its model.
EventHandler = Callable[[U, CloudEvent, EventData], Awaitable[None]]
BatchItems = Sequence[tuple[CloudEvent, EventData]]


class Handler(Protocol[U_contra, T_contra]):
    """`async def f(uow, event, data) -> None` for one event type's data."""

    def __call__(self, uow: U_contra, event: CloudEvent, data: T_contra, /) -> Awaitable[None]:
        """Apply the event inside `uow`; the caller commits."""
        ...


class Registry(Generic[U]):
    """Event type -> handler: a service's data-flow map at a glance."""

    def __init__(self) -> None:
        self._handlers: dict[type[EventData], Handler[U, Any]] = {}

    def on(self, event: type[T]) -> Callable[[Handler[U, T]], Handler[U, T]]:
        """Register the handler of `event` (usable as a decorator); one handler per type."""

        def add(handler: Handler[U, T]) -> Handler[U, T]:
            if event in self._handlers:
                raise ValueError(f"{event.event_type} already has a handler")
            self._handlers[event] = handler
            return handler

        return add

    def batch(self, *events: type[EventData]) -> Callable[[BatchHandler[U]], BatchHandler[U]]:
        """Register one handler taking runs of consecutive records of `events` together:
        `async def f(uow, items)`, with exactly the effect of each item applied in order."""

        def add(handler: BatchHandler[U]) -> BatchHandler[U]:
            taken = TakesBatches(handler)
            for event in events:
                self.on(event)(taken)
            return handler

        return add

    @classmethod
    def of(cls, handlers: Mapping[str, EventHandler[U]]) -> Registry[U]:
        """A registry from a `{event type name: handler}` map (the older form)."""
        registry: Registry[U] = cls()
        for name, handler in handlers.items():
            model = EVENT_TYPES.get(name)
            if model is None:
                raise ValueError(f"unknown event type {name!r}")
            registry._handlers[model] = handler
        return registry

    def wrapped(
        self,
        around: Callable[[EventHandler[U]], EventHandler[U]],
        batches: Callable[[BatchHandler[U]], BatchHandler[U]] | None = None,
    ) -> Registry[U]:
        """The same registry with every handler wrapped (e.g. a journal written per event); a
        batch handler by `batches`, the same wrapper's form for a run (a per-event wrapper
        cannot see which item of a run published what: refused without it)."""
        registry: Registry[U] = Registry()
        rewrapped: dict[int, TakesBatches[U]] = {}
        for model, handler in self._handlers.items():
            if not isinstance(handler, TakesBatches):
                registry._handlers[model] = around(handler)
                continue
            if batches is None:
                raise ValueError(
                    f"{model.event_type} has a batch handler: wrap it with `batches` as well"
                )
            if id(handler) not in rewrapped:  # its types keep sharing one handler
                rewrapped[id(handler)] = TakesBatches(batches(handler.batch))
            registry._handlers[model] = rewrapped[id(handler)]
        return registry

    def event_types(self) -> list[type[EventData]]:
        """The event types handled, in registration order."""
        return list(self._handlers)

    def handlers(self) -> dict[str, EventHandler[U]]:
        """CloudEvents `type` -> handler, as the consumer loop looks them up."""
        return {model.event_type: handler for model, handler in self._handlers.items()}

    def topics(self) -> list[str]:
        """The logical topics to subscribe to: those of the handled types, in catalog order."""
        wanted = {model.topic for model in self._handlers}
        return [topic for topic in topic_names.ALL if topic in wanted]

    def __len__(self) -> int:
        return len(self._handlers)
