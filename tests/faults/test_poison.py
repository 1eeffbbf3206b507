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

import json
import uuid
from collections import Counter

import httpx
import pytest
from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.feedback import LeadTouched
from leadloop_events.handoff import LeadAssigned

from ..processes import Services
from ..waiting import wait_for
from .poison import (
    CONSUMERS,
    FEEDBACK,
    GARBAGE,
    MAX_RETRIES,
    REFUSAL,
    RETRY_ENV,
    cases,
    committed,
    dead_letters,
    dlq_metric,
    headers,
    poison_trigger,
    processed,
    produce_case,
    replay,
    the_fix,
)
from .reading import read_topic, scalar

pytestmark = pytest.mark.both_brokers


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
