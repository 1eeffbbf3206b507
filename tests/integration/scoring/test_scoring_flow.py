"""Scoring on the real broker and Postgres: form fills become scores, a fit lead's demo request
becomes an SQL carrying the lead intelligence, duplicates change nothing, poison goes to the DLQ."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged
from leadloop_platform.settings import CommonSettings
from leadloop_scoring.adapters.tables import score_history, stage_history

from ...factories import acme_dental_form
from ...waiting import wait_for
from ..messaging.support import produce, read_all
from .conftest import Loop

ANA = acme_dental_form()


async def lifecycle(settings: CommonSettings, expect: int) -> list[dict[str, Any]]:
    records = await read_all(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.LIFECYCLE),
        expect=expect,
        timeout_s=30,
    )
    return [json.loads(r.value) for r in records]


def of(events: list[dict[str, Any]], kind: str, lead_id: str) -> list[dict[str, Any]]:
    return [
        e for e in events if e["type"] == f"leadloop.lead.{kind}.v1" and e["subject"] == lead_id
    ]


async def test_form_fill_to_score_and_demo_request_to_sql_with_intelligence(
    loop: Loop, settings: CommonSettings
) -> None:
    r = await loop.intake.post(
        "/v1/form-submissions", json=ANA, headers={"x-correlation-id": "ana-form"}
    )
    lead_id = r.json()["lead_id"]

    async def scores_recorded(count: int) -> None:
        async def recorded() -> bool:
            view = await loop.scoring.get(f"/v1/leads/{lead_id}/score")
            return view.status_code == 200 and len(view.json()["score_history"]) == count

        await wait_for(recorded, timeout_s=30, what=f"scoring to record score {count}")

    # Each event scored before the next is sent: events read in one consumer run would be
    # announced by one lead.scored, their last (#17), and this test counts one per event.
    await scores_recorded(1)
    await loop.intake.post(
        "/v1/activities",
        json={
            "lead_id": lead_id,
            "type": "pricing_page_view",
            "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
            "url": "https://northwind.example/pricing",
        },
    )
    await scores_recorded(2)
    await loop.intake.post(
        "/v1/activities",
        json={
            "lead_id": lead_id,
            "type": "demo_request",
            "occurred_at": datetime.now(UTC).isoformat(),
            "campaign": "demo-page",
        },
    )

    # agreement published + 3 scores + lead→mql + mql→sql
    events = await lifecycle(settings, expect=6)
    scored = of(events, "scored", lead_id)
    assert len(scored) == 3
    assert scored[0]["data"]["grade"] == "A"
    assert scored[0]["correlationid"] == "ana-form"
    assert {b["rule"] for b in scored[-1]["data"]["breakdown"]} >= {
        "fit:size-mid-market",
        "interest:demo_request",
        "interest:pricing_page_view",
    }
    stages = [
        (e["data"]["from_stage"], e["data"]["to_stage"])
        for e in of(events, "stage_changed", lead_id)
    ]
    assert stages == [("lead", "mql"), ("mql", "sql")]
    sql = of(events, "stage_changed", lead_id)[-1]["data"]
    assert sql["agreement_version"] == "2026-11"
    assert "hand-raise: demo_request" in sql["reason"]
    intel = sql["intelligence"]
    assert intel["profile"]["company"] == "ACME Dental"
    assert [t["activity_type"] for t in intel["timeline"]] == ["demo_request", "pricing_page_view"]
    assert intel["sources"] == ["webinar"]
    assert set(intel["campaigns"]) == {"q4-dental-webinar", "demo-page"}

    view = (await loop.scoring.get(f"/v1/leads/{lead_id}/score")).json()
    assert view["stage"] == "sql" and view["grade"] == "A"
    assert [s["to_stage"] for s in view["stage_history"]] == ["mql", "sql"]


async def test_duplicates_change_nothing_and_poison_goes_to_the_dlq(
    loop: Loop, settings: CommonSettings, engine: AsyncEngine
) -> None:
    lead_id = (await loop.intake.post("/v1/form-submissions", json=ANA)).json()["lead_id"]
    [first] = [
        e
        for e in await read_all(
            settings.kafka_bootstrap_servers, settings.topic(topics.INTAKE), expect=1
        )
    ]
    # The same captured event delivered twice more, then a poison record, then a good one.
    await produce(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.INTAKE),
        [
            (first.key or b"", first.value or b""),
            (first.key or b"", first.value or b""),
            (lead_id.encode(), b'{"specversion": "1.0", "type": "nonsense"}'),
        ],
    )
    r = await loop.intake.post(
        "/v1/activities",
        json={
            "lead_id": lead_id,
            "type": "webinar_attended",
            "occurred_at": datetime.now(UTC).isoformat(),
        },
    )
    assert r.status_code == 202

    async def activity_scored() -> bool:
        async with engine.connect() as conn:
            causes = (
                (
                    await conn.execute(
                        sa.select(score_history.c.cause).where(score_history.c.lead_id == lead_id)
                    )
                )
                .scalars()
                .all()
            )
        return "leadloop.lead.activity_recorded.v1" in causes

    await wait_for(activity_scored, timeout_s=30, what="the activity after the poison to be scored")
    async with engine.connect() as conn:
        captured_scores = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(score_history)
            .where(
                score_history.c.lead_id == lead_id,
                score_history.c.cause == "leadloop.lead.captured.v1",
            )
        )
        mqls = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(stage_history)
            .where(stage_history.c.lead_id == lead_id, stage_history.c.to_stage == "mql")
        )
    assert (captured_scores, mqls) == (1, 1)
    dlq = await read_all(
        settings.kafka_bootstrap_servers, topics.dlq(settings.topic(topics.INTAKE)), expect=1
    )
    assert [dict(r.headers)["dlq.error_type"] for r in dlq] == [b"InvalidEvent"]


async def test_scoring_applies_the_sales_moves_feedback_decided(
    loop: Loop, settings: CommonSettings, engine: AsyncEngine
) -> None:
    lead_id = (await loop.intake.post("/v1/form-submissions", json=ANA)).json()["lead_id"]
    await loop.intake.post(
        "/v1/activities",
        json={
            "lead_id": lead_id,
            "type": "contact_sales_request",
            "occurred_at": datetime.now(UTC).isoformat(),
        },
    )

    async def stage_is(stage: str) -> bool:
        view = (await loop.scoring.get(f"/v1/leads/{lead_id}/score")).json()
        return view.get("stage") == stage

    await wait_for(lambda: stage_is("sql"), timeout_s=30, what="the lead to become an SQL")
    now = datetime.now(UTC)
    # Feedback decides sales-side moves and publishes them; scoring applies them as decided.
    feedback: list[EventData] = [
        LeadStatusChanged(
            lead_id=lead_id,
            crm_event_id="crm-1",
            status="accepted",
            changed_at=now,
            from_stage="sql",
            to_stage="accepted",
        ),
        # Already accepted: feedback decided no move, and none is made.
        LeadStatusChanged(lead_id=lead_id, crm_event_id="crm-2", status="working", changed_at=now),
        LeadStatusChanged(
            lead_id=lead_id,
            crm_event_id="crm-3",
            status="rejected",
            reason_code="bad_fit",
            changed_at=now,
            from_stage="accepted",
            to_stage="recycled",
        ),
        # A deal without a decided move (none was published): scoring does not decide one.
        DealClosed(
            lead_id=lead_id,
            crm_event_id="crm-4",
            deal_id="d-1",
            stage="won",
            amount=Decimal(12000),
            currency="EUR",
            closed_at=now,
        ),
        LeadStatusChanged(
            lead_id=lead_id,
            crm_event_id="crm-5",
            status="disqualified",
            reason_code="competitor",
            changed_at=now,
            from_stage="recycled",
            to_stage="disqualified",
        ),
    ]
    events = [new_event(f, subject=lead_id) for f in feedback]
    await produce(
        settings.kafka_bootstrap_servers,
        settings.topic(topics.FEEDBACK),
        [(lead_id.encode(), e.to_bytes()) for e in events],
    )

    await wait_for(lambda: stage_is("disqualified"), timeout_s=30, what="the last move applied")
    view = (await loop.scoring.get(f"/v1/leads/{lead_id}/score")).json()
    moves = [(s["from_stage"], s["to_stage"], s["applied"]) for s in view["stage_history"]]
    assert moves[-3:] == [
        ("sql", "accepted", True),
        ("accepted", "recycled", True),
        ("recycled", "disqualified", True),
    ]
    assert [s["reason"] for s in view["stage_history"][-3:]] == [
        "CRM: accepted",
        "CRM: rejected",
        "CRM: disqualified",
    ]
    async with engine.connect() as conn:
        refused = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(stage_history)
            .where(stage_history.c.lead_id == lead_id, stage_history.c.applied.is_(False))
        )
    assert refused == 0


async def test_agreement_api(loop: Loop) -> None:
    current = (await loop.scoring.get("/v1/agreement")).json()
    assert current["version"] == "2026-11"
    yaml_text = (await loop.scoring.get("/v1/agreement?format=yaml")).text
    bad = await loop.scoring.post(
        "/v1/agreement",
        content=yaml_text.replace("half_life_days: 30", "half_life_days: -1").replace(
            "op: range", "op: between", 1
        ),
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {
        "interest.half_life_days",
        "fit.rules[0].op",
    }
    conflict = await loop.scoring.post(
        "/v1/agreement", content=yaml_text.replace("mql: {min_total: 45", "mql: {min_total: 50")
    )
    assert conflict.status_code == 409
    same = await loop.scoring.post("/v1/agreement", content=yaml_text)
    assert same.status_code == 200 and same.json()["created"] is False
    newer = yaml_text.replace('version: "2026-11"', 'version: "2026-12"')
    created = await loop.scoring.post("/v1/agreement?rescore=true", content=newer)
    assert created.status_code == 201 and created.json()["created"] is True
    assert created.headers["location"] == "/v1/agreement"
    assert "location" not in same.headers  # nothing was created
    versions = (await loop.scoring.get("/v1/agreement/versions")).json()["items"]
    assert [v["version"] for v in versions] == ["2026-12", "2026-11"]


async def test_decay_rescoring_runs_on_time_and_once_per_lead(
    loop: Loop, engine: AsyncEngine
) -> None:
    lead_id = (await loop.intake.post("/v1/form-submissions", json=ANA)).json()["lead_id"]
    for kind in ("webinar_attended", "pricing_page_view"):  # 20 points: "warm" from 15
        await loop.intake.post(
            "/v1/activities",
            json={"lead_id": lead_id, "type": kind, "occurred_at": datetime.now(UTC).isoformat()},
        )

    async def due_set() -> bool:
        view = (await loop.scoring.get(f"/v1/leads/{lead_id}/score")).json()
        return view.get("next_rescore_at") is not None

    await wait_for(due_set, timeout_s=30, what="a decay deadline for the lead")
    scheduler = loop.scoring_app.state.scheduler
    later = datetime.now(UTC) + timedelta(days=60)
    first, second = await scheduler.run_once(now=later), await scheduler.run_once(now=later)
    assert first >= 1 and second == 0
    async with engine.connect() as conn:
        decay = (
            (
                await conn.execute(
                    sa.select(score_history.c.interest).where(
                        score_history.c.lead_id == lead_id,
                        score_history.c.cause == "leadloop.scoring.decay",
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(decay) == 1 and decay[0] < 15


async def test_erasure_removes_the_person_from_scoring(loop: Loop, engine: AsyncEngine) -> None:
    lead_id = (await loop.intake.post("/v1/form-submissions", json=ANA)).json()["lead_id"]
    await loop.intake.post(
        "/v1/activities",
        json={
            "lead_id": lead_id,
            "type": "demo_request",
            "occurred_at": datetime.now(UTC).isoformat(),
            "url": "https://northwind.example/demo?email=ana.lopez@acme-dental.com",
        },
    )

    async def is_sql() -> bool:
        return (await loop.scoring.get(f"/v1/leads/{lead_id}/score")).json().get("stage") == "sql"

    await wait_for(is_sql, timeout_s=30, what="the SQL")
    assert (await loop.intake.delete(f"/v1/leads/{lead_id}")).status_code == 202

    async def erased() -> bool:
        return (await loop.scoring.get(f"/v1/leads/{lead_id}/score")).json().get("erased") is True

    await wait_for(erased, timeout_s=30, what="scoring to honour the erasure")
    async with engine.connect() as conn:
        dump = await conn.scalar(
            sa.text(
                "SELECT string_agg(t, ' ') FROM ("
                " SELECT l::text AS t FROM scoring.leads l UNION ALL"
                " SELECT a::text FROM scoring.activities a UNION ALL"
                " SELECT h::text FROM scoring.score_history h UNION ALL"
                " SELECT s::text FROM scoring.stage_history s UNION ALL"
                " SELECT convert_from(o.payload, 'UTF8') FROM scoring.outbox o) x"
            )
        )
    assert "acme-dental" not in dump and "Ana" not in dump
