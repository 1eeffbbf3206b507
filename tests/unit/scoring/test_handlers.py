"""Scoring's handlers through the real registry, on in-memory fakes of its repository and unit
of work: each event is looked up by its type, handled and committed, as the consumer does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from leadloop_contract.agreement import EXAMPLE_FILE
from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased
from leadloop_runtime import Transactions
from leadloop_scoring import handlers
from leadloop_scoring.agreement_handlers import (
    PublishAgreement,
    publish_agreement,
    publish_agreement_at_start,
)
from leadloop_scoring.config import Settings
from leadloop_scoring.domain.agreements import VersionConflict
from leadloop_scoring.handlers import Context, RescoreDueLeads

from .factories import person
from .fakes import FakeUnitOfWork

ANA = "lead-ana-ACME-DENTAL"
EXAMPLE = EXAMPLE_FILE.read_text()
CONTEXT = Context()
REGISTRY = handlers.registry(Settings(), context=CONTEXT)
SCORED, MOVED = "leadloop.lead.scored.v1", "leadloop.lead.stage_changed.v1"


async def deliver(uow: FakeUnitOfWork, data: EventData, correlation_id: str = "cid-ana") -> None:
    """Hand an event to the handler its type is registered with, then commit."""
    event = new_event(data, source="/tests", subject=ANA, correlation_id=correlation_id)
    await REGISTRY.handlers()[event.type](uow, event, data)
    await uow.commit()


def run(uow: FakeUnitOfWork) -> Transactions[Any]:
    """The runtime's transaction runner over the fake, as routes and the scheduler use it."""
    return Transactions(lambda: uow)


async def with_agreement() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    await run(uow).run(publish_agreement, PublishAgreement(EXAMPLE, "test"))
    return uow


def captured(**profile: Any) -> LeadCaptured:
    return LeadCaptured(
        lead_id=ANA,
        submission_id="sub-ana-1",
        is_new_lead=True,
        channel="form",
        profile=person(**profile),
        source="webinar",
        campaign="q4-dental-webinar",
        submitted_at=datetime.now(UTC) - timedelta(hours=1),
    )


def did(
    kind: str, activity_id: str | None = None, ago: timedelta = timedelta()
) -> ActivityRecorded:
    return ActivityRecorded(
        lead_id=ANA,
        activity_id=activity_id or f"act-ana-{kind}",
        activity_type=kind,
        occurred_at=datetime.now(UTC) - ago,
        url=f"https://northwind.example/{kind}?email=ana@acme-dental.com",
        campaign="demo-page",
    )


def status(to_stage: Any, crm_status: Any = "accepted") -> LeadStatusChanged:
    return LeadStatusChanged(
        lead_id=ANA,
        crm_event_id="crm-1",
        status=crm_status,
        changed_at=datetime.now(UTC),
        from_stage="sql" if to_stage else None,
        to_stage=to_stage,
    )


async def an_sql() -> FakeUnitOfWork:
    uow = await with_agreement()
    await deliver(uow, captured())
    await deliver(uow, did("demo_request"))
    assert uow.repo.leads[ANA].stage == "sql"
    return uow


def test_the_registry_is_scorings_data_flow_map() -> None:
    handled = REGISTRY.handlers()
    assert {t: h.__name__ for t, h in handled.items()} == {
        # Both a run at a time, by one batch handler: score_captured_lead and record_activity
        # in effect (test_batch_handlers checks it on PostgreSQL).
        "leadloop.lead.captured.v1": "score_lead_events",
        "leadloop.lead.activity_recorded.v1": "score_lead_events",
        "leadloop.lead.erased.v1": "erase_lead",
        "leadloop.lead.status_changed.v1": "apply_sales_move",
        "leadloop.deal.closed.v1": "apply_deal",
    }
    assert REGISTRY.topics() == [topics.INTAKE, topics.FEEDBACK]
    assert len(handlers.registry()) == 5, "builds from default settings, no I/O"


async def test_a_fit_lead_captured_is_scored_and_becomes_an_mql() -> None:
    uow = await with_agreement()
    await deliver(uow, captured())
    [scored] = uow.events(SCORED, ANA)
    assert scored.data["grade"] == "A" and scored.data["agreement_version"] == "2026-11"
    assert scored.correlationid == "cid-ana"
    [moved] = uow.events(MOVED, ANA)
    assert (moved.data["from_stage"], moved.data["to_stage"]) == ("lead", "mql")
    assert moved.data["first_source"] == "webinar" and moved.data["intelligence"] is None
    lead = uow.repo.leads[ANA]
    assert (lead.stage, lead.grade, lead.sources, lead.campaigns) == (
        "mql",
        "A",
        ["webinar"],
        ["q4-dental-webinar"],
    )
    assert [row.cause for row in uow.repo.scores] == ["leadloop.lead.captured.v1"]
    assert [m.transition.to_stage for m in uow.repo.stages] == ["mql"]


async def test_a_demo_request_rescores_and_hands_off_an_sql_with_the_intelligence() -> None:
    uow = await an_sql()
    [_, sql] = uow.events(MOVED, ANA)
    assert (sql.data["from_stage"], sql.data["to_stage"]) == ("mql", "sql")
    assert sql.data["reason"].startswith("hand-raise: demo_request")
    intelligence = sql.data["intelligence"]
    assert intelligence["profile"]["company"] == "ACME Dental"
    assert [e["activity_type"] for e in intelligence["timeline"]] == ["demo_request"]
    assert intelligence["campaigns"] == ["q4-dental-webinar", "demo-page"]
    assert len(uow.events(SCORED, ANA)) == 2
    assert uow.repo.scores[-1].cause == "leadloop.lead.activity_recorded.v1"


async def test_the_same_activity_twice_counts_once_and_publishes_no_new_score() -> None:
    uow = await with_agreement()
    await deliver(uow, captured())
    await deliver(uow, did("pricing_page_view"))
    interest = uow.repo.leads[ANA].interest
    await deliver(uow, did("pricing_page_view"))
    assert uow.repo.leads[ANA].interest == interest > 0
    assert len(uow.events(SCORED, ANA)) == 2


async def test_decay_rescores_a_due_lead_once_when_its_interest_crosses_a_band() -> None:
    uow = await with_agreement()
    await deliver(uow, captured())
    for kind in ("webinar_attended", "pricing_page_view"):  # 20 points: "warm" from 15
        await deliver(uow, did(kind))
    due = uow.repo.leads[ANA].next_rescore_at
    assert due is not None and due > datetime.now(UTC)
    later = due + timedelta(days=1)
    command = RescoreDueLeads(later, batch=10)
    first = await run(uow).run(handlers.rescore_due_leads, command, CONTEXT)
    second = await run(uow).run(handlers.rescore_due_leads, command, CONTEXT)
    assert (first, second) == (1, 0)
    decay = uow.repo.scores[-1]
    assert decay.cause == "leadloop.scoring.decay" and decay.lead.interest < 15
    assert decay.lead.interest_band == "low"
    assert uow.events(SCORED, ANA)[-1].data["scored_at"] == later.isoformat().replace("+00:00", "Z")


async def test_erasure_forgets_the_person_and_ignores_what_comes_later() -> None:
    uow = await an_sql()
    await deliver(uow, LeadErased(lead_id=ANA, erased_at=datetime.now(UTC)))
    lead = uow.repo.leads[ANA]
    assert lead.profile is None and lead.erased_at is not None and lead.breakdown == []
    assert lead.stage == "sql", "the anonymous funnel facts stay"
    assert all(fact.url is None for _, fact in uow.repo.activities.values())
    assert all(row.lead.breakdown == [] for row in uow.repo.scores)
    assert uow.events(MOVED, ANA) == [], "its lifecycle events (with the profile) are gone"
    await deliver(uow, captured())
    await deliver(uow, did("email_click"))
    assert uow.repo.leads[ANA].profile is None and uow.events(SCORED, ANA) == []


async def test_an_erasure_before_the_capture_leaves_a_tombstone() -> None:
    uow = await with_agreement()
    await deliver(uow, LeadErased(lead_id=ANA, erased_at=datetime.now(UTC)))
    await deliver(uow, captured())
    assert uow.repo.leads[ANA].erased_at is not None and uow.events(SCORED) == []


async def test_the_sales_move_feedback_decided_is_applied_as_published() -> None:
    uow = await an_sql()
    await deliver(uow, status("accepted"), correlation_id="crm-1")
    [*_, accepted] = uow.events(MOVED, ANA)
    assert (accepted.data["from_stage"], accepted.data["to_stage"]) == ("sql", "accepted")
    assert accepted.data["reason"] == "CRM: accepted" and accepted.correlationid == "crm-1"
    assert uow.repo.leads[ANA].stage == "accepted"
    assert uow.repo.stages[-1].cause == "leadloop.lead.status_changed.v1"


async def test_a_status_feedback_moved_nothing_for_moves_nothing() -> None:
    uow = await an_sql()
    before = len(uow.events(MOVED, ANA))
    await deliver(uow, status(None, "working"))
    assert len(uow.events(MOVED, ANA)) == before and uow.repo.leads[ANA].stage == "sql"


async def test_scoring_does_not_decide_a_sales_move_again() -> None:
    uow = await with_agreement()
    await deliver(uow, captured())  # an MQL: sales never had it, yet feedback decided
    await deliver(uow, status("opportunity", "opportunity"))
    assert uow.repo.leads[ANA].stage == "opportunity", "one decision, one author: feedback"


@pytest.mark.parametrize(
    ("outcome", "stage"), [("won", "customer"), ("lost", "recycled"), ("created", "opportunity")]
)
async def test_a_closed_deal_applies_the_move_feedback_decided(outcome: Any, stage: str) -> None:
    uow = await an_sql()
    closed_at = datetime.now(UTC)
    deal = DealClosed(
        lead_id=ANA,
        crm_event_id=f"crm-deal-{outcome}",
        deal_id="deal-ACME-DENTAL",
        stage=outcome,
        amount=Decimal("12000"),
        currency="EUR",
        closed_at=closed_at,
        from_stage="sql",
        to_stage=stage,
    )
    await deliver(uow, deal)
    lead = uow.repo.leads[ANA]
    assert lead.stage == stage
    assert uow.events(MOVED, ANA)[-1].data["reason"] == f"CRM: deal_{outcome}"
    assert lead.recycled_at == (closed_at if stage == "recycled" else None)


async def test_a_recycled_lead_stays_in_nurture_during_its_cool_off() -> None:
    uow = await an_sql()
    await deliver(uow, status("recycled", "recycled"))
    await deliver(uow, did("contact_sales_request"))  # a hand-raise, but within 14 days
    assert uow.repo.leads[ANA].stage == "recycled"


async def test_publishing_an_agreement_announces_it_once_and_refuses_a_changed_version() -> None:
    uow = FakeUnitOfWork()
    transactions = run(uow)
    first = await transactions.run(publish_agreement, PublishAgreement(EXAMPLE, "admin"))
    again = await transactions.run(publish_agreement, PublishAgreement(EXAMPLE, "admin"))
    assert (first.created, again.created) == (True, False)
    assert again.agreement.checksum == first.agreement.checksum
    [announced] = uow.events("leadloop.agreement.published.v1")
    assert announced.subject == "agreement:2026-11"
    assert announced.data["document"]["version"] == "2026-11"
    changed = EXAMPLE.replace("demo_request: 40", "demo_request: 45")
    with pytest.raises(VersionConflict):
        await transactions.run(publish_agreement, PublishAgreement(changed, "admin"))
    assert uow.commits == 2, "a refused version commits nothing"


async def test_publishing_with_rescore_makes_every_live_lead_due() -> None:
    uow = await an_sql()
    newer = EXAMPLE.replace('version: "2026-11"', 'version: "2026-12"')
    command = PublishAgreement(newer, "admin", rescore=True)
    published = await run(uow).run(publish_agreement, command)
    assert published.created and published.leads_to_rescore == 1
    assert uow.repo.leads[ANA].next_rescore_at == command.at
    await run(uow).run(handlers.rescore_due_leads, RescoreDueLeads(command.at, 10), CONTEXT)
    assert uow.events(SCORED, ANA)[-1].data["agreement_version"] == "2026-12"


async def test_at_start_the_file_is_published_once_then_the_version_in_force_announced() -> None:
    uow = FakeUnitOfWork()
    first = await run(uow).run(publish_agreement_at_start, EXAMPLE_FILE)
    second = await run(uow).run(publish_agreement_at_start, EXAMPLE_FILE)
    assert first == second == "2026-11"
    assert [by for _, by in uow.repo.agreements] == ["startup"]
    assert len(uow.events("leadloop.agreement.published.v1")) == 2


async def test_a_recycled_leads_decay_is_timed_on_its_interest_since_recycling() -> None:
    uow = await an_sql()  # a demo request: 40 points, "hot"
    await deliver(uow, status("recycled", "recycled"))
    await deliver(uow, did("page_view"))  # 1 point since recycling: "low", nothing to fall below
    lead = uow.repo.leads[ANA]
    assert (lead.stage, lead.interest_band, lead.interest) == ("recycled", "low", 1.0)
    assert lead.next_rescore_at is None, "timed on the demo request from before the recycling"


async def test_due_leads_are_rescored_as_one_batch_with_one_read_and_one_write() -> None:
    uow = await an_sql()
    other = "lead-ben-ACME-DENTAL"
    uow.repo.leads[other] = replace(uow.repo.leads[ANA], lead_id=other)
    newer = EXAMPLE.replace('version: "2026-11"', 'version: "2026-12"')
    command = PublishAgreement(newer, "admin", rescore=True)
    await run(uow).run(publish_agreement, command)
    uow.repo.batch_reads = 0  # the events' runs before read histories a run at a time too
    done = await run(uow).run(handlers.rescore_due_leads, RescoreDueLeads(command.at, 10), CONTEXT)
    assert done == 2 and uow.repo.claims[-1] == 2
    assert (uow.repo.batch_reads, uow.repo.batch_writes) == (1, 1)
    for lead_id in (ANA, other):
        assert uow.events(SCORED, lead_id)[-1].data["agreement_version"] == "2026-12"
        assert uow.repo.leads[lead_id].agreement_version == "2026-12"
