"""The agreement in force, cached by version: a batch of events reads and parses its document
once, and a version published meanwhile (here or by another replica) is in force at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadloop_contract.agreement import EXAMPLE_FILE
from leadloop_events.envelope import EventData, new_event
from leadloop_events.intake import ActivityRecorded, LeadCaptured
from leadloop_runtime import Transactions
from leadloop_scoring import handlers
from leadloop_scoring.agreement_handlers import PublishAgreement, publish_agreement
from leadloop_scoring.config import Settings
from leadloop_scoring.handlers import Context

from .factories import person
from .fakes import FakeUnitOfWork

BO = "lead-bo-FJORD-FREIGHT"
EXAMPLE = EXAMPLE_FILE.read_text()
NEWER = EXAMPLE.replace('version: "2026-11"', 'version: "2026-12"').replace(
    "pricing_page_view: 8", "pricing_page_view: 9"
)
SCORED = "leadloop.lead.scored.v1"


class Scoring:
    """One scoring process: its own agreement cache, handling events on a repository."""

    def __init__(self) -> None:
        self.handlers = handlers.registry(Settings(), context=Context()).handlers()

    async def deliver(self, uow: FakeUnitOfWork, data: EventData) -> None:
        event = new_event(data, source="/tests", subject=BO, correlation_id="cid-bo")
        await self.handlers[event.type](uow, event, data)
        await uow.commit()


async def published(yaml_text: str, uow: FakeUnitOfWork | None = None) -> FakeUnitOfWork:
    uow = uow or FakeUnitOfWork()
    await Transactions(lambda: uow).run(
        publish_agreement,
        PublishAgreement(yaml_text, "test", at=datetime.now(UTC) + timedelta(seconds=1)),
    )
    return uow


def captured() -> LeadCaptured:
    return LeadCaptured(
        lead_id=BO,
        submission_id="sub-bo-1",
        is_new_lead=True,
        channel="form",
        profile=person(email="bo@fjord-freight.no", company="Fjord Freight"),
        source="webinar",
        campaign=None,
        submitted_at=datetime.now(UTC),
    )


def viewed_pricing(n: int) -> ActivityRecorded:
    return ActivityRecorded(
        lead_id=BO,
        activity_id=f"act-bo-{n}",
        activity_type="pricing_page_view",
        occurred_at=datetime.now(UTC),
        url=None,
        campaign=None,
    )


async def test_a_batch_of_events_reads_the_agreement_document_once() -> None:
    scoring, uow = Scoring(), await published(EXAMPLE)
    uow.repo.documents_read = 0
    await scoring.deliver(uow, captured())
    for n in range(3):
        await scoring.deliver(uow, viewed_pricing(n))
    assert uow.repo.documents_read == 1
    versions = [e.data["agreement_version"] for e in uow.events(SCORED, BO)]
    assert versions == ["2026-11"] * 4


async def test_a_version_published_meanwhile_is_in_force_for_the_next_event() -> None:
    scoring, uow = Scoring(), await published(EXAMPLE)
    await scoring.deliver(uow, captured())
    await scoring.deliver(uow, viewed_pricing(1))
    await published(NEWER, uow)  # as another replica's API would: the cache is not told
    await scoring.deliver(uow, viewed_pricing(2))
    *_, before, after = uow.events(SCORED, BO)
    assert (before.data["agreement_version"], after.data["agreement_version"]) == (
        "2026-11",
        "2026-12",
    )
    assert (before.data["interest"], after.data["interest"]) == (8, 18)  # 2 views × 9 points


async def test_the_same_version_in_another_database_is_that_databases_document() -> None:
    scoring = Scoring()
    first = await published(EXAMPLE)
    await scoring.deliver(first, viewed_pricing(1))
    other = await published(EXAMPLE.replace("pricing_page_view: 8", "pricing_page_view: 5"))
    await scoring.deliver(other, viewed_pricing(1))
    [in_first], [in_other] = first.events(SCORED, BO), other.events(SCORED, BO)
    assert (in_first.data["interest"], in_other.data["interest"]) == (8, 5)
