"""The loop's traffic: marketing posts form fills, hand-raises and activity to intake; a plain
reader watches leads.intake, leads.lifecycle and leads.handoff; sales answers each lead alert
with a CRM touch on feedback, as a CRM would."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from leadloop_events import topics

from .baselines import topic_partitions

COUNTRIES = ("DE", "US", "GB", "SE", "AT", "CA", "IE", "FI")
EXTRA_ACTIVITY = ("pricing_page_view", "email_click", "webinar_attended")
TOUCH_DEADLINE_S = 60.0
POLL_S = 0.05

# Marks of a lead's way through the loop, in order, and how to recognize each on its topic.
CAPTURED, HAND_RAISE, SQL, ASSIGNED = "captured", "hand_raise", "sql", "assigned"


@dataclass
class Lead:
    """One lead's journey as the load generator saw it (perf_counter seconds)."""

    index: int
    phase: str
    form_at: float = math.nan
    hand_raise_at: float = math.nan
    lead_id: str = ""


def marks_of(topic_suffix: str, value: bytes) -> list[tuple[str, str]]:
    """(mark, lead id) pairs a record carries; cheap byte checks before parsing JSON."""
    if topic_suffix == topics.HANDOFF and b'"leadloop.lead.assigned.v1"' in value:
        return [(ASSIGNED, json.loads(value)["subject"])]
    if topic_suffix == topics.LIFECYCLE and b'"leadloop.lead.stage_changed.v1"' in value:
        event = json.loads(value)
        return [(SQL, event["subject"])] if event["data"]["to_stage"] == "sql" else []
    if topic_suffix == topics.INTAKE:
        if b'"leadloop.lead.captured.v1"' in value:
            return [(CAPTURED, json.loads(value)["subject"])]
        if b'"demo_request"' in value:
            event = json.loads(value)
            if event["data"].get("activity_type") == "demo_request":
                return [(HAND_RAISE, event["subject"])]
    return []


class Reader:
    """Reads three topics by assign() (a group join takes seconds here: BROKER-NOTES.md) and
    records when each lead's marks first become readable; hands each alert to sales."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.seen: dict[tuple[str, str], float] = {}
        self.alerts_per_lead: Counter[str] = Counter()
        self.alert_times: list[float] = []
        self.records: Counter[str] = Counter()
        self.alerts: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()
        self._waiters: dict[str, asyncio.Future[float]] = {}

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=10,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            names = [self.prefix + t for t in (topics.INTAKE, topics.LIFECYCLE, topics.HANDOFF)]
            consumer.assign([tp for name in names for tp in await topic_partitions(consumer, name)])
            await consumer.seek_to_beginning()
            while True:
                batch = await consumer.getmany(timeout_ms=100, max_records=5000)
                now = time.perf_counter()
                for tp, records in batch.items():
                    suffix = tp.topic.removeprefix(self.prefix)
                    self.records[suffix] += len(records)
                    for record in records:
                        for mark, lead_id in marks_of(suffix, record.value or b""):
                            self._record(mark, lead_id, now, record.value or b"")
        finally:
            await consumer.stop()

    def _record(self, mark: str, lead_id: str, now: float, value: bytes) -> None:
        self.seen.setdefault((mark, lead_id), now)
        if mark != ASSIGNED:
            return
        self.alerts_per_lead[lead_id] += 1
        if self.alerts_per_lead[lead_id] > 1:
            return  # a duplicate alert: counted, not answered twice
        self.alert_times.append(now)
        rep = json.loads(value)["data"].get("owner_rep_id")
        self.alerts.put_nowait((lead_id, rep))
        waiter = self._waiters.pop(lead_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(now)

    async def assigned(self, lead_id: str, timeout_s: float) -> float:
        """When `lead_id`'s alert became readable (waits for it)."""
        if (ASSIGNED, lead_id) in self.seen:
            return self.seen[(ASSIGNED, lead_id)]
        waiter = self._waiters.setdefault(lead_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(waiter), timeout_s)


def form_fill(run: str, i: int) -> dict[str, Any]:
    """A fit buyer (grade A under the example agreement) at a mid-market company."""
    company = i % 400
    return {
        "email": f"buyer{i}.{run}@company{company}.example",
        "first_name": f"Buyer{i}",
        "last_name": "Bench",
        "company": f"Company {company}",
        "company_size": 50 + (i * 37) % 1900,  # some are enterprise (1,000+)
        "industry": "Software",
        "country": COUNTRIES[i % len(COUNTRIES)],
        "job_title": "Head of Operations",
        "source": "paid_search",
        "campaign": "bench-campaign",
    }


class Marketing:
    """Posts each lead's journey to intake: form fill, hand-raise, then more activity."""

    def __init__(self, client: httpx.AsyncClient, run: str) -> None:
        self.client = client
        self.run = run
        self.leads: list[Lead] = []

    async def journey(self, index: int, phase: str) -> Lead:
        lead = Lead(index, phase)
        self.leads.append(lead)
        lead.form_at = time.perf_counter()
        r = await self.client.post("/v1/form-submissions", json=form_fill(self.run, index))
        _expect(r, 202)
        lead.lead_id = r.json()["lead_id"]
        now = datetime.now(UTC).isoformat()
        lead.hand_raise_at = time.perf_counter()
        r = await self.client.post(
            "/v1/activities",
            json={"lead_id": lead.lead_id, "type": "demo_request", "occurred_at": now},
        )
        _expect(r, 202)
        extra = [{"lead_id": lead.lead_id, "type": t, "occurred_at": now} for t in EXTRA_ACTIVITY]
        _expect(await self.client.post("/v1/activities", json={"activities": extra}), 202)
        return lead


class Sales:
    """Answers every alert with a touch by the assigned rep; feedback may not have read the lead
    yet (422), so a touch is retried until accepted."""

    def __init__(self, client: httpx.AsyncClient, alerts: asyncio.Queue[tuple[str, str | None]]):
        self.client = client
        self.alerts = alerts
        self.accepted: dict[str, float] = {}
        self.retries = 0
        self.failed: dict[str, str] = {}

    async def work(self) -> None:
        while True:
            lead_id, rep = await self.alerts.get()
            await self.touch(lead_id, rep or "rep-alice")

    async def touch(self, lead_id: str, rep: str) -> None:
        body = {
            "crm_event_id": f"bench-touch-{lead_id}",
            "lead_id": lead_id,
            "rep_id": rep,
            "channel": "call",
            "outcome": "connected",
            "touched_at": datetime.now(UTC).isoformat(),
        }
        deadline = time.monotonic() + TOUCH_DEADLINE_S
        while True:
            r = await self.client.post("/v1/crm/touches", json=body)
            if r.status_code in (200, 202):
                self.accepted[lead_id] = time.perf_counter()
                return
            if r.status_code != 422 or time.monotonic() > deadline:
                self.failed[lead_id] = f"{r.status_code} {r.text[:300]}"
                return
            self.retries += 1
            await asyncio.sleep(0.2)  # until feedback has read this lead's alert


def _expect(r: httpx.Response, status: int) -> None:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
