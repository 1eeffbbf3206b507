"""The load: form fills (and demo requests) at a steady rate, retried as a marketing tool does."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ..factories import acme_dental_form

RETRY_S = 0.5  # the load generator's pause before retrying a request

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
    base = acme_dental_form(
        email=email, first_name=f"Lead{n}", last_name="Fault", company=f"ACME Dental {n}"
    )
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


def env_rate(default: float) -> float:
    """LEADLOOP_FAULT_RATE overrides the load's leads per second."""
    return float(os.environ.get("LEADLOOP_FAULT_RATE", default))
