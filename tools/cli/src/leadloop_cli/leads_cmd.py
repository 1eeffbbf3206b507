"""`leadloop leads import FILE.csv`: upload a lead list to intake and follow it until every
captured row is scored: intake's `GET /v1/imports/{id}` (rows read, captured, rejected) and
scoring's `GET /v1/imports/{id}/scoring` (captures scored), one progress line."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from leadloop_cli.service_api import add_api_key, add_url, response_refusal

if TYPE_CHECKING:
    import httpx

CHUNK = 256 * 1024
POLL_S = 0.5
ERRORS_SHOWN = 10


class ImportFailed(Exception):
    """The import cannot go on; its message is the one line the CLI prints."""


@dataclass
class Progress:
    """What the services said last, and since when the CLI has been at it."""

    started: float
    uploaded: int = 0
    size: int = 0
    status: dict[str, Any] | None = None
    scored: int = 0
    import_id: str = ""

    @property
    def done(self) -> bool:
        """The import finished and every row it captured is scored."""
        s = self.status
        return s is not None and s["state"] == "finished" and self.scored >= s["rows_accepted"]

    def line(self, now: float) -> str:
        """The progress line: uploaded, read, captured, rejected, scored, rate, elapsed."""
        elapsed = now - self.started
        if self.status is None:
            return f"uploading {_mb(self.uploaded)} of {_mb(self.size)} MB · {elapsed:.1f} s"
        s = self.status
        rate = self.scored / elapsed if elapsed > 0 else 0.0
        return (
            f"{s['rows_read']:,} rows read: {s['rows_accepted']:,} captured, "
            f"{s['rows_rejected']:,} rejected · {self.scored:,} scored · "
            f"{rate:,.0f} leads/s · {elapsed:.1f} s"
        )

    def summary(self, name: str, now: float) -> list[str]:
        """The closing lines: totals, then the first rejected rows."""
        s = self.status or {}
        lines = [
            f"{name}: import {self.import_id}: {s['rows_read']:,} rows "
            f"in {now - self.started:.1f} s: "
            f"{s['rows_accepted']:,} captured ({s['new_leads']:,} new leads), "
            f"{s['rows_rejected']:,} rejected; {self.scored:,} scored"
        ]
        for error in s.get("errors", [])[:ERRORS_SHOWN]:
            reasons = "; ".join(
                f"{e.get('field', 'row')}: {e.get('message')}" for e in error["errors"]
            )
            lines.append(f"  line {error['line']}: {reasons}")
        if s.get("rows_rejected", 0) > ERRORS_SHOWN:
            lines.append(f"  ... {s['rows_rejected'] - ERRORS_SHOWN:,} more rejected rows")
        return lines


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f}"


def _refusal(who: str, response: httpx.Response) -> ImportFailed:
    """One line out of a service's problem+json (or whatever it answered)."""
    return ImportFailed(f"{who} answered {response_refusal(response)}")


async def _chunks(file: IO[bytes], progress: Progress) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(file.read, CHUNK):
        progress.uploaded += len(chunk)
        yield chunk


async def _upload(
    intake: httpx.AsyncClient, path: Path, args: argparse.Namespace, progress: Progress
) -> str:
    """Send the file; the import's id (intake answers once it has the file and its header)."""
    params = {k: v for k, v in (("source", args.source), ("campaign", args.campaign)) if v}
    headers = {"content-type": "text/csv", "prefer": "respond-async"}
    with path.open("rb") as file:
        response = await intake.post(
            "/v1/imports", params=params, content=_chunks(file, progress), headers=headers
        )
    if response.status_code != 202:
        raise _refusal("intake", response)
    import_id: str = response.json()["import_id"]
    return import_id


async def _poll(
    intake: httpx.AsyncClient, scoring: httpx.AsyncClient, import_id: str, progress: Progress
) -> None:
    """Ask both services once, intake first (a capture is scored only after it was read)."""
    status, scored = await asyncio.gather(
        intake.get(f"/v1/imports/{import_id}", params={"errors": ERRORS_SHOWN}),
        scoring.get(f"/v1/imports/{import_id}/scoring"),
    )
    if status.status_code != 200:
        raise _refusal("intake", status)
    if scored.status_code != 200:
        raise _refusal("scoring", scored)
    progress.status = status.json()
    progress.scored = scored.json()["captures_scored"]
    if progress.status["state"] == "failed":
        # The reason says it all, e.g. a writer stopped midway: the last line written.
        raise ImportFailed(f"import {import_id} failed: {progress.status['failure']}")


async def run(args: argparse.Namespace, show: Any, size: int) -> Progress:
    """Upload, then poll until every captured row is scored; `show(line)` after each step."""
    import httpx

    path = Path(args.file)
    progress = Progress(started=time.monotonic(), size=size)
    auth = {"authorization": f"Bearer {args.api_key}"}
    timeout = httpx.Timeout(30.0, read=300.0)
    async with (
        httpx.AsyncClient(base_url=args.intake, headers=auth, timeout=timeout) as intake,
        httpx.AsyncClient(base_url=args.scoring, headers=auth, timeout=timeout) as scoring,
    ):
        upload = asyncio.create_task(_upload(intake, path, args, progress))
        while not upload.done():
            show(progress.line(time.monotonic()))
            await asyncio.wait([upload], timeout=POLL_S)
        import_id = progress.import_id = upload.result()
        deadline = time.monotonic() + args.timeout
        while True:
            await _poll(intake, scoring, import_id, progress)
            show(progress.line(time.monotonic()))
            if progress.done:
                return progress
            if time.monotonic() > deadline:
                raise ImportFailed(
                    f"not every lead scored after {args.timeout:g} s (import {import_id})"
                )
            await asyncio.sleep(POLL_S)


class Line:
    """The progress line: redrawn in place on a terminal, else printed every few seconds (and
    its last state at the end)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = time.monotonic()
        self.pending: str | None = None

    def __call__(self, text: str) -> None:
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
            self.stream.flush()
        elif time.monotonic() - self.last >= 2.0:
            self.last = time.monotonic()
            print(text, file=self.stream, flush=True)
            self.pending = None
        else:
            self.pending = text

    def end(self, *, failed: bool = False) -> None:
        """Close the line: a newline on a terminal, else the state not printed yet (none after
        a failure: its one line says it)."""
        if self.tty:
            self.stream.write("\n")
        elif self.pending is not None and not failed:
            print(self.pending, file=self.stream, flush=True)


def cmd_import(args: argparse.Namespace) -> int:
    """Import FILE.csv and wait until each of its leads is scored; bad input: one line, 1."""
    import httpx

    path = Path(args.file)
    if not path.is_file():
        print(f"leadloop: {path}: no such file", file=sys.stderr)
        return 1
    if not args.api_key:
        print("leadloop: an API key is needed: --api-key or LEADLOOP_API_KEY", file=sys.stderr)
        return 1
    line = Line(sys.stderr)
    try:
        progress = asyncio.run(run(args, line, path.stat().st_size))
    except (ImportFailed, OSError) as exc:
        line.end(failed=True)
        print(f"leadloop: {path}: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        line.end(failed=True)
        print(f"leadloop: {path}: {type(exc).__name__}: {exc or 'no answer'}", file=sys.stderr)
        return 1
    line.end()
    print("\n".join(progress.summary(str(path), time.monotonic())))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `leads` command group."""
    group = sub.add_parser("leads", help="leads in bulk").add_subparsers(
        dest="leads_command", required=True
    )
    imp = group.add_parser(
        "import",
        help="import a CSV lead list and wait until every lead is scored",
        description="Columns by header name: email (required), first name, last name, company, "
        "job title, employees, industry, country, phone, source, campaign, consent; others land "
        "in the lead's fields. Rejected rows are reported by line; the rest are imported.",
    )
    imp.add_argument("file", help="the CSV file (UTF-8, a header line first)")
    add_url(imp, "intake", "--intake")
    add_url(imp, "scoring", "--scoring")
    add_api_key(imp, "intake:write and reports:read")
    imp.add_argument("--source", default="import", help="for rows naming none (default import)")
    imp.add_argument("--campaign", help="for rows naming none")
    imp.add_argument(
        "--timeout", type=float, default=3600.0, help="give up after this many seconds"
    )
    imp.set_defaults(func=cmd_import)
