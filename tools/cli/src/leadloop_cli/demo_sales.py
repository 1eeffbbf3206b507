"""The sales side of `make demo`: reps in routing, and a CRM that works the leads it is handed
(touches, acceptances and rejections with reasons, opportunities, wins and losses)."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

ALWAYS = {
    "timezone": "UTC",
    "start": "00:00:00",
    "end": "23:59:59",
    "workdays": [0, 1, 2, 3, 4, 5, 6],
}
REPS = (
    ("rep-alice", "Alice Schmidt", ("dach",), 3),
    ("rep-bruno", "Bruno Keller", ("dach", "enterprise"), 2),
    ("rep-chloe", "Chloe Martin", ("uk-ireland", "enterprise"), 2),
    ("rep-dev", "Dev Patel", ("north-america",), 3),
    ("rep-emma", "Emma Larsen", ("nordics", "north-america"), 1),
)
CAMPAIGN_SPEND = {
    "2025-q3-revops-webinar": 8000,
    "2025-q3-pipeline-ebook": 3000,
    "brand-search-always-on": 12000,
    "trade-show-saastr-2025": 25000,
    "partner-referral-program": 4000,
    "nurture-mql-recycle": 1500,
}
REJECTION_REASONS = ("bad_fit", "no_interest", "bad_data", "no_budget", "wrong_timing")


IGNORED_SHARE = 0.12  # hand-offs nobody touches: they breach the SLA, as in real life


@dataclass
class Pipeline:
    """What the simulated CRM knows about each handed-off lead: its next step (-1: done or
    dropped) and when that step is due, so speed to lead varies as a team's would."""

    step: dict[str, int] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)
    pace: float = 1.0  # 0 in tests: every step is due at once

    def ready(self, rng: random.Random, lead_id: str) -> bool:
        now = time.monotonic()
        if lead_id not in self.due:
            if rng.random() < IGNORED_SHARE * self.pace:
                self.step[lead_id] = -1
                return False
            self.due[lead_id] = now + rng.uniform(1, 40) * self.pace
        return now >= self.due[lead_id]

    def advance(self, rng: random.Random, lead_id: str, step: int) -> None:
        self.step[lead_id] = step
        self.due[lead_id] = time.monotonic() + rng.uniform(2, 12) * self.pace


async def set_up(routing: httpx.AsyncClient, feedback: httpx.AsyncClient) -> None:
    """Reps that are always available, and campaign costs for ROI."""
    for rep_id, name, teams, weight in REPS:
        first = name.split()[0].lower()
        r = await routing.put(
            f"/v1/reps/{rep_id}",
            json={
                "name": name,
                "email": f"{first}@northwind.example",
                "teams": list(teams),
                "weight": weight,
                "working_hours": ALWAYS,
                "manager_email": "head-of-sales@northwind.example",
            },
        )
        r.raise_for_status()
    for campaign, spend in CAMPAIGN_SPEND.items():
        r = await feedback.put(
            f"/v1/campaigns/{campaign}",
            json={"name": campaign.replace("-", " "), "spend": str(spend), "currency": "EUR"},
        )
        r.raise_for_status()


async def work(
    rng: random.Random,
    lead_ids: list[str],
    routing: httpx.AsyncClient,
    feedback: httpx.AsyncClient,
    pipeline: Pipeline,
    sample: int = 12,
) -> int:
    """Move a few handed-off leads one CRM step further; returns the calls accepted."""
    accepted = 0
    for lead_id in rng.sample(lead_ids, min(len(lead_ids), sample)):
        step = pipeline.step.get(lead_id, 0)
        if step < 0 or step >= 4:
            continue
        r = await routing.get(f"/v1/leads/{lead_id}/assignment")
        if r.status_code != 200 or not pipeline.ready(rng, lead_id):
            continue
        rep = r.json()["current"].get("rep_id") or "rep-alice"
        path, body, next_step = next_call(rng, lead_id, rep, step)
        resp = await feedback.post(f"/v1/crm/{path}", json=body)
        if resp.status_code in (200, 202):
            pipeline.advance(rng, lead_id, next_step)
            accepted += 1
    return accepted


Call = tuple[str, dict[str, Any], int]  # the CRM path, its body, and the step that follows
DEAL_SIZES = (6000, 12000, 18000, 24000, 36000, 60000)


def deal_size(deal_id: str) -> int:
    """The deal's amount: the same from created to won or lost, as a real CRM keeps it."""
    return random.Random(deal_id).choice(DEAL_SIZES)


def next_call(rng: random.Random, lead_id: str, rep: str, step: int) -> Call:
    """The CRM's next call for a lead at `step`: touch, accept or reject, open a deal, close
    it; with the step that follows (-1 when the lead leaves the pipeline)."""
    now = datetime.now(UTC).isoformat()
    base = {"crm_event_id": f"demo-{lead_id}-{step}", "lead_id": lead_id}
    if step == 0:
        return "touches", _touch(rng, base, rep, now), 1
    if step == 1:
        return _status_update(rng, base, now)
    return _deal(rng, base, lead_id, step, now)


def _touch(rng: random.Random, base: dict[str, Any], rep: str, now: str) -> dict[str, Any]:
    """A first call or email by the rep."""
    return {
        **base,
        "rep_id": rep,
        "channel": rng.choice(["call", "email"]),
        "outcome": rng.choice(["attempted", "connected"]),
        "touched_at": now,
    }


def _status_update(rng: random.Random, base: dict[str, Any], now: str) -> Call:
    """Sales accepts the lead, or one time in four rejects it with a reason."""
    if rng.random() < 0.25:
        reason = rng.choice(REJECTION_REASONS)
        body = {**base, "status": "rejected", "reason_code": reason, "changed_at": now}
        return "status-updates", body, -1
    return "status-updates", {**base, "status": "accepted", "changed_at": now}, 2


def _deal(rng: random.Random, base: dict[str, Any], lead_id: str, step: int, now: str) -> Call:
    """Open the lead's deal (step 2), or close it won or lost (step 3)."""
    deal_id = f"deal-{lead_id[:8]}"
    amount = str(deal_size(deal_id))
    if step == 2:
        opened = {"stage": "created", "amount": amount, "currency": "EUR", "closed_at": now}
        return "deals", {**base, "deal_id": deal_id, **opened}, 3
    won = rng.random() < 0.45
    closed = {
        "stage": "won" if won else "lost",
        "amount": amount,
        "currency": "EUR",
        "recurring": True,
        "reason": None if won else "chose a competitor",
        "closed_at": now,
    }
    return "deals", {**base, "deal_id": deal_id, **closed}, 4


async def run_sales(
    stop: asyncio.Event,
    rng: random.Random,
    lead_ids: list[str],
    routing_url: str,
    feedback_url: str,
    api_key: str,
    interval_s: float = 3.0,
) -> None:
    """Until stopped: every few seconds, work some of the leads the demo created."""
    headers = {"Authorization": f"Bearer {api_key}"}
    pipeline = Pipeline()
    async with (
        httpx.AsyncClient(base_url=routing_url, headers=headers, timeout=10) as routing,
        httpx.AsyncClient(base_url=feedback_url, headers=headers, timeout=10) as feedback,
    ):
        try:
            await set_up(routing, feedback)
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            print(f"sales simulation off: {exc!r}", flush=True)
            return
        while not stop.is_set():
            try:
                await work(rng, lead_ids, routing, feedback, pipeline)
            except httpx.TransportError as exc:
                print(f"CRM simulation will retry: {exc!r}", flush=True)
            try:
                await asyncio.wait_for(stop.wait(), interval_s)
            except TimeoutError:
                continue
