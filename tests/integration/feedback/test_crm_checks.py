"""CRM input checks on the real broker and Postgres: a reused crm_event_id with another body
is a conflict, touches need a hand-off and a rep it named, times in the future are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from leadloop_events import topics
from leadloop_events.handoff import LeadReassigned
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from .support import T0, captured, handed, send, stage

LEAD = "lead-ACME-DENTAL"


@pytest.fixture
async def handed_to_alice(feedback: httpx.AsyncClient, settings: CommonSettings) -> None:
    """ACME Dental: captured, an SQL, handed to rep-alice, then reassigned to rep-carol."""
    await send(
        settings,
        topics.INTAKE,
        captured(LEAD, "s-acme"),
        captured("lead-GLOBEX", "s-globex"),
    )
    await send(
        settings, topics.LIFECYCLE, stage(LEAD, "sql", 0.2), stage("lead-GLOBEX", "sql", 0.2)
    )
    await send(
        settings,
        topics.HANDOFF,
        handed(LEAD, "rep-alice"),
        LeadReassigned(
            lead_id=LEAD,
            assignment_id=f"a-{LEAD}",
            from_rep_id="rep-alice",
            to_rep_id="rep-carol",
            team="dach",
            reason="no first touch within the SLA",
            attempt=1,
            sla_deadline=T0 + timedelta(days=2),
            reassigned_at=T0 + timedelta(days=1, hours=1),
        ),
    )

    async def carol_known() -> bool:
        sla = (await feedback.get("/v1/reports/sla", params={"from": T0.isoformat()})).json()
        return [g["group"] for g in sla["sales"]["groups"]] == ["rep-carol"]

    await wait_for(carol_known, timeout_s=30, what="feedback to read the hand-off")


def touch(crm_event_id: str, rep_id: str = "rep-alice", **changes: Any) -> dict[str, Any]:
    return {
        "crm_event_id": crm_event_id,
        "lead_id": LEAD,
        "rep_id": rep_id,
        "channel": "call",
        "outcome": "connected",
        "touched_at": (T0 + timedelta(days=1, minutes=12)).isoformat(),
        **changes,
    }


async def test_a_reused_crm_event_id_with_another_body_is_a_conflict(
    feedback: httpx.AsyncClient, handed_to_alice: None
) -> None:
    first = await feedback.post("/v1/crm/touches", json=touch("t-1"))
    assert first.status_code == 202, first.text
    event_id = first.json()["accepted"][0]["event_id"]
    # the same fact again, the time written with an offset: the first answer
    same_time = (T0 + timedelta(days=1, minutes=12)).astimezone(datetime.now().astimezone().tzinfo)
    for again in (touch("t-1"), touch("t-1", touched_at=same_time.isoformat())):
        repeat = await feedback.post("/v1/crm/touches", json=again)
        assert repeat.status_code == 200, repeat.text
        assert repeat.json()["accepted"] == [
            {"crm_event_id": "t-1", "event_id": event_id, "duplicate": True}
        ]
    changed = await feedback.post("/v1/crm/touches", json=touch("t-1", outcome="attempted"))
    assert changed.status_code == 409, changed.text
    problem = changed.json()
    assert problem["type"].endswith("crm-event-id-reused")
    assert [(e["pointer"], e["code"]) for e in problem["errors"]] == [
        ("/items/0/crm_event_id", "crm_event_id_reused")
    ]


async def test_touches_need_a_handoff_and_a_rep_it_named(
    feedback: httpx.AsyncClient, handed_to_alice: None
) -> None:
    never_handed = await feedback.post(
        "/v1/crm/touches",
        json=[touch("t-ok", rep_id="rep-carol"), touch("t-2", lead_id="lead-GLOBEX")],
    )
    assert never_handed.status_code == 422
    assert [(e["pointer"], e["code"]) for e in never_handed.json()["errors"]] == [
        ("/items/1", "not_assigned")
    ]
    stranger = await feedback.post("/v1/crm/touches", json=touch("t-3", rep_id="rep-mallory"))
    assert stranger.status_code == 422
    assert [(e["pointer"], e["code"]) for e in stranger.json()["errors"]] == [
        ("/items/0/rep_id", "unknown_rep")
    ]
    # alice (the first owner) and carol (the rep it was reassigned to) are both reps
    for crm_event_id, rep in (("t-4", "rep-alice"), ("t-5", "rep-carol")):
        ok = await feedback.post("/v1/crm/touches", json=touch(crm_event_id, rep_id=rep))
        assert ok.status_code == 202, ok.text


@pytest.mark.parametrize(
    ("path", "field"),
    [("touches", "touched_at"), ("status-updates", "changed_at"), ("deals", "closed_at")],
)
async def test_times_in_the_future_are_refused(
    feedback: httpx.AsyncClient, path: str, field: str
) -> None:
    items = {
        "touches": touch("t-f"),
        "status-updates": {"crm_event_id": "s-f", "lead_id": LEAD, "status": "accepted"},
        "deals": {
            "crm_event_id": "d-f",
            "lead_id": LEAD,
            "deal_id": "D-F",
            "stage": "won",
            "amount": "100",
            "currency": "EUR",
        },
    }
    for future in ("9999-12-31T00:00:00Z", (datetime.now(UTC) + timedelta(hours=1)).isoformat()):
        resp = await feedback.post(f"/v1/crm/{path}", json={**items[path], field: future})
        assert resp.status_code == 422, resp.text
        assert [e["pointer"] for e in resp.json()["errors"]] == [f"/items/0/{field}"]
    # a clock a few minutes ahead is skew, not the future: the item passes the time check
    skewed = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    resp = await feedback.post(f"/v1/crm/{path}", json={**items[path], field: skewed})
    assert resp.status_code == 422 and resp.json()["errors"][0]["code"] == "unknown_lead"
