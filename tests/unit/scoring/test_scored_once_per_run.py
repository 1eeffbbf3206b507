"""`lead.scored` once per lead per run: a consumer run of one lead's activities, through the
registry's batch handler on the fakes, announces the lead's final score once, where one by one
announces each change; its stage moves, score history and lead are one by one's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadloop_contract.agreement import EXAMPLE_FILE
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.intake import ActivityRecorded, LeadCaptured
from leadloop_messaging.batch import TakesBatches
from leadloop_runtime import Transactions
from leadloop_scoring import handlers
from leadloop_scoring.agreement_handlers import PublishAgreement, publish_agreement
from leadloop_scoring.config import Settings
from leadloop_scoring.handlers import Context

from .factories import person
from .fakes import FakeUnitOfWork

ANA, BEN = "lead-ana-ACME-DENTAL", "lead-ben-GLOBEX"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
REGISTRY = handlers.registry(Settings(), context=Context(clock=lambda: NOW))
SCORED, MOVED = "leadloop.lead.scored.v1", "leadloop.lead.stage_changed.v1"
Items = list[tuple[CloudEvent, EventData]]


def captured(lead_id: str) -> tuple[CloudEvent, EventData]:
    data = LeadCaptured(
        lead_id=lead_id,
        submission_id=f"sub-{lead_id}",
        is_new_lead=True,
        channel="form",
        profile=person(),
        source="webinar",
        campaign="q4-dental-webinar",
        submitted_at=NOW - timedelta(hours=1),
    )
    return new_event(data, source="/tests", subject=lead_id, correlation_id=f"c-{lead_id}"), data


def did(lead_id: str, kind: str, minutes_ago: int) -> tuple[CloudEvent, EventData]:
    data = ActivityRecorded(
        lead_id=lead_id,
        activity_id=f"act-{lead_id}-{kind}",
        activity_type=kind,
        occurred_at=NOW - timedelta(minutes=minutes_ago),
        url=f"https://northwind.example/{kind}",
        campaign="demo-page",
    )
    return new_event(data, source="/tests", subject=lead_id, correlation_id=f"c-{kind}"), data


async def scored_lead(items: Items, *, as_one_run: bool) -> tuple[FakeUnitOfWork, int]:
    """A captured lead, then `items` as one consumer run or one run each, each committed; and
    how many events were committed before `items`."""
    uow = FakeUnitOfWork()
    publish = PublishAgreement(EXAMPLE_FILE.read_text(), "test")
    await Transactions(lambda: uow).run(publish_agreement, publish)
    handler = REGISTRY.handlers()[ActivityRecorded.event_type]
    assert isinstance(handler, TakesBatches)
    await handler.batch(uow, [captured(ANA)])
    await uow.commit()
    before = len(uow.events())
    for run in [items] if as_one_run else [[item] for item in items]:
        await handler.batch(uow, run)
        await uow.commit()
    return uow, before


async def published(items: Items, *, as_one_run: bool) -> list[tuple[str, str | None, object]]:
    """What `items` published: type, lead, data."""
    uow, before = await scored_lead(items, as_one_run=as_one_run)
    return [(e.type, e.subject, e.data) for e in uow.events()[before:]]


def facts(uow: FakeUnitOfWork, event_type: str) -> list[tuple[str | None, object]]:
    return [(e.subject, e.data) for e in uow.events(event_type)]


async def test_three_activities_in_one_run_publish_one_lead_scored_with_the_final_score() -> None:
    run = [
        did(ANA, "pricing_page_view", 30),
        did(ANA, "webinar_attended", 20),
        did(ANA, "demo_request", 10),
    ]
    one_by_one, _ = await scored_lead(run, as_one_run=False)
    batched, _ = await scored_lead(run, as_one_run=True)
    # One by one: the capture's score, then one per activity; the run: the capture's, then one.
    assert len(one_by_one.events(SCORED, ANA)) == 4
    [_, final] = batched.events(SCORED, ANA)
    assert final.data == one_by_one.events(SCORED, ANA)[-1].data
    assert final.correlationid == "c-demo_request"
    assert final.data["total"] == batched.repo.leads[ANA].total
    # The stage moves as before (the hand-off to sales with its intelligence), after the score.
    assert facts(batched, MOVED) == facts(one_by_one, MOVED)
    assert [m.data["to_stage"] for m in batched.events(MOVED, ANA)] == ["mql", "sql"]
    assert [e.type for e in batched.events(subject=ANA)][-2:] == [SCORED, MOVED]
    # Scoring keeps every score in its own history, one per change, as one by one.
    assert [s.cause for s in batched.repo.scores] == [s.cause for s in one_by_one.repo.scores]
    assert len(batched.repo.scores) == 4
    assert batched.repo.leads[ANA] == one_by_one.repo.leads[ANA]


async def test_each_lead_of_a_run_keeps_its_last_score_where_one_by_one_said_it() -> None:
    run = [captured(BEN), did(ANA, "pricing_page_view", 9), did(BEN, "demo_request", 8)]
    run += [did(ANA, "webinar_attended", 7)]
    one_by_one = await published(run, as_one_run=False)
    batched = await published(run, as_one_run=True)
    last = {lead: n for n, (kind, lead, _) in enumerate(one_by_one) if kind == SCORED}
    assert len(last) == 2 and [k for k, lead, _ in one_by_one].count(SCORED) == 4
    # One by one's events in its order, less each lead's scores that a later one supersedes.
    assert batched == [e for n, e in enumerate(one_by_one) if e[0] != SCORED or last[e[1]] == n]
