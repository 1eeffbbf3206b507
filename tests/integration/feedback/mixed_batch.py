"""A realistic mixed batch of the events feedback projects, seeded: heavy leads (captured,
activities, scores, stage moves, the hand-off, touches, statuses, deals), a few reassignments,
breaches, links, and one lead erased mid-way with events about it after its erasure."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from aiokafka import ConsumerRecord

from leadloop_events.catalog import parse_data
from leadloop_events.envelope import CloudEvent, EventData, new_event
from leadloop_events.feedback import DealClosed, LeadStatusChanged, LeadTouched
from leadloop_events.handoff import LeadAssigned, LeadLinked, LeadReassigned, SlaBreached
from leadloop_events.intake import ActivityRecorded, LeadCaptured, LeadErased, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadScored, LeadStageChanged
from leadloop_feedback import handlers
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_messaging.batch import Item

from ...factories import agreement_published

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
Handler = Callable[[SqlUnitOfWork, CloudEvent, EventData], Awaitable[None]]
REPS = {"rep-alice": "Alice Adams", "rep-bob": "Bob Berg", "rep-carol": None, "rep-dan": None}


class Story:
    """One lead's events in the order the topics would bring them (times increasing)."""

    def __init__(self, rng: random.Random, lead_id: str, start: datetime) -> None:
        self.rng, self.lead, self.at = rng, lead_id, start
        self.email = f"{lead_id.lower()}@acme-dental.example"
        self.events: list[EventData] = []
        self.rep = rng.choice(sorted(REPS))

    def tick(self) -> datetime:
        self.at += timedelta(minutes=self.rng.randint(1, 30))
        return self.at

    def intel(self) -> LeadIntelligence:
        profile = LeadProfile(email=self.email, company=f"{self.lead} GmbH")
        return LeadIntelligence(profile=profile, fit=80, interest=40, grade="A")

    def score(self, interest: float) -> None:
        band = "high" if interest > 30 else "low"
        self.events.append(
            LeadScored(
                lead_id=self.lead,
                fit=self.rng.choice([40.0, 80.0]),
                interest=interest,
                total=interest + 80,
                grade=self.rng.choice(["A", "B", "C"]),
                interest_band=band,
                breakdown=[],
                agreement_version="2026-11",
                scored_at=self.tick(),
            )
        )

    def move(self, frm: str, to: str) -> None:
        intelligence = self.intel() if to == "sql" else None
        self.events.append(
            LeadStageChanged(
                lead_id=self.lead,
                from_stage=frm,
                to_stage=to,
                reason="hand-raise: demo_request",
                agreement_version="2026-11",
                changed_at=self.tick(),
                intelligence=intelligence,
            )
        )

    def intake(self) -> None:
        """The form fill, then activities (some through a campaign), each scored."""
        campaign = self.rng.choice(["spring-webinar", "dental-expo", None])
        self.events.append(
            LeadCaptured(
                lead_id=self.lead,
                submission_id=f"s-{self.lead}",
                is_new_lead=True,
                channel="form",
                profile=LeadProfile(email=self.email, company=f"{self.lead} GmbH"),
                source=self.rng.choice(["webinar", "ads", "expo"]),
                campaign=campaign,
                submitted_at=self.tick(),
                external_ids={"hubspot": f"hs-{self.lead}"} if self.rng.random() < 0.5 else {},
            )
        )
        self.score(5)
        for n in range(self.rng.randint(2, 4)):
            self.events.append(
                ActivityRecorded(
                    lead_id=self.lead,
                    activity_id=f"act-{self.lead}-{n}",
                    activity_type=self.rng.choice(["page_view", "webinar_attended", "email_click"]),
                    occurred_at=self.tick(),
                    campaign=self.rng.choice(["retargeting", "dental-expo", None, None]),
                )
            )
            self.score(10.0 * (n + 2))

    def handoff(self) -> None:
        """MQL, SQL, the hand-off, sometimes a breach and a reassignment, a link."""
        self.move("lead", "mql")
        self.move("mql", "sql")
        crm_ids = {"hubspot": f"owner-{self.rep}"} if self.rng.random() < 0.5 else {}
        self.events.append(
            LeadAssigned(
                lead_id=self.lead,
                assignment_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
                owner_rep_id=self.rep,
                owner_email=f"{self.rep}@northwind.example",
                owner_name=REPS[self.rep],
                owner_crm_ids=crm_ids,
                team="dach",
                business="new",
                sla_deadline=self.at + timedelta(hours=1),
                agreement_version="2026-11",
                intelligence=self.intel(),
                assigned_at=self.tick(),
            )
        )
        if self.rng.random() < 0.5:
            self.events.append(
                LeadLinked(
                    lead_id=self.lead,
                    system="hubspot",
                    external_id=f"hs-{self.lead}",
                    linked_at=self.tick(),
                )
            )
        if self.rng.random() < 0.25:
            assignment = self.events[-2 if isinstance(self.events[-1], LeadLinked) else -1]
            assert isinstance(assignment, LeadAssigned)
            self.reassign(assignment)

    def reassign(self, assignment: LeadAssigned) -> None:
        to = self.rng.choice([r for r in REPS if r != self.rep])
        common = {"lead_id": self.lead, "assignment_id": assignment.assignment_id}
        self.events.append(
            SlaBreached(
                **common,
                rep_id=self.rep,
                team="dach",
                deadline=assignment.sla_deadline,
                breached_at=self.tick(),
                step="reassign",
            )
        )
        self.events.append(
            LeadReassigned(
                **common,
                from_rep_id=self.rep,
                to_rep_id=to,
                owner_name=REPS[to],
                to_crm_ids={"hubspot": f"owner-{to}"},
                team="dach",
                reason="no first touch within the SLA",
                attempt=1,
                sla_deadline=self.at + timedelta(hours=2),
                reassigned_at=self.at,
            )
        )
        self.rep = to

    def sales(self) -> None:
        """A touch, a status and sometimes a deal, as the CRM reports them."""
        self.events.append(
            LeadTouched(
                lead_id=self.lead,
                crm_event_id=f"t-{self.lead}",
                rep_id=self.rep,
                channel="call",
                outcome="connected",
                touched_at=self.tick(),
            )
        )
        self.events.append(
            LeadStatusChanged(
                lead_id=self.lead,
                crm_event_id=f"s-{self.lead}",
                status="accepted",
                changed_at=self.tick(),
            )
        )
        if self.rng.random() < 0.4:
            self.deal()

    def deal(self) -> None:
        self.events.append(
            DealClosed(
                lead_id=self.lead,
                crm_event_id=f"d-{self.lead}",
                deal_id=f"deal-{self.lead}",
                stage="won",
                amount=Decimal("1200.00"),
                currency="EUR",
                closed_at=self.tick(),
                reason="Ana liked the demo",
            )
        )

    def erasure(self) -> None:
        self.events.append(LeadErased(lead_id=self.lead, erased_at=self.tick(), reason="asked"))


def stories(seed: int, events: int, prefix: str) -> list[Story]:
    """Leads' stories holding `events` events in all (the last one's cut short); the third
    lead is erased after its hand-off, then sold to late."""
    rng = random.Random(seed)
    made: list[Story] = []
    while sum(len(s.events) for s in made) < events:
        n = len(made)
        story = Story(rng, f"{prefix}-{n:03d}", T0 + timedelta(minutes=7 * n))
        story.intake()
        story.handoff()
        if n == 2:
            story.erasure()
            story.deal()  # a deal after the erasure: its reason is not kept
            story.move("sql", "accepted")  # intelligence-free, and a journey line after erasure
            story.events.append(  # a CRM id after the erasure: not indexed
                LeadLinked(
                    lead_id=story.lead, system="salesforce", external_id="00Q-late", linked_at=T0
                )
            )
        story.sales()
        made.append(story)
    excess = sum(len(s.events) for s in made) - events
    del made[-1].events[len(made[-1].events) - excess :]
    return made


def consumer_items(
    events: list[CloudEvent], wrap: Callable[[Handler], Handler] = lambda h: h
) -> list[Item[SqlUnitOfWork]]:
    """`events` as the consumer hands them to `apply_batch`: records of one partition, decoded
    and parsed, each with feedback's handler of its type (wrapped by `wrap`)."""
    table = handlers.registry().handlers()
    made = []
    for offset, sent in enumerate(events):
        value = sent.to_bytes()
        event = CloudEvent.from_bytes(value)
        record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
            "leads", 0, offset, 0, 0, b"k", value, None, 1, len(value), []
        )
        made.append(Item(record, event, parse_data(event), wrap(table[event.type])))
    return made


def mixed_batch(seed: int = 17, size: int = 200, prefix: str = "lead") -> list[CloudEvent]:
    """`size` events: an agreement published, then leads' events interleaved, each lead's in
    its own order; the same seed and prefix give the same events (ids and times included)."""
    rng = random.Random(seed)
    pending = [list(s.events) for s in stories(seed, size - 1, prefix)]
    first = agreement_published().model_copy(update={"published_at": T0})
    out: list[CloudEvent] = []
    for data in [first, *_interleaved(rng, pending)]:
        out.append(
            new_event(
                data,
                subject=str(getattr(data, "lead_id", "agreement")),
                event_id=str(uuid.UUID(int=rng.getrandbits(128))),
                time=T0 + timedelta(seconds=len(out)),
            )
        )
    return out


def _interleaved(rng: random.Random, pending: list[list[EventData]]) -> Iterator[EventData]:
    while any(pending):
        yield rng.choice([p for p in pending if p]).pop(0)
