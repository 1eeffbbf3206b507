"""Feedback's projection of one consumer batch, measured: a realistic mixed batch of events
(tests/integration/feedback/mixed_batch.py) through feedback's real handler registry and the
consumer's own `apply_batch` (one transaction) on embedded PostgreSQL (or DATABASE_URL's
server); statements, compiled-cache misses and client CPU per event, by event type.

    python -m tests.bench.feedback_batch [--events 200] [--batches 5] [--out feedback.json]

The first batch warms SQLAlchemy's compiled cache and is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadloop_db.engine import make_engine
from leadloop_events.envelope import CloudEvent, EventData
from leadloop_feedback.adapters.tables import outbox, processed_events
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_messaging.batch import Item, SqlLedger, apply_batch

from ..integration.feedback.mixed_batch import Handler, consumer_items, mixed_batch
from .stack import bench_stack


class Tally:
    """Statements (an executemany counts once) and cache misses, by the event type running."""

    def __init__(self) -> None:
        self.current = "(claim/commit)"
        self.reset()

    def reset(self) -> None:
        """Nothing counted."""
        self.statements: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self.texts: Counter[str] = Counter()

    def before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements[self.current] += 1
        self.texts[" ".join(statement.split())[:90]] += 1
        context = args[1] if len(args) > 1 else None
        if context is not None and context.cache_hit in (
            context.dialect.CACHE_MISS,
            context.dialect.NO_CACHE_KEY,
        ):
            self.misses[self.current] += 1

    @contextmanager
    def running(self, event_type: str) -> Iterator[None]:
        before, self.current = self.current, event_type
        try:
            yield
        finally:
            self.current = before


def items(events: list[CloudEvent], tally: Tally) -> list[Item[SqlUnitOfWork]]:
    """The consumer's items for `events`, each handler marking its type in `tally`."""

    def marking(handler: Handler) -> Handler:
        async def run(uow: SqlUnitOfWork, event: CloudEvent, data: EventData) -> None:
            with tally.running(event.type.removeprefix("leadloop.").removesuffix(".v1")):
                await handler(uow, event, data)

        return run

    return consumer_items(events, marking)


async def measure(db_url: str, size: int, batches: int) -> dict[str, Any]:
    """`batches` batches of `size` fresh events; per event figures of all but the first."""
    engine = make_engine(db_url, pool_size=2)
    tally = Tally()
    sa.event.listen(engine.sync_engine, "before_cursor_execute", tally.before)
    ledger = SqlLedger(processed_events, "feedback")
    uow = functools.partial(SqlUnitOfWork, engine, outbox, "")
    cpu, per_type = 0.0, Counter[str]()
    try:
        for n in range(batches):
            batch = items(
                mixed_batch(seed=n, size=size, prefix=f"b{n}-{uuid.uuid4().hex[:4]}"), tally
            )
            if n == 1:
                tally.reset()  # the warm-up batch is not counted
            started = time.process_time()
            await apply_batch(uow, ledger, batch)
            if n >= 1:
                cpu += time.process_time() - started
                per_type.update(
                    i.event.type.removeprefix("leadloop.").removesuffix(".v1") for i in batch
                )
    finally:
        await engine.dispose()
    events = sum(per_type.values())
    return {
        "events": events,
        "statements_per_event": sum(tally.statements.values()) / events,
        "cache_misses_per_event": sum(tally.misses.values()) / events,
        "client_cpu_ms_per_event": 1000 * cpu / events,
        "by_type": {
            t: {
                "events": c,
                "statements_per_event": tally.statements[t] / c,
                "cache_misses_per_event": tally.misses[t] / c,
            }
            for t, c in sorted(per_type.items())
        },
        "shared_statements_per_batch": tally.statements["(claim/commit)"] / (batches - 1),
        "top_statements": tally.texts.most_common(25),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fb-bench-"))
    async with bench_stack(workdir, None, broker_kind=None) as stack:
        result = await measure(stack.db_url, args.events, args.batches)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    asyncio.run(main())
