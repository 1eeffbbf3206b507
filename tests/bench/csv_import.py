"""#17's import target: a CSV lead list of N rows (100,000 by default) imported with
`leadloop leads import` and every lead scored, timed from the upload to the last score, with
the CPU of intake, scoring, PostgreSQL and the broker. Intake and scoring run as processes on
the embedded broker and PostgreSQL (or the ones the environment names).

    python -m tests.bench.csv_import [--rows 100000] [--out bench-import.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from leadloop_cli import leads_cmd
from leadloop_cli.infra import EmbeddedBroker, EmbeddedPostgres, create_database, free_port
from leadloop_cli.services import migrate_all
from leadloop_messaging.provisioning import ensure_topics, topic_plan

from .intake import KEY, wait_ready
from .procs import Monitor, delta

INDUSTRIES = ("Healthcare", "Software", "Retail", "Logistics", "Manufacturing")
COUNTRIES = ("DE", "GB", "US", "FR", "NO", "ES")


def write_list(path: Path, rows: int, seed: int = 17) -> None:
    """A trade-show list: `rows` visitors, one in 500 with an invalid email."""
    rng = random.Random(seed)
    with path.open("w") as out:
        out.write("Email,First Name,Last Name,Company,Job Title,Employees,Industry,Country,Badge\n")
        for i in range(rows):
            email = f"visitor{i}@expo{i % 9000}.example" if i % 500 else f"visitor{i}-at-expo"
            out.write(
                f"{email},Guest,No{i},Expo Co {i % 9000},Buyer,{rng.randint(5, 5000)},"
                f"{rng.choice(INDUSTRIES)},{rng.choice(COUNTRIES)},B-{i}\n"
            )


def start(app: str, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`uvicorn --factory app` as a child process logging to `log`."""
    command = [sys.executable, "-m", "uvicorn", "--factory", app, "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


class Clock:
    """The CLI's progress lines, timed: when the upload was answered, the rows all written."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.marks: dict[str, float] = {}
        self.last = ""

    def __call__(self, line: str) -> None:
        now = time.monotonic() - self.started
        if not line.startswith("uploading"):
            self.marks.setdefault("upload_answered_s", now)
        self.last = line
        print(f"\r{line}", end="", file=sys.stderr, flush=True)


async def measure(args: argparse.Namespace, urls: tuple[str, str], csv: Path) -> dict[str, Any]:
    """Run the import as the CLI does; its progress timed."""
    clock = Clock()
    ns = argparse.Namespace(
        file=str(csv),
        intake=urls[0],
        scoring=urls[1],
        api_key=KEY,
        source="event",
        campaign="expo-bench",
        timeout=args.timeout,
    )
    original = leads_cmd.Progress.line

    def line(progress: leads_cmd.Progress, now: float) -> str:
        if progress.status and progress.status["state"] == "finished":
            clock.marks.setdefault("rows_written_s", now - clock.started)
        return original(progress, now)

    leads_cmd.Progress.line = line  # type: ignore[method-assign,assignment]
    try:
        size = await asyncio.to_thread(lambda: csv.stat().st_size)
        progress = await leads_cmd.run(ns, clock, size)
    finally:
        leads_cmd.Progress.line = original  # type: ignore[method-assign]
    total = time.monotonic() - clock.started
    print(file=sys.stderr)
    status = progress.status or {}
    return {
        "rows": status.get("rows_read"),
        "captured": status.get("rows_accepted"),
        "rejected": status.get("rows_rejected"),
        "scored": progress.scored,
        "all_scored_s": round(total, 2),
        **{k: round(v, 2) for k, v in clock.marks.items()},
        "rows_per_s": round((status.get("rows_read") or 0) / total, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="leadloop-bench-import-"))
    monitor = Monitor()
    broker = postgres = None
    procs: list[subprocess.Popen[bytes]] = []
    try:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            broker = EmbeddedBroker(log_path=workdir / "tansu.log").start()
            bootstrap = broker.bootstrap_servers
            assert broker.pid is not None
            monitor.watch("broker", broker.pid)
        server_url = os.environ.get("DATABASE_URL")
        if not server_url:
            postgres = EmbeddedPostgres(workdir / "pgdata").start()
            server_url = postgres.url()
            pid = int((workdir / "pgdata" / "postmaster.pid").read_text().split()[0])
            monitor.watch("postgres", pid, tree=True)
        db_url = await create_database(server_url, f"bench_{uuid.uuid4().hex[:8]}")
        prefix = f"bench{uuid.uuid4().hex[:6]}."
        await ensure_topics(bootstrap, topic_plan(prefix))
        await migrate_all(db_url, env={})
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "LEADLOOP_TOPIC_PREFIX": prefix,
            "LEADLOOP_BOOTSTRAP_API_KEY": KEY,
            "LEADLOOP_LOG_LEVEL": "WARNING",
        }
        urls: list[str] = []
        for name in ("intake", "scoring"):
            port = free_port()
            log = workdir / f"{name}.log"
            proc = start(f"leadloop_{name}.bootstrap:create_app", env, port, log)
            procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
            await wait_ready(urls[-1], proc, log)
            monitor.watch(name, proc.pid)
        csv = workdir / "expo.csv"
        await asyncio.to_thread(write_list, csv, args.rows)
        sampling = asyncio.create_task(monitor.run())
        before = monitor.cpu()
        result = await measure(args, (urls[0], urls[1]), csv)
        cpu = delta(monitor.cpu(), before)
        sampling.cancel()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(20)
        if broker:
            broker.stop()
        if postgres:
            postgres.stop()
            shutil.rmtree(workdir / "pgdata", ignore_errors=True)  # the logs stay
    return {
        "scenario": "csv import, every lead scored",
        "machine": {"cpus": os.cpu_count()},
        "broker": "embedded tansu" if broker else bootstrap,
        **result,
        "cpu_s": cpu,
        "logs": str(workdir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--out", type=Path, default=Path("bench-import.json"))
    args = parser.parse_args()
    result = asyncio.run(run(args))
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"\nJSON written to {args.out}")


if __name__ == "__main__":
    main()
