"""What test_poison produces and reads back: per topic, garbage, a poison event and a good
follower on one key; the fault (a trigger in feedback's schema) and its fix; dead letters,
committed offsets, the DLQ metric and `leadloop dlq replay`."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.feedback import LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, SlaBreached
from leadloop_events.intake import LeadCaptured, LeadProfile

from ..brokers import connect
from ..factories import AGREEMENT_VERSION, intelligence, stage_changed
from .reading import read_topic, scalar

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


def email_of(lead_id: str) -> str:
    return f"{lead_id}@acme-dental.example"


def captured(lead_id: str, n: int) -> LeadCaptured:
    return LeadCaptured(
        lead_id=lead_id,
        submission_id=f"sub-{lead_id}-{n}",
        is_new_lead=n == 1,
        channel="form",
        profile=LeadProfile(email=email_of(lead_id), company="ACME Dental"),
        source="webinar",
        submitted_at=datetime.now(UTC),
    )


def new_assignment(lead_id: str) -> dict[str, Any]:
    """What both hand-off events name: the lead, a new assignment of it, rep-alice's team."""
    return {"lead_id": lead_id, "assignment_id": str(uuid.uuid4()), "team": "dach"}


def assigned(lead_id: str) -> LeadAssigned:
    now = datetime.now(UTC)
    return LeadAssigned(
        **new_assignment(lead_id),
        owner_rep_id="rep-alice",
        owner_email="rep-alice@northwind.example",
        business="new",
        sla_deadline=now + timedelta(minutes=30),
        agreement_version=AGREEMENT_VERSION,
        intelligence=intelligence(email_of(lead_id)),
        assigned_at=now,
    )


def breached(lead_id: str) -> SlaBreached:
    now = datetime.now(UTC)
    return SlaBreached(
        **new_assignment(lead_id), rep_id="rep-alice", deadline=now, breached_at=now, step="warn"
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
        self.poison_event = new_event(self.poison, subject=self.lead_id)
        self.follower_event = new_event(self.follower, subject=self.lead_id)


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
            stage_changed(lead[topics.LIFECYCLE], email=email_of(lead[topics.LIFECYCLE])),
            stage_changed(
                lead[topics.LIFECYCLE], "sql", "accepted", email=email_of(lead[topics.LIFECYCLE])
            ),
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
    producer = AIOKafkaProducer(**connect(bootstrap), acks="all")
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
    consumer = AIOKafkaConsumer(**connect(bootstrap), group_id=group, enable_auto_commit=False)
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
