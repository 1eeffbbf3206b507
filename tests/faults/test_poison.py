"""Poison records on each of the four topics, with scoring, routing and feedback as processes.

Two kinds per topic, followed by a good record on the same key (so on the same partition):
- bytes that are not a CloudEvent: every consumer of the topic dead-letters them at once;
- a valid event whose handler keeps failing until "the fix": a trigger in feedback's own schema
  refuses that event's journey row. Feedback retries it, dead-letters it and moves on.

Then the fix (the trigger is dropped) and `leadloop dlq replay <topic>`, the real command as a
subprocess: each poison event is processed once, by feedback, and the consumers that had already
processed it skip the replayed copy.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.feedback import LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, SlaBreached
from leadloop_events.intake import LeadCaptured, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged, TimelineEntry

from .support import Services, read_topic, scalar, wait_for

MAX_RETRIES = 2
RETRY_ENV = {
    "LEADLOOP_CONSUMER_MAX_RETRIES": str(MAX_RETRIES),
    "LEADLOOP_CONSUMER_RETRY_BACKOFF_S": "0.05",
}
FEEDBACK = "leadloop-feedback"
# Who consumes which topic (each service's consumer group is also its `dlq.consumer` name).
CONSUMERS = {
    topics.INTAKE: {"leadloop-scoring", "leadloop-routing", FEEDBACK},
    topics.LIFECYCLE: {"leadloop-routing", FEEDBACK},
    topics.HANDOFF: {FEEDBACK},
    topics.FEEDBACK: {"leadloop-scoring", "leadloop-routing", FEEDBACK},
}
GARBAGE = b"\x00\x01 this is not a CloudEvent {"
REFUSAL = "journey refused by the poison trigger"


def intelligence(email: str) -> LeadIntelligence:
    now = datetime.now(UTC)
    return LeadIntelligence(
        profile=LeadProfile(
            email=email,
            first_name="Ana",
            last_name="Lopez",
            company="ACME Dental",
            company_size=240,
            country="DE",
            job_title="Head of Operations",
        ),
        fit=85,
        interest=40,
        grade="A",
        timeline=[TimelineEntry(activity_type="demo_request", occurred_at=now)],
        sources=["webinar"],
        campaigns=["q4-dental-webinar"],
        first_seen_at=now,
    )


def captured(lead_id: str, n: int) -> LeadCaptured:
    return LeadCaptured(
        lead_id=lead_id,
        submission_id=f"sub-{lead_id}-{n}",
        is_new_lead=n == 1,
        channel="form",
        profile=LeadProfile(email=f"{lead_id}@acme-dental.example", company="ACME Dental"),
        source="webinar",
        submitted_at=datetime.now(UTC),
    )


def stage(lead_id: str, from_stage: str, to_stage: str) -> LeadStageChanged:
    return LeadStageChanged(
        lead_id=lead_id,
        from_stage=from_stage,
        to_stage=to_stage,
        reason="hand-raise: demo_request",
        agreement_version="2026-11",
        changed_at=datetime.now(UTC),
        intelligence=intelligence(f"{lead_id}@acme-dental.example"),
    )


def assigned(lead_id: str) -> LeadAssigned:
    now = datetime.now(UTC)
    return LeadAssigned(
        lead_id=lead_id,
        assignment_id=str(uuid.uuid4()),
        owner_rep_id="rep-alice",
        owner_email="rep-alice@northwind.example",
        team="dach",
        business="new",
        sla_deadline=now + timedelta(minutes=30),
        agreement_version="2026-11",
        intelligence=intelligence(f"{lead_id}@acme-dental.example"),
        assigned_at=now,
    )


def breached(lead_id: str) -> SlaBreached:
    now = datetime.now(UTC)
    return SlaBreached(
        lead_id=lead_id,
        assignment_id=str(uuid.uuid4()),
        rep_id="rep-alice",
        team="dach",
        deadline=now,
        breached_at=now,
        step="warn",
    )


def touched(lead_id: str, crm_event_id: str) -> LeadTouched:
    return LeadTouched(
        lead_id=lead_id,
        crm_event_id=crm_event_id,
        rep_id="rep-alice",
        channel="call",
        outcome="connected",
        touched_at=datetime.now(UTC),
    )


def accepted(lead_id: str, crm_event_id: str) -> LeadStatusChanged:
    return LeadStatusChanged(
        lead_id=lead_id, crm_event_id=crm_event_id, status="accepted", changed_at=datetime.now(UTC)
    )


@dataclass
class Case:
    """One topic's records: garbage, a poison event and a good follower, all on key `lead_id`."""

    topic: str
    lead_id: str
    poison: EventData
    follower: EventData
    poison_at: tuple[int, int] | None = None  # (partition, offset) where it was produced
    follower_at: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self.poison_event = new_event(self.poison, source="/tests/faults", subject=self.lead_id)
        self.follower_event = new_event(self.follower, source="/tests/faults", subject=self.lead_id)


def cases(run: str) -> list[Case]:
    lead = {t: f"lead-POISON-{t.split('.')[1].upper()}-{run}" for t in topics.ALL}
    return [
        Case(
            topics.INTAKE,
            lead[topics.INTAKE],
            captured(lead[topics.INTAKE], 1),
            captured(lead[topics.INTAKE], 2),
        ),
        Case(
            topics.LIFECYCLE,
            lead[topics.LIFECYCLE],
            stage(lead[topics.LIFECYCLE], "mql", "sql"),
            stage(lead[topics.LIFECYCLE], "sql", "accepted"),
        ),
        Case(
            topics.HANDOFF,
            lead[topics.HANDOFF],
            assigned(lead[topics.HANDOFF]),
            breached(lead[topics.HANDOFF]),
        ),
        Case(
            topics.FEEDBACK,
            lead[topics.FEEDBACK],
            touched(lead[topics.FEEDBACK], f"crm-poison-{run}"),
            accepted(lead[topics.FEEDBACK], f"crm-follower-{run}"),
        ),
    ]


async def produce_case(bootstrap: str, prefix: str, case: Case) -> None:
    """Garbage, then the poison event, then the follower: one key, so one partition, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        key = case.lead_id.encode()
        topic = prefix + case.topic
        await producer.send_and_wait(topic, value=GARBAGE, key=key)
        meta = await producer.send_and_wait(topic, value=case.poison_event.to_bytes(), key=key)
        case.poison_at = (meta.partition, meta.offset)
        meta = await producer.send_and_wait(topic, value=case.follower_event.to_bytes(), key=key)
        case.follower_at = (meta.partition, meta.offset)
    finally:
        await producer.stop()


async def poison_trigger(engine: AsyncEngine, event_ids: list[str]) -> None:
    """The fault: feedback's journey table refuses the rows of these events."""
    ids = ", ".join(f"'{i}'" for i in event_ids)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "CREATE FUNCTION feedback.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{REFUSAL} (event %)', NEW.event_id; END $$"
        )
        await conn.exec_driver_sql(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON feedback.journey FOR EACH ROW "
            f"WHEN (NEW.event_id IN ({ids})) EXECUTE FUNCTION feedback.refuse_poison()"
        )


async def the_fix(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP TRIGGER refuse_poison ON feedback.journey")
        await conn.exec_driver_sql("DROP FUNCTION feedback.refuse_poison()")


async def processed(engine: AsyncEngine, schema: str, consumer: str, event_id: str) -> int:
    return int(
        await scalar(
            engine,
            f"SELECT count(*) FROM {schema}.processed_events WHERE consumer = :c AND event_id = :e",
            c=consumer,
            e=event_id,
        )
    )


async def committed(bootstrap: str, group: str, tp: TopicPartition) -> int:
    """The offset `group` committed on `tp` (-1 if none), read without joining the group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        offset = await consumer.committed(tp)
        return -1 if offset is None else offset
    finally:
        await consumer.stop()


async def dead_letters(bootstrap: str, prefix: str, topic: str) -> list[ConsumerRecord]:
    return await read_topic(bootstrap, topics.dlq(prefix + topic))


def headers(record: ConsumerRecord) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers or ()}


async def dlq_metric(http: httpx.AsyncClient, url: str) -> dict[tuple[str, str], float]:
    """(service, topic) -> `leadloop_dlq_records_total` from a service's /metrics."""
    r = await http.get(f"{url}/metrics")
    assert r.status_code == 200, r.text
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == "leadloop_dlq_records_total":
                out[(sample.labels["service"], sample.labels["topic"])] = sample.value
    return out


async def replay(settings_env: dict[str, str], topic: str) -> str:
    """`leadloop dlq replay <topic>`, the installed command, as its own process."""
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "leadloop"),
        "dlq",
        "replay",
        topic,
        env={**os.environ, **settings_env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()


@pytest.mark.timeout(300)
async def test_poison_on_each_topic_is_dead_lettered_the_stream_flows_and_replay_processes_it_once(
    services: Services,
    engine: AsyncEngine,
    http: httpx.AsyncClient,
    settings_env: dict[str, str],
    bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    run = uuid.uuid4().hex[:6]
    work = cases(run)
    # The fault is in place before any record arrives.
    await poison_trigger(engine, [c.poison_event.id for c in work])

    scoring = await services.start("scoring", RETRY_ENV)
    routing = await services.start("routing", RETRY_ENV)
    feedback = await services.start("feedback", RETRY_ENV)

    async def agreement_known() -> bool:
        r = await scalar(engine, "SELECT count(*) FROM routing.agreements")
        return bool(r)

    # Routing needs the agreement scoring announces at start before it can route an SQL.
    await wait_for(agreement_known, timeout_s=90, what="routing to receive the agreement")

    for case in work:
        await produce_case(bootstrap_servers, topic_prefix, case)

    # The stream keeps flowing: every consumer group of each topic committed past the follower,
    # which sits behind both poison records on the same partition; feedback processed it.
    for case in work:
        assert case.follower_at is not None
        partition, offset = case.follower_at
        tp = TopicPartition(topic_prefix + case.topic, partition)
        for group in CONSUMERS[case.topic]:

            async def past_follower(
                g: str = group, tp: TopicPartition = tp, o: int = offset
            ) -> bool:
                return await committed(bootstrap_servers, g, tp) > o

            await wait_for(
                past_follower,
                timeout_s=120,
                what=f"{group} to commit past the record after the poison on {case.topic}",
            )
        assert await processed(engine, "feedback", FEEDBACK, case.follower_event.id) == 1

    # Each DLQ holds the garbage once per consumer of the topic, and the poison event once,
    # from feedback, after its retries.
    expected_before = {t: len(CONSUMERS[t]) + 1 for t in topics.ALL}
    before: dict[str, list[ConsumerRecord]] = {}
    for case in work:

        async def all_dead_lettered(topic: str = case.topic) -> bool:
            before[topic] = await dead_letters(bootstrap_servers, topic_prefix, topic)
            return len(before[topic]) >= expected_before[topic]

        await wait_for(all_dead_lettered, timeout_s=120, what=f"the dead letters of {case.topic}")
    for case in work:
        assert case.poison_at is not None
        records = before[case.topic]
        assert len(records) == expected_before[case.topic], [headers(r) for r in records]
        garbage = [r for r in records if r.value == GARBAGE]
        assert {headers(r)["dlq.consumer"] for r in garbage} == CONSUMERS[case.topic]
        assert len(garbage) == len(CONSUMERS[case.topic])
        for r in garbage:
            h = headers(r)
            assert h["dlq.error_type"] == "InvalidEvent" and h["dlq.attempts"] == "1", h
            assert h["dlq.topic"] == topic_prefix + case.topic
        (poison,) = [r for r in records if r.value != GARBAGE]
        h = headers(poison)
        assert poison.value == case.poison_event.to_bytes()
        assert poison.key == case.lead_id.encode()
        assert REFUSAL in h["dlq.error"], h["dlq.error"]
        assert h["dlq.attempts"] == str(MAX_RETRIES + 1)
        assert h["dlq.topic"] == topic_prefix + case.topic
        assert (int(h["dlq.partition"]), int(h["dlq.offset"])) == case.poison_at
        assert h["dlq.consumer"] == FEEDBACK
        # Not processed while the fault is in place.
        assert await processed(engine, "feedback", FEEDBACK, case.poison_event.id) == 0

    # The consumer metric counts them, per service and topic.
    metrics: dict[tuple[str, str], float] = {}
    for service in (scoring, routing, feedback):
        metrics |= await dlq_metric(http, service.url)
    expected_metric = {
        (consumer.removeprefix("leadloop-"), topic_prefix + topic): 1.0 + (consumer == FEEDBACK)
        for topic, consumers in CONSUMERS.items()
        for consumer in consumers
    }
    assert {k: v for k, v in metrics.items() if k[1].startswith(topic_prefix)} == expected_metric

    # The fix, then the replay of each topic's dead letters.
    await the_fix(engine)
    for case in work:
        out = await replay(settings_env, case.topic)
        dlq = topics.dlq(topic_prefix + case.topic)
        assert out == (
            f"replayed {expected_before[case.topic]} record(s) from {dlq} "
            f"to {topic_prefix + case.topic}"
        )

    for case in work:
        event_id = case.poison_event.id

        async def poison_done(e: str = event_id) -> bool:
            return await processed(engine, "feedback", FEEDBACK, e) == 1

        await wait_for(poison_done, timeout_s=120, what=f"the replayed poison of {case.topic}")
        journey = await scalar(
            engine, "SELECT count(*) FROM feedback.journey WHERE event_id = :e", e=event_id
        )
        assert journey == 1

    # The effects of the replayed events, once each.
    lifecycle, handoff, feedback_topic = work[1], work[2], work[3]
    assert isinstance(handoff.poison, LeadAssigned)
    assert (
        await scalar(
            engine,
            "SELECT count(*) FROM feedback.assignments WHERE assignment_id = :a",
            a=handoff.poison.assignment_id,
        )
        == 1
    )
    assert isinstance(feedback_topic.poison, LeadTouched)
    assert (
        await scalar(
            engine,
            "SELECT count(*) FROM feedback.touches WHERE crm_event_id = :c",
            c=feedback_topic.poison.crm_event_id,
        )
        == 1
    )
    # Routing had routed the SQL the first time; the replayed copy is a duplicate for it.
    assert (
        await scalar(
            engine,
            "SELECT count(*) FROM routing.assignments WHERE lead_id = :l",
            l=lifecycle.lead_id,
        )
        == 1
    )
    alerts = {
        e["id"]
        for e in (
            json.loads(r.value)
            for r in await read_topic(bootstrap_servers, topic_prefix + topics.HANDOFF)
            if r.value != GARBAGE
        )
        if e["type"] == "leadloop.lead.assigned.v1" and e["subject"] == lifecycle.lead_id
    }
    assert len(alerts) == 1

    # The garbage, replayed too, went straight back to the DLQ: once per consumer per copy.
    for case in work:
        n = len(CONSUMERS[case.topic])
        expected = expected_before[case.topic] + n * n

        async def bounced(topic: str = case.topic, want: int = expected) -> bool:
            return len(await dead_letters(bootstrap_servers, topic_prefix, topic)) >= want

        await wait_for(bounced, timeout_s=120, what=f"the replayed garbage of {case.topic}")
        after = await dead_letters(bootstrap_servers, topic_prefix, case.topic)
        new = after[len(before[case.topic]) :]
        assert Counter(r.value == GARBAGE for r in new) == {True: n * n}, [headers(r) for r in new]
        assert all(headers(r)["replayed"] == "true" for r in new)
