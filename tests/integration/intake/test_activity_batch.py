"""A full batch of 1,000 activities (#12 item 3): its body is over the default 512 KiB, so
POST /v1/activities has its own limit (LEADLOOP_MAX_ACTIVITIES_BYTES); it is accepted, and
each activity becomes its own event, far under the broker's record limit."""

from __future__ import annotations

import json

import httpx

from leadloop_events.limits import MAX_EVENT_BYTES
from leadloop_intake.config import Settings

from .conftest import KEY
from .test_intake_api import events

AUTH = {"authorization": f"Bearer {KEY}"}


async def test_a_batch_of_1000_activities_over_512_kib_is_accepted_and_each_event_fits(
    client: httpx.AsyncClient, intake_settings: Settings
) -> None:
    r = await client.post(
        "/v1/form-submissions", json={"email": "ana@acme-dental.com"}, headers=AUTH
    )
    lead_id = r.json()["lead_id"]
    one = {
        "lead_id": lead_id,
        "type": "page_view",
        "occurred_at": "2026-11-01T10:00:00Z",
        "url": "https://www.acme-dental.example.com/" + "p" * 300,
        "properties": {"referrer": "https://www.linkedin.com/" + "r" * 200},
    }
    body = json.dumps({"activities": [one] * 1000}).encode()
    assert len(body) > intake_settings.max_body_bytes  # the default limit would refuse it
    r = await client.post(
        "/v1/activities", content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 202, r.text[:500]
    assert len(r.json()["activity_ids"]) == 1000
    published = await events(intake_settings, expect=1001)
    sizes = [len(json.dumps(e).encode()) for e in published]
    assert max(sizes) < MAX_EVENT_BYTES // 100
