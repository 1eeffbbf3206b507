"""Feedback decides the sales side of the lifecycle: each status or deal it accepts carries the
move it decided (from where feedback last knew the lead), and a move the lifecycle does not
allow from there is refused with a 409, before anything reaches scoring."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from leadloop_events import topics
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from ..messaging.support import read_all
from .support import captured, send, stage

LEAD = "lead-UMBRELLA-DENTAL"


def status(crm_event_id: str, value: str) -> dict[str, Any]:
    return {
        "crm_event_id": crm_event_id,
        "lead_id": LEAD,
        "status": value,
        "changed_at": datetime.now(UTC).isoformat(),
    }


async def test_each_accepted_move_is_published_as_decided(
    feedback: httpx.AsyncClient, settings: CommonSettings
) -> None:
    await send(settings, topics.INTAKE, captured(LEAD, "s-umbrella"))
    await send(settings, topics.LIFECYCLE, stage(LEAD, "sql", 0.2))

    async def accepted() -> bool:
        answer = await feedback.post("/v1/crm/status-updates", json=status("u-1", "accepted"))
        return answer.status_code == 202

    await wait_for(accepted, timeout_s=30, what="feedback to know the SQL")
    # No stage_changed comes back in this test (no scoring runs): feedback decides each next
    # move from the stage it decided last.
    working = await feedback.post("/v1/crm/status-updates", json=status("u-2", "working"))
    assert working.status_code == 202, working.text
    opportunity = await feedback.post("/v1/crm/status-updates", json=status("u-3", "opportunity"))
    assert opportunity.status_code == 202, opportunity.text
    back = await feedback.post("/v1/crm/status-updates", json=status("u-4", "accepted"))
    assert back.status_code == 409 and back.json()["errors"][0]["code"] == "impossible_transition"
    assert "from opportunity to accepted" in back.json()["errors"][0]["message"]

    async def published() -> list[dict[str, Any]]:
        records = await read_all(
            settings.kafka_bootstrap_servers,
            settings.topic(topics.FEEDBACK),
            expect=10_000,
            timeout_s=2,
        )
        events = [json.loads(r.value) for r in records]
        return [e["data"] for e in events if e["subject"] == LEAD]

    async def three_published() -> bool:
        return len(await published()) == 3

    await wait_for(three_published, timeout_s=30, what="the three accepted statuses")
    moves = [(d["status"], d.get("from_stage"), d.get("to_stage")) for d in await published()]
    assert moves == [
        ("accepted", "sql", "accepted"),
        ("working", None, None),
        ("opportunity", "accepted", "opportunity"),
    ]
