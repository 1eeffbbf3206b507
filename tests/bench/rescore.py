"""Re-scoring every lead after an agreement change (#17: 100,000 in <= 60 s), on embedded
PostgreSQL (or DATABASE_URL's server). Seeds N leads straight into scoring's tables, publishes a
new agreement version with rescore, and times scoring's decay scheduler working through them in
`--replicas` processes (each one a scoring replica's scheduler alone: no HTTP, no consumer, no
relay), with the CPU of the replicas and of PostgreSQL. Prints a progress line while it runs.

    python -m tests.bench.rescore [--leads 100000] [--replicas 1] [--out bench-rescore.json]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadloop_contract.agreement import EXAMPLE_FILE
from leadloop_db.engine import make_engine
from leadloop_runtime import Transactions
from leadloop_scoring import agreement_handlers, handlers
from leadloop_scoring.adapters.tables import outbox
from leadloop_scoring.adapters.uow import SqlUnitOfWork
from leadloop_scoring.config import Settings

from .procs import Monitor, delta
from .rescore_seed import seed
from .stack import bench_stack, save

OLD, NEW = "2026-11", "2026-12-bench"
POLL_S = 1.0
COUNTS = sa.text(
    """
    SELECT count(*) FILTER (WHERE next_rescore_at <= now() AND erased_at IS NULL) AS pending,
           (SELECT count(*) FROM scoring.outbox) AS outbox
    FROM scoring.leads
    """
)


def transactions(db_url: str) -> tuple[Any, Transactions[SqlUnitOfWork]]:
    """An engine on `db_url` and scoring's transaction runner over it."""
    engine = make_engine(db_url, pool_size=4, application_name="leadloop-bench-rescore")
    return engine, Transactions(functools.partial(SqlUnitOfWork, engine, outbox, ""))


async def publish(db_url: str, version: str, rescore: bool) -> int:
    """Publish the example agreement as `version`; the leads it schedules for re-scoring."""
    text = EXAMPLE_FILE.read_text().replace(f'version: "{OLD}"', f'version: "{version}"')
    engine, runner = transactions(db_url)
    try:
        command = agreement_handlers.PublishAgreement(text, "bench", rescore=rescore)
        published = await runner.run(agreement_handlers.publish_agreement, command)
    finally:
        await engine.dispose()
    return published.leads_to_rescore


async def counts(db_url: str) -> tuple[int, int]:
    """Leads due now and outbox rows written."""
    engine = make_engine(db_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(COUNTS)).one()
    finally:
        await engine.dispose()
    return int(row.pending), int(row.outbox)


async def replica(db_url: str, batch: int) -> None:
    """One replica's decay scheduler, round after round, until a round finds nothing due."""
    from leadloop_scoring.entrypoints.scheduler import DecayScheduler

    engine, runner = transactions(db_url)
    settings = Settings(database_url=db_url, rescore_batch=batch)
    try:
        scheduler = DecayScheduler(
            runner,
            handlers.Context.of(settings),
            interval_s=1.0,
            batch=batch,
        )
        while await scheduler.run_once() > 0:
            pass
    finally:
        await engine.dispose()


async def rescore_all(args: argparse.Namespace, db_url: str, monitor: Monitor) -> dict[str, Any]:
    """Publish with rescore, run the replicas to the end; the figures of that span."""
    argv = [sys.executable, "-m", "tests.bench.rescore", "--replica", db_url]
    before = monitor.cpu()
    started = time.perf_counter()
    scheduled = await publish(db_url, NEW, rescore=True)
    procs = [
        await asyncio.create_subprocess_exec(*argv, "--batch", str(args.batch))
        for _ in range(args.replicas)
    ]
    for i, proc in enumerate(procs):
        monitor.watch(f"replica-{i}", proc.pid)
    waiting = asyncio.gather(*(p.wait() for p in procs))
    while not waiting.done():
        await asyncio.wait([waiting], timeout=POLL_S)
        monitor.cpu()  # a replica's last CPU figure is kept when it exits
        pending, _ = await counts(db_url)
        done, elapsed = scheduled - pending, time.perf_counter() - started
        print(f"re-scored {done:,} of {scheduled:,} ({done / elapsed:,.0f}/s)", flush=True)
    seconds = time.perf_counter() - started
    if any(await waiting):
        raise RuntimeError("a replica failed")
    cpu = delta(monitor.cpu(), before)
    pending, written = await counts(db_url)
    replicas_cpu = sum(v for k, v in cpu.items() if k.startswith("replica-"))
    return {
        "leads": scheduled,
        "left_due": pending,
        "events_written": written,
        "seconds": round(seconds, 1),
        "leads_per_s": round(scheduled / seconds, 1),
        "cpu_s": cpu,
        "cpu_ms_per_lead": {
            "replicas": round(1000 * replicas_cpu / scheduled, 3),
            "postgres": round(1000 * cpu.get("postgres", 0.0) / scheduled, 3),
        },
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start PostgreSQL (unless DATABASE_URL names one), seed, re-score all; the figures."""
    workdir = Path(tempfile.mkdtemp(prefix="leadloop-bench-rescore-"))
    monitor = Monitor()
    async with bench_stack(workdir, monitor, broker_kind=None) as stack:
        await publish(stack.db_url, OLD, rescore=False)
        seed_s = await seed(stack.db_url, args.leads, OLD)
        result = await rescore_all(args, stack.db_url, monitor)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version()}
    settings = {"replicas": args.replicas, "batch": args.batch, "seed_s": seed_s}
    return {"machine": machine | {"load": os.getloadavg()}, "settings": settings} | result


def main() -> None:
    """`python -m tests.bench.rescore`: the run, or (--replica URL) one replica's scheduler."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--batch", type=int, default=Settings().rescore_batch)
    parser.add_argument("--replica", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("bench-rescore.json"))
    args = parser.parse_args()
    if args.replica:
        asyncio.run(replica(args.replica, args.batch))
        return
    result = asyncio.run(run(args))
    save(result, args.out)
    print(f"\nJSON written to {args.out}")


if __name__ == "__main__":
    main()
