"""Feedback's handlers through its real registry and in-memory fakes: each event type folds
into the read model, and the CRM commands decide, refuse or publish as the API promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from leadloop_contract.agreement import EXAMPLE_FILE, checksum, load_agreement
from leadloop_events import topics
from leadloop_events.agreement import AgreementPublished
from leadloop_events.envelope import EventData, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, LeadReassigned, SlaBreached
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadScored, LeadStageChanged
from leadloop_feedback import handlers
from leadloop_feedback.domain.crm import (
    Campaign,
    CrmRefused,
    Deal,
    RecordDeals,
    RecordStatusUpdates,
    RecordTouches,
    SetCampaignSpend,
    StatusUpdate,
    Touch,
)

from .fakes import FakeUnitOfWork

T0 = datetime.now(UTC) - timedelta(days=3)
LEAD = "lead-ACME-DENTAL"
PROFILE = LeadProfile(email="ana@acme-dental.com", company="ACME Dental")
INTEL = LeadIntelligence(profile=PROFILE, fit=80, interest=40, grade="A")
REGISTRY = handlers.registry()


async def deliver(uow: FakeUnitOfWork, *items: EventData, event_id: str | None = None) -> None:
    """Each item as the consumer loop hands it over: the registry's handler, then commit."""
    for data in items:
        subject = getattr(data, "lead_id", "agreement")
        event = new_event(data, subject=subject, event_id=event_id, time=T0)
        handler = REGISTRY.handlers()[event.type]
        await uow.run(handler, event, data)


def captured(lead_id: str = LEAD, **changes: Any) -> LeadCaptured:
    values: dict[str, Any] = {
        "lead_id": lead_id,
        "submission_id": f"s-{lead_id}",
        "is_new_lead": True,
        "channel": "form",
        "profile": PROFILE,
        "source": "webinar",
        "campaign": "spring-webinar",
        "submitted_at": T0,
    }
    return LeadCaptured(**{**values, **changes})


def moved(frm: str, to: str, hours: float, lead_id: str = LEAD) -> LeadStageChanged:
    return LeadStageChanged.model_validate(
        {
            "lead_id": lead_id,
            "from_stage": frm,
            "to_stage": to,
            "reason": "test",
            "agreement_version": "2026-11",
            "changed_at": T0 + timedelta(hours=hours),
            "intelligence": INTEL if to == "sql" else None,
        }
    )


def assigned(rep_id: str = "rep-alice", lead_id: str = LEAD) -> LeadAssigned:
    return LeadAssigned(
        lead_id=lead_id,
        assignment_id=f"a-{lead_id}",
        owner_rep_id=rep_id,
        team="dach",
        business="new",
        sla_deadline=T0 + timedelta(days=1, minutes=30),
        agreement_version="2026-11",
        intelligence=INTEL,
        assigned_at=T0 + timedelta(days=1),
    )


async def handed_off(uow: FakeUnitOfWork, lead_id: str = LEAD) -> None:
    """Captured, MQL, SQL and handed to rep-alice."""
    await deliver(
        uow,
        captured(lead_id),
        moved("lead", "mql", 1, lead_id),
        moved("mql", "sql", 2, lead_id),
        assigned(lead_id=lead_id),
    )


def test_the_registry_reads_all_four_topics() -> None:
    assert REGISTRY.topics() == list(topics.ALL)
    assert len(REGISTRY) == 14  # ... the CRM inbox (crm.notification_received), lead.linked


async def test_capture_activity_and_scores_build_the_projected_lead() -> None:
    uow = FakeUnitOfWork()
    later = captured(source="ads", campaign="retargeting", submitted_at=T0 + timedelta(days=1))
    await deliver(uow, captured(), later)
    await deliver(
        uow,
        ActivityRecorded(
            lead_id=LEAD,
            activity_id="act-1",
            activity_type="webinar_attended",
            occurred_at=T0,
            campaign="spring-webinar",
        ),
        LeadScored(
            lead_id=LEAD,
            fit=80,
            interest=40,
            total=120,
            grade="A",
            interest_band="high",
            breakdown=[],
            agreement_version="2026-11",
            scored_at=T0,
        ),
    )
    lead = uow.repo.leads[LEAD]
    assert (lead.source, lead.campaign, lead.first_seen_at) == ("webinar", "spring-webinar", T0)
    assert lead.campaigns == ("spring-webinar", "retargeting")
    assert (lead.fit, lead.interest, lead.grade, lead.interest_band) == (80, 40, "A", "high")
    assert len(uow.repo.journey) == 4


async def test_funnel_stages_are_kept_once_and_set_the_stage() -> None:
    uow = FakeUnitOfWork()
    await deliver(uow, captured())
    await deliver(uow, moved("lead", "mql", 1), event_id="e-mql")
    await deliver(uow, moved("lead", "mql", 1), event_id="e-mql")  # redelivered
    await deliver(uow, moved("mql", "sql", 2))
    entries = sorted(uow.repo.stage_entries.values(), key=lambda e: e.at)
    assert [(e.from_stage, e.to_stage) for e in entries] == [("lead", "mql"), ("mql", "sql")]
    assert uow.repo.leads[LEAD].stage == "sql"
    assert [line.summary for line in uow.repo.journey.values()][1] == "Stage lead → mql: test."


async def test_handoff_reassignment_and_breach_update_the_assignment() -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    await deliver(
        uow,
        SlaBreached(
            lead_id=LEAD,
            assignment_id=f"a-{LEAD}",
            rep_id="rep-alice",
            team="dach",
            deadline=T0 + timedelta(days=1, minutes=30),
            breached_at=T0 + timedelta(days=1, hours=1),
            step="reassign",
        ),
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
    handoff = uow.repo.handoffs_by_id[f"a-{LEAD}"]
    assert (handoff.rep_id, handoff.sla_deadline) == ("rep-carol", T0 + timedelta(days=2))
    assert uow.repo.breaches[handoff.assignment_id] == 1
    assert uow.repo.reassignments[handoff.assignment_id] == 1
    assert uow.repo.reps == {"rep-alice", "rep-carol"}


async def test_touches_statuses_and_deals_are_projected_once() -> None:
    uow = FakeUnitOfWork()
    touched = LeadTouched(
        lead_id=LEAD,
        crm_event_id="t-1",
        rep_id="rep-alice",
        channel="call",
        outcome="connected",
        touched_at=T0 + timedelta(days=1, minutes=10),
    )
    status = LeadStatusChanged(
        lead_id=LEAD,
        crm_event_id="s-1",
        status="accepted",
        changed_at=T0 + timedelta(days=1, hours=2),
        from_stage="sql",
        to_stage="accepted",
    )
    deal = DealClosed(
        lead_id=LEAD,
        crm_event_id="d-1",
        deal_id="deal-1",
        stage="won",
        amount=Decimal("1200.00"),
        currency="EUR",
        reason="signed after the demo",
        closed_at=T0 + timedelta(days=2),
    )
    await handed_off(uow)
    await deliver(uow, touched, touched, status, deal)
    assert [t.outcome for t in uow.repo.touches.values()] == ["connected"]
    assert uow.repo.statuses["s-1"].status == "accepted"
    assert (uow.repo.deals["d-1"].amount, uow.repo.deals["d-1"].reason) == (
        Decimal("1200.00"),
        "signed after the demo",
    )


async def test_an_erasure_forgets_the_journey_and_a_late_deal_loses_its_reason() -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    await deliver(uow, LeadErased(lead_id=LEAD, erased_at=T0 + timedelta(days=2)))
    await deliver(
        uow,
        DealClosed(
            lead_id=LEAD,
            crm_event_id="d-late",
            deal_id="deal-1",
            stage="lost",
            amount=Decimal("0"),
            currency="EUR",
            reason="Ana Lopez left ACME",
            closed_at=T0 + timedelta(days=2),
        ),
    )
    assert uow.repo.leads[LEAD].erased
    assert uow.repo.deals["d-late"].reason is None
    assert [line.summary for line in uow.repo.journey.values()] == ["Deal deal-1 lost: 0 EUR."]


async def test_an_agreement_is_kept_and_gives_the_crm_its_reason_codes() -> None:
    uow = FakeUnitOfWork()
    agreement = load_agreement(EXAMPLE_FILE.read_text())
    agreement = agreement.model_copy(update={"rejection_reasons": ["bad_fit", "too_small"]})
    await deliver(
        uow,
        AgreementPublished(
            version=agreement.version,
            published_at=T0,
            checksum=checksum(agreement),
            document=agreement,
        ),
    )
    await handed_off(uow)
    rejected = status("s-1", "rejected", reason_code="no_budget")
    with pytest.raises(CrmRefused) as refused:
        await uow.run(handlers.record_status_updates, RecordStatusUpdates([rejected]))
    assert refused.value.status == 409
    assert "bad_fit, too_small" in refused.value.errors[0]["message"]
    fine = status("s-1", "rejected", reason_code="too_small")
    await uow.run(handlers.record_status_updates, RecordStatusUpdates([fine]))
    assert uow.events()[-1].data["to_stage"] == "recycled"


def touch(crm_event_id: str, rep_id: str = "rep-alice", lead_id: str = LEAD) -> Touch:
    return Touch(
        crm_event_id=crm_event_id,
        lead_id=lead_id,
        rep_id=rep_id,
        channel="call",
        outcome="attempted",
        touched_at=T0 + timedelta(days=1, minutes=20),
    )


def status(crm_event_id: str, value: str, **changes: Any) -> StatusUpdate:
    return StatusUpdate.model_validate(
        {
            "crm_event_id": crm_event_id,
            "lead_id": LEAD,
            "status": value,
            "changed_at": T0 + timedelta(days=1, hours=3),
            **changes,
        }
    )


async def test_a_touch_is_published_and_a_repeat_answers_its_first_event() -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    first = await uow.run(handlers.record_touches, RecordTouches([touch("t-1")]))
    again = await uow.run(handlers.record_touches, RecordTouches([touch("t-1")]))
    [event] = uow.events()
    assert (event.type, event.subject, event.data["rep_id"]) == (
        "leadloop.lead.touched.v1",
        LEAD,
        "rep-alice",
    )
    assert first.accepted == [{"crm_event_id": "t-1", "event_id": event.id, "duplicate": False}]
    assert again.accepted == [{"crm_event_id": "t-1", "event_id": event.id, "duplicate": True}]
    assert (first.fresh, again.fresh) == (True, False)


async def test_a_reused_crm_event_id_with_another_body_is_a_conflict() -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    await uow.run(handlers.record_touches, RecordTouches([touch("t-1")]))
    other = touch("t-1").model_copy(update={"outcome": "meeting_booked"})
    with pytest.raises(CrmRefused) as refused:
        await uow.run(handlers.record_touches, RecordTouches([other]))
    assert (refused.value.status, refused.value.kind) == (409, "crm-event-id-reused")
    assert refused.value.errors[0]["pointer"] == "/items/0/crm_event_id"
    assert len(uow.events()) == 1


async def test_a_touch_needs_a_handoff_and_a_rep_it_named() -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    await deliver(uow, captured("lead-GLOBEX"))
    with pytest.raises(CrmRefused) as not_assigned:
        await uow.run(handlers.record_touches, RecordTouches([touch("t-1", lead_id="lead-GLOBEX")]))
    with pytest.raises(CrmRefused) as unknown_rep:
        await uow.run(handlers.record_touches, RecordTouches([touch("t-2", rep_id="rep-mallory")]))
    with pytest.raises(CrmRefused) as unknown_lead:
        await uow.run(handlers.record_touches, RecordTouches([touch("t-3", lead_id="lead-NOBODY")]))
    assert (not_assigned.value.status, not_assigned.value.kind) == (422, "not-assigned")
    assert (unknown_rep.value.status, unknown_rep.value.kind) == (422, "unknown-rep")
    assert unknown_rep.value.errors[0]["field"] == "items.0.rep_id"
    assert (unknown_lead.value.status, unknown_lead.value.kind) == (422, "unknown-lead")
    assert uow.events() == []
    # nothing of a refused batch was kept: the same ids are free for a correct call
    await uow.run(handlers.record_touches, RecordTouches([touch("t-2")]))
    assert len(uow.events()) == 1


async def test_feedback_decides_each_sales_move_from_the_one_it_decided_last() -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    accepted = status("s-1", "accepted")
    await uow.run(handlers.record_status_updates, RecordStatusUpdates([accepted]))
    deal = Deal(
        crm_event_id="d-1",
        lead_id=LEAD,
        deal_id="deal-1",
        stage="created",
        amount=Decimal("5000"),
        currency="EUR",
        closed_at=T0 + timedelta(days=2),
    )
    await uow.run(handlers.record_deals, RecordDeals([deal]))
    moves = [(e.type, e.data["from_stage"], e.data["to_stage"]) for e in uow.events()]
    assert moves == [
        ("leadloop.lead.status_changed.v1", "sql", "accepted"),
        ("leadloop.deal.closed.v1", "accepted", "opportunity"),
    ]
    assert uow.repo.leads[LEAD].stage == "opportunity"


async def test_an_illegal_move_is_refused_and_nothing_is_published() -> None:
    uow = FakeUnitOfWork()
    await deliver(uow, captured())  # a lead, never handed to sales
    with pytest.raises(CrmRefused) as refused:
        await uow.run(
            handlers.record_status_updates, RecordStatusUpdates([status("s-1", "accepted")])
        )
    assert (refused.value.status, refused.value.kind) == (409, "impossible-transition")
    assert uow.events() == []
    assert uow.repo.leads[LEAD].stage == "lead"


async def test_a_rejection_without_a_reason_code_is_refused() -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    with pytest.raises(CrmRefused) as refused:
        await uow.run(
            handlers.record_status_updates, RecordStatusUpdates([status("s-1", "rejected")])
        )
    assert (refused.value.status, refused.value.kind) == (409, "impossible-transition")
    assert "bad_fit" in refused.value.errors[0]["message"]


async def test_a_campaign_spend_replaces_the_known_one() -> None:
    uow = FakeUnitOfWork()
    for spend in ("100.00", "250.50"):
        campaign = Campaign("spring-webinar", "Spring webinar", Decimal(spend), "EUR", T0)
        await uow.run(handlers.set_campaign_spend, SetCampaignSpend(campaign))
    assert uow.repo.campaigns["spring-webinar"].spend == Decimal("250.50")
