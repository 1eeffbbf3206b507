"""SLA timers across two routing replicas, separate processes on one database, one set of topics
and one consumer group, while one of them is killed (SIGKILL) mid-way.

The agreement's SLA is as short as it can be written (first touch within 1 working minute of an
always-open team calendar, one escalation step a minute, one reassignment), and the test plays the
clock: it keeps moving every pending timer's due time to now, so each lead runs through its whole
ladder in seconds instead of six minutes. Which replica fires which step is up to
`FOR UPDATE SKIP LOCKED`; the test only moves due times, on rows no replica holds.

Per lead the ladder is: warn, notify_manager, reassign (to another rep), then for the new rep
warn, notify_manager and queue (out of reassignments). Afterwards every (lead, rep, step) is
counted on `leads.handoff` by distinct event id and in routing's tables: each exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_contract.agreement import EXAMPLE_FILE, Agreement, load_agreement
from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.lifecycle import LeadStageChanged

from ..factories import ALWAYS, agreement_published, stage_changed
from ..integration.messaging.support import produce
from ..processes import ServiceProcess, Services
from ..waiting import wait_for
from .reading import read_events, scalar

pytestmark = pytest.mark.both_brokers

LEADS = 30
REPS = ("rep-alice", "rep-bruno", "rep-carla")
LADDER = ("warn", "notify_manager", "reassign", "warn", "notify_manager", "queue")
REPLICA_ENV = {
    "LEADLOOP_SLA_INTERVAL_S": "0.2",
    # Small claims, so that both replicas get a share of the due timers.
    "LEADLOOP_WORKER_BATCH": "2",
}
RR_LOCK = sa.text("SELECT pg_advisory_lock(hashtext('leadloop-rr:dach'))")
RR_UNLOCK = sa.text("SELECT pg_advisory_unlock(hashtext('leadloop-rr:dach'))")
WAITING_ON_RR_LOCK = (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leadloop-routing' "
    "AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND xact_start IS NOT NULL"
)
BREACHED = "leadloop.lead.sla_breached.v1"
REASSIGNED = "leadloop.lead.reassigned.v1"


def short_sla_agreement() -> Agreement:
    """The example agreement, its dach team always open, its SLA as short as it can be."""
    document = load_agreement(EXAMPLE_FILE.read_text()).model_dump(mode="json")
    document["version"] = "2026-11-short-sla"
    document["sla"].update(
        first_touch_minutes=1,
        escalation=["warn", "notify_manager", "reassign"],
        escalation_step_minutes=1,
        max_reassignments=1,
    )
    for team in document["routing"]["teams"]:
        if team["name"] == "dach":
            team.update(timezone="UTC", hours="00:00-23:59", workdays=[0, 1, 2, 3, 4, 5, 6])
    return Agreement.model_validate(document)


def sql(lead_id: str) -> LeadStageChanged:
    """An SQL under the short-SLA agreement, as scoring would publish it."""
    email = f"{lead_id.lower()}@acme-dental.example"
    return stage_changed(lead_id, email=email, agreement_version="2026-11-short-sla")


async def publish(bootstrap: str, topic: str, items: Sequence[tuple[str, EventData]]) -> None:
    """Events as scoring would publish them, keyed by their subject."""
    records = [(key.encode(), new_event(data, subject=key).to_bytes()) for key, data in items]
    await produce(bootstrap, topic, records)


async def play_the_clock(engine: AsyncEngine, stop: asyncio.Event) -> None:
    """Make every pending SLA step due now, on the rows no replica is escalating."""
    while not stop.is_set():
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "UPDATE routing.assignments SET timer_due_at = now() WHERE assignment_id IN ("
                " SELECT assignment_id FROM routing.assignments WHERE timer_due_at > now()"
                " FOR UPDATE SKIP LOCKED)"
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


async def breaches_fired(http: httpx.AsyncClient, replica: ServiceProcess) -> float:
    """`leadloop_sla_breaches_total` summed over teams and steps, from one replica's /metrics."""
    r = await http.get(f"{replica.url}/metrics")
    assert r.status_code == 200, r.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
        if sample.name == "leadloop_sla_breaches_total"
    )


async def steps_in_history(engine: AsyncEngine) -> int:
    """SLA steps recorded in routing's assignments so far (committed ones only)."""
    return int(
        await scalar(
            engine,
            "SELECT count(*) FROM routing.assignments, jsonb_array_elements(history) h "
            "WHERE h->>'event' LIKE 'sla step: %'",
        )
    )


@pytest.mark.timeout(300)
async def test_sla_steps_fire_once_each_across_two_replicas_while_one_is_killed(
    services: Services,
    engine: AsyncEngine,
    http: httpx.AsyncClient,
    bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    published = [("agreement", agreement_published(short_sla_agreement()))]
    await publish(bootstrap_servers, topic_prefix + topics.LIFECYCLE, published)
    survivor = await services.start("routing", REPLICA_ENV)
    victim = await services.start("routing", REPLICA_ENV)
    for rep_id in REPS:
        r = await http.put(
            f"{survivor.url}/v1/reps/{rep_id}",
            json={
                "name": rep_id.removeprefix("rep-").title(),
                "email": f"{rep_id}@northwind.example",
                "teams": ["dach"],
                "working_hours": ALWAYS,
                "manager_email": "head-of-sales@northwind.example",
            },
        )
        assert r.status_code == 200, r.text

    async def agreement_known() -> bool:
        return bool(await scalar(engine, "SELECT count(*) FROM routing.agreements"))

    await wait_for(agreement_known, timeout_s=90, what="routing to receive the agreement")

    run = uuid.uuid4().hex[:6]
    leads = [f"lead-SLA-{run}-{n:03d}" for n in range(LEADS)]
    await publish(bootstrap_servers, topic_prefix + topics.LIFECYCLE, [(x, sql(x)) for x in leads])

    async def all_assigned() -> bool:
        return await scalar(engine, "SELECT count(*) FROM routing.assignments") == LEADS

    await wait_for(all_assigned, timeout_s=120, what=f"{LEADS} assignments")

    stop = asyncio.Event()
    clock = asyncio.create_task(play_the_clock(engine, stop))
    try:
        # Both replicas take a share of the steps.
        async def both_fired() -> bool:
            return all([await breaches_fired(http, r) > 0 for r in (survivor, victim)])

        await wait_for(both_fired, timeout_s=120, what="both replicas to fire SLA steps")

        # Then one dies inside its claim transaction: the test holds the dach team's round-robin
        # lock, so a replica that reaches a `reassign` step waits for it with its claimed timers
        # locked and their earlier steps written but not committed. Once both replicas wait
        # there, the victim is killed and the lock released.
        async with engine.connect() as holder:
            await holder.execute(RR_LOCK)
            await holder.commit()  # the advisory lock is the session's, it outlives this

            async def both_mid_claim() -> bool:
                return await scalar(engine, WAITING_ON_RR_LOCK) == 2

            await wait_for(both_mid_claim, timeout_s=120, what="both replicas inside a claim")
            fired_at_kill = await steps_in_history(engine)
            victim.kill9()
            survivor_before = await breaches_fired(http, survivor)
            await holder.execute(RR_UNLOCK)
            await holder.commit()
        assert 0 < fired_at_kill < LEADS * len(LADDER)

        async def ladders_done() -> bool:
            return (
                await scalar(
                    engine,
                    "SELECT count(*) FROM routing.assignments "
                    "WHERE status = 'queued' AND timer_due_at IS NULL",
                )
                == LEADS
            )

        await wait_for(ladders_done, timeout_s=180, what="every lead to reach the team queue")
    finally:
        stop.set()
        await clock
    assert await breaches_fired(http, survivor) > survivor_before

    async def relayed() -> bool:
        return not await scalar(engine, "SELECT count(*) FROM routing.outbox WHERE sent_at IS NULL")

    await wait_for(relayed, timeout_s=120, what="routing's outbox to be relayed")

    # On the topic: each (lead, rep, step) breached once and each reassignment once, by event id.
    events = await read_events(bootstrap_servers, topic_prefix + topics.HANDOFF)
    breaches: dict[tuple[str, str | None, str], set[str]] = defaultdict(set)
    moves: dict[tuple[str, int], set[str]] = defaultdict(set)
    moved_to: dict[tuple[str, int], Any] = {}
    for e in events:
        if e.type == BREACHED:
            breaches[(e.data["lead_id"], e.data["rep_id"], e.data["step"])].add(e.id)
        elif e.type == REASSIGNED:
            key = (e.data["lead_id"], e.data["attempt"])
            moves[key].add(e.id)
            moved_to[key] = (e.data["from_rep_id"], e.data["to_rep_id"])
    assert {k: len(v) for k, v in breaches.items() if len(v) != 1} == {}
    assert {k: len(v) for k, v in moves.items() if len(v) != 1} == {}
    assert len(breaches) == LEADS * len(LADDER)
    assert sorted(moves) == sorted((lead, n) for lead in leads for n in (1, 2))
    for lead in leads:
        first, second = moved_to[(lead, 1)][0], moved_to[(lead, 1)][1]
        assert first in REPS and second in REPS and first != second
        assert moved_to[(lead, 2)] == (second, None)
        steps = Counter((rep, step) for (x, rep, step) in breaches if x == lead)
        assert steps == Counter(
            [(first, s) for s in LADDER[:3]] + [(second, s) for s in LADDER[3:]]
        ), lead

    # In routing's tables: the ladder in each assignment's history, in order, once; one
    # reassignment each; one outbox row per event; one manager email per rep's ladder.
    async with engine.connect() as conn:
        rows = (
            await conn.exec_driver_sql(
                "SELECT lead_id, reassignments, history FROM routing.assignments"
            )
        ).all()
        outbox = (
            await conn.execute(
                sa.text("SELECT key, event_type FROM routing.outbox WHERE event_type IN (:b, :r)"),
                {"b": BREACHED, "r": REASSIGNED},
            )
        ).all()
        manager_emails = await conn.scalar(
            sa.text("SELECT count(*) FROM routing.emails WHERE dedupe_key LIKE 'manager:%'")
        )
    assert sorted(r.lead_id for r in rows) == sorted(leads)
    for row in rows:
        history = row.history if isinstance(row.history, list) else json.loads(row.history)
        ladder = [
            h["event"].removeprefix("sla step: ") for h in history if "sla step" in h["event"]
        ]
        assert ladder == list(LADDER), (row.lead_id, history)
        assert row.reassignments == 1
    assert Counter((r.key, r.event_type) for r in outbox) == {
        **{(lead, BREACHED): len(LADDER) for lead in leads},
        **{(lead, REASSIGNED): 2 for lead in leads},
    }
    assert manager_emails == 2 * LEADS
