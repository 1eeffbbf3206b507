"""Group commit at intake's HTTP edge on a real PostgreSQL: a crowd of concurrent form fills,
HubSpot calls and activities shares transactions, yet each request is stored exactly once with
its event, and a bad one in the crowd gets its own 422 while the others get 202."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events.intake import ActivityRecorded, LeadCaptured
from leadloop_intake.adapters.tables import activities, outbox, submissions

from .conftest import KEY
from .test_intake_api import hubspot_headers

AUTH = {"authorization": f"Bearer {KEY}"}
HUBSPOT_URL = "http://intake/v1/webhooks/hubspot"
FORM_FILLS = 40


def committed() -> tuple[float, float]:
    """(transactions, requests) the group commit has committed so far in this process."""
    count = REGISTRY.get_sample_value("leadloop_commit_group_calls_count") or 0.0
    total = REGISTRY.get_sample_value("leadloop_commit_group_calls_sum") or 0.0
    return count, total


def activity(lead_id: str, n: int) -> dict[str, Any]:
    return {"lead_id": lead_id, "type": "page_view", "occurred_at": f"2026-11-01T10:{n:02d}:00Z"}


def hubspot(client: httpx.AsyncClient, n: int) -> Any:
    body = json.dumps({"properties": {"email": {"value": f"hs-{n}@globex.io"}}}).encode()
    headers = hubspot_headers(body, HUBSPOT_URL, int(time.time() * 1000))
    return client.post(HUBSPOT_URL, content=body, headers=headers)


async def outbox_rows(engine: AsyncEngine, event_type: str, field: str) -> Counter[str]:
    """How many outbox rows of `event_type` carry each value of `data[field]`."""
    async with engine.connect() as conn:
        rows = await conn.scalars(
            sa.select(outbox.c.payload).where(outbox.c.event_type == event_type)
        )
        return Counter(json.loads(payload)["data"][field] for payload in rows)


async def rows(engine: AsyncEngine, column: sa.Column[str]) -> Counter[str]:
    """How many rows of the column's table carry each value."""
    async with engine.connect() as conn:
        return Counter(await conn.scalars(sa.select(column)))


async def form_fill(
    client: httpx.AsyncClient, email: str, key: str | None = None
) -> httpx.Response:
    headers = AUTH if key is None else {**AUTH, "Idempotency-Key": key}
    return await client.post("/v1/form-submissions", json={"email": email}, headers=headers)


async def crowd(client: httpx.AsyncClient, leads: list[str]) -> dict[str, list[httpx.Response]]:
    """Form fills, activities, HubSpot calls, a retry and two bad requests, all at once."""
    fills = [form_fill(client, f"fill-{n}@acme-dental.com") for n in range(FORM_FILLS)]
    signals = [
        client.post("/v1/activities", json=activity(leads[n % len(leads)], n), headers=AUTH)
        for n in range(FORM_FILLS // 2)
    ]
    twice = [form_fill(client, "di@initech.com", "order-8") for _ in range(2)]
    bad = [
        client.post("/v1/activities", json=activity("no-such-lead", 0), headers=AUTH),
        form_fill(client, "other@initech.com", "order-7"),
    ]
    calls = {"fills": fills, "signals": signals, "twice": twice, "bad": bad}
    calls["hubspot"] = [hubspot(client, n) for n in range(4)]
    answers = iter(await asyncio.gather(*(c for group in calls.values() for c in group)))
    return {name: [next(answers) for _ in group] for name, group in calls.items()}


async def test_a_crowd_of_requests_is_stored_once_each_in_fewer_transactions(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    before = [await form_fill(client, f"known-{n}@acme-dental.com") for n in range(4)]
    before.append(await form_fill(client, "cy@initech.com", "order-7"))
    assert [r.status_code for r in before] == [202] * 5
    transactions_before, requests_before = committed()

    answers = await crowd(client, [r.json()["lead_id"] for r in before[:4]])
    good = [r for name, group in answers.items() if name != "bad" for r in group]
    assert [r.status_code for r in good] == [202] * len(good), [r.text for r in good]
    assert [r.status_code for r in answers["bad"]] == [422, 422]
    assert [r.json()["type"].rsplit("/", 1)[-1] for r in answers["bad"]] == [
        "unknown-lead",
        "idempotency-key-reused",
    ]
    # the same key twice in the crowd: one ran, the other got its answer back
    first, retry = answers["twice"]
    assert first.json() == retry.json()
    assert {first.headers.get("Idempotent-Replayed"), retry.headers.get("Idempotent-Replayed")} == {
        None,
        "true",
    }

    # every submission and activity stored once, each with its one event; the bad ones nowhere
    captures = [*before, *answers["fills"], first, *answers["hubspot"]]
    submission_ids = Counter(r.json()["submission_id"] for r in captures)
    assert len(submission_ids) == len(captures)
    assert await rows(engine, submissions.c.submission_id) == submission_ids
    assert await outbox_rows(engine, LeadCaptured.event_type, "submission_id") == submission_ids
    activity_ids = Counter(a for r in answers["signals"] for a in r.json()["activity_ids"])
    assert sum(activity_ids.values()) == len(answers["signals"])
    assert await rows(engine, activities.c.activity_id) == activity_ids
    assert await outbox_rows(engine, ActivityRecorded.event_type, "activity_id") == activity_ids

    transactions, requests = (
        a - b for a, b in zip(committed(), (transactions_before, requests_before), strict=True)
    )
    assert requests == len(good)  # the 422s committed nothing
    assert transactions < requests, f"{requests} requests in {transactions} transactions"
