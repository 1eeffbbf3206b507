"""#17's import target: a CSV lead list of N rows (100,000 by default) imported with
`leadloop leads import` and every lead scored, timed from the upload to the last score, with
the CPU of intake, scoring, PostgreSQL and the broker. Intake and scoring run as processes on
the embedded broker and PostgreSQL (or the ones the environment names).

    python -m tests.bench.csv_import [--rows 100000] [--out bench-import.json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from leadloop_cli import leads_cmd

from .procs import Monitor, delta
from .stack import KEY, bench_stack, save

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


class Clock:
    """The CLI's progress lines, timed: when the upload was answered, the rows all written."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.marks: dict[str, float] = {}
        self.last = ""
        self.show = leads_cmd.Line(sys.stderr)  # as the CLI shows it: in place, or every 2 s

    def __call__(self, line: str) -> None:
        now = time.monotonic() - self.started
        if not line.startswith("uploading"):
            self.marks.setdefault("upload_answered_s", now)
        self.last = line
        self.show(line)


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
    clock.show.end()
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
    async with bench_stack(workdir, monitor, services=("intake", "scoring")) as stack:
        csv = workdir / "expo.csv"
        await asyncio.to_thread(write_list, csv, args.rows)
        sampling = asyncio.create_task(monitor.run())
        before = monitor.cpu()
        result = await measure(args, (stack.urls["intake"], stack.urls["scoring"]), csv)
        cpu = delta(monitor.cpu(), before)
        sampling.cancel()
    return {
        "scenario": "csv import, every lead scored",
        "machine": {"cpus": os.cpu_count()},
        "broker": stack.broker_label,
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
    save(result, args.out)
    print(f"\nJSON written to {args.out}")


if __name__ == "__main__":
    main()
