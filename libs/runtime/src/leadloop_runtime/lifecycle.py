"""The one start order and the one shutdown order of every service.

Start: the producer, the start hooks (they may write outbox rows), the relay, the consumer, the
workers. Shutdown is the exact reverse, each part drained before the next stops: by then the
server accepts no more requests; the workers finish their round; the consumer finishes and
commits the batch in hand, then closes; the relay publishes what they wrote and stops; the
producer flushes and stops; last, the app disposes of the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from leadloop_platform.tasks import TaskSupervisor


class Client(Protocol):
    """Something started and stopped: the Kafka producer, the Kafka consumer."""

    async def start(self) -> None:
        """Connect."""
        ...

    async def stop(self) -> None:
        """Flush and close."""
        ...


class Loop(Protocol):
    """A background loop: `run` until `stop` is called."""

    async def run(self) -> None:
        """Work until stopped."""
        ...

    def stop(self) -> None:
        """Ask `run` to finish what it holds and return."""
        ...


@dataclass
class Worker:
    """A named loop, started as the supervisor task of that name."""

    name: str
    loop: Loop


@dataclass
class Parts:
    """What the runtime built for one running service; None where the service has none."""

    producer: Client
    relay: Loop | None = None
    consumer: Client | None = None
    consumer_loop: Loop | None = None
    workers: Sequence[Worker] = ()
    on_start: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=list)


async def _drain(loops: Sequence[Loop], tasks: Sequence[asyncio.Task[None]]) -> None:
    for loop in loops:
        loop.stop()
    for task in tasks:
        await task  # supervised: ends quietly, a failure was already reported


@contextlib.asynccontextmanager
async def running(parts: Parts, supervisor: TaskSupervisor) -> AsyncIterator[None]:
    """Start `parts` in the one order; on exit, stop them in its reverse."""
    async with contextlib.AsyncExitStack() as stack:
        await parts.producer.start()
        stack.push_async_callback(parts.producer.stop)
        for hook in parts.on_start:
            await hook()
        if parts.relay is not None:
            relay = supervisor.start("relay", parts.relay.run())
            stack.push_async_callback(_drain, [parts.relay], [relay])
        if parts.consumer is not None and parts.consumer_loop is not None:
            await parts.consumer.start()
            stack.push_async_callback(parts.consumer.stop)
            consumer = supervisor.start("consumer", parts.consumer_loop.run())
            stack.push_async_callback(_drain, [parts.consumer_loop], [consumer])
        if parts.workers:
            tasks = [supervisor.start(w.name, w.loop.run()) for w in parts.workers]
            stack.push_async_callback(_drain, [w.loop for w in parts.workers], tasks)
        yield
