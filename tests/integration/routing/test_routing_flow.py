"""Routing on the real broker and Postgres: one assignment and one alert per SQL, SLA timers
that escalate once across replicas, a touch that stops the clock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.feedback import LeadTouched
from leadloop_routing.adapters.tables import assignments
from leadloop_routing.entrypoints.workers import SlaTimers

from ...factories import stage_changed
from ...waiting import wait_for
from ..messaging.support import read_all
from .conftest import RoutingUnderTest, build


async def handoff(r: RoutingUnderTest, expect: int) -> list[dict[str, Any]]:
    records = await read_all(
        r.settings.kafka_bootstrap_servers,
        r.settings.topic(topics.HANDOFF),
        expect=expect,
        timeout_s=30,
    )
    return [json.loads(x.value) for x in records]


async def assignment_of(r: RoutingUnderTest, lead_id: str) -> dict[str, Any]:
    async def assigned() -> bool:
        return (await r.http.get(f"/v1/leads/{lead_id}/assignment")).status_code == 200

    await wait_for(assigned, timeout_s=30, what=f"an assignment for {lead_id}")
    body: dict[str, Any] = (await r.http.get(f"/v1/leads/{lead_id}/assignment")).json()
    return body


async def test_an_sql_delivered_twice_gets_one_assignment_and_one_alert(
    routing: RoutingUnderTest, engine: AsyncEngine
) -> None:
    await routing.send(topics.LIFECYCLE, stage_changed("lead-ACME-DENTAL"), twice=True)
    view = await assignment_of(routing, "lead-ACME-DENTAL")
    current = view["current"]
    assert current["team"] == "dach" and current["rep_id"] in ("rep-alice", "rep-bob")
    assert current["decision"]["path"][0] == "team dach matched"
    alerts = await handoff(routing, expect=1)
    assert [a["type"] for a in alerts] == ["leadloop.lead.assigned.v1"]
    alert = alerts[0]["data"]
    assert alert["owner_rep_id"] == current["rep_id"]
    assert alert["owner_email"] == f"{current['rep_id']}@northwind.example"
    assert alert["agreement_version"] == "2026-11"
    assert alert["intelligence"]["profile"]["company"] == "ACME Dental"
    assert datetime.fromisoformat(alert["sla_deadline"]) > datetime.fromisoformat(
        alert["assigned_at"]
    )
    async with engine.connect() as conn:
        count = await conn.scalar(sa.select(sa.func.count()).select_from(assignments))
    assert count == 1
    assert len(view["assignments"]) == 1


async def test_weighted_distribution_over_many_sqls(routing: RoutingUnderTest) -> None:
    await routing.send(topics.LIFECYCLE, *[stage_changed(f"lead-{i}") for i in range(9)])
    for i in range(9):
        await assignment_of(routing, f"lead-{i}")
    report = (await routing.http.get("/v1/routing/distribution")).json()
    dach = next(t for t in report["teams"] if t["team"] == "dach")
    shares = {r["rep_id"]: r["assigned"] for r in dach["reps"]}
    assert shares == {"rep-alice": 6, "rep-bob": 3}


async def test_an_unanswered_lead_escalates_and_is_reassigned_once_across_two_replicas(
    routing: RoutingUnderTest, engine: AsyncEngine
) -> None:
    await routing.send(topics.LIFECYCLE, stage_changed("lead-GLOBEX"))
    first = (await assignment_of(routing, "lead-GLOBEX"))["current"]
    other_replica = build(routing.settings)
    replicas = [routing.app.state.sla, other_replica.state.sla]
    deadline = datetime.fromisoformat(first["sla_deadline"])
    fired: list[int] = []
    moment = deadline + timedelta(seconds=1)
    for _ in ("warn", "notify_manager", "reassign"):
        counts = await asyncio.gather(*(s.run_once(now=moment) for s in replicas))
        fired.append(sum(counts))
        moment += timedelta(minutes=16)
    assert fired == [1, 1, 1]
    events = await handoff(routing, expect=5)
    types = [e["type"].split(".")[2] for e in events]
    assert types == ["assigned", "sla_breached", "sla_breached", "sla_breached", "reassigned"]
    assert [e["data"]["step"] for e in events if "sla_breached" in e["type"]] == [
        "warn",
        "notify_manager",
        "reassign",
    ]
    moved = events[-1]["data"]
    assert moved["from_rep_id"] == first["rep_id"]
    assert moved["to_rep_id"] not in (None, first["rep_id"])
    after = (await assignment_of(routing, "lead-GLOBEX"))["current"]
    assert after["rep_id"] == moved["to_rep_id"] and after["reassignments"] == 1
    await other_replica.state.engine.dispose()


async def test_a_touch_stops_the_timer(routing: RoutingUnderTest) -> None:
    await routing.send(topics.LIFECYCLE, stage_changed("lead-INITECH"))
    current = (await assignment_of(routing, "lead-INITECH"))["current"]
    await routing.send(
        topics.FEEDBACK,
        LeadTouched(
            lead_id="lead-INITECH",
            crm_event_id="crm-touch-1",
            rep_id=current["rep_id"],
            channel="call",
            outcome="connected",
            touched_at=datetime.now(UTC),
        ),
    )

    async def stopped() -> bool:
        view = await assignment_of(routing, "lead-INITECH")
        return view["current"]["timer_due_at"] is None

    await wait_for(stopped, timeout_s=30, what="the touch to stop the timer")
    timers: SlaTimers = routing.app.state.sla
    assert await timers.run_once(now=datetime.now(UTC) + timedelta(days=30)) == 0
    view = (await assignment_of(routing, "lead-INITECH"))["current"]
    assert view["status"] == "touched" and view["first_touch_at"]
