"""Intake's handlers through in-memory fakes of its repository and unit of work, run by the
runtime's transaction runner as the routes run them (intake consumes no event: its registry is
empty)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadloop_events import topics
from leadloop_intake import handlers, import_handlers
from leadloop_intake.config import Settings
from leadloop_intake.domain.commands import Captured
from leadloop_intake.domain.errors import IdempotencyKeyReused, LeadNotFound, UnknownLeads
from leadloop_intake.domain.model import Activity, FormSubmission
from leadloop_intake.entrypoints.edge import Answer, Once
from leadloop_runtime import Transactions

from .fakes import FakeUnitOfWork

TTL = timedelta(hours=72)


def capture(email: str, **fields: object) -> handlers.CaptureLead:
    form = FormSubmission.model_validate({"email": email, **fields})
    return handlers.CaptureLead(form, "form", form.model_dump_json(), correlation_id="cid-1")


def run(uow: FakeUnitOfWork) -> Transactions[Any]:
    """The runtime's runner over the fake: opens it, runs the handler, commits once."""
    return Transactions(lambda: uow)


def batch(*rows: handlers.CaptureLead, rejected: int = 0, last: bool = True) -> Any:
    return import_handlers.ImportLeads(
        import_id="import-expo",
        rows=rows,
        rejected=rejected,
        source="event",
        campaign="expo-2026",
        received_at=datetime(2026, 11, 20, 9, tzinfo=UTC),
        last=last,
    )


def test_the_registry_is_empty_and_built_without_io() -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none")
    registry = handlers.registry(settings)
    assert len(registry) == 0 and registry.topics() == []
    assert len(handlers.registry()) == 0


async def test_one_person_one_lead_and_fields_never_blanked() -> None:
    uow = FakeUnitOfWork()
    first = await run(uow).run(
        handlers.capture_lead,
        capture("Ana.Lopez@ACME-Dental.com", company="ACME Dental", company_size=240),
    )
    second = await run(uow).run(
        handlers.capture_lead, capture("ana.lopez@acme-dental.com", job_title="COO")
    )
    assert first.lead_id == second.lead_id
    assert (first.is_new_lead, second.is_new_lead) == (True, False)
    assert uow.commits == 2
    topic, event = uow.committed[-1]
    assert topic == topics.INTAKE
    profile = event.data["profile"]
    assert (profile["company"], profile["company_size"], profile["job_title"]) == (
        "ACME Dental",
        240,
        "COO",
    )
    assert event.correlationid == "cid-1"
    assert len(uow.repo.submissions) == 2


async def test_a_batch_with_the_same_person_twice_announces_one_new_lead() -> None:
    uow = FakeUnitOfWork()
    done = await run(uow).run(
        import_handlers.import_leads,
        batch(capture("bo@globex.io"), capture("BO@globex.io", company="Globex"), rejected=1),
    )
    assert done[0].lead_id == done[1].lead_id
    assert [d.is_new_lead for d in done] == [True, False]
    assert len(uow.repo.leads) == 1
    assert uow.repo.leads[done[0].lead_id].company == "Globex"
    assert uow.commits == 1 and uow.types() == ["leadloop.lead.captured.v1"] * 2


async def test_an_import_is_recorded_batch_by_batch_and_finished_by_its_last() -> None:
    uow = FakeUnitOfWork()
    await run(uow).run(import_handlers.import_leads, batch(capture("ana@acme.com"), last=False))
    record = uow.repo.imports["import-expo"]
    assert (record.rows_accepted, record.rows_rejected, record.finished_at) == (1, 0, None)
    await run(uow).run(import_handlers.import_leads, batch(capture("bo@globex.io"), rejected=2))
    record = uow.repo.imports["import-expo"]
    assert (record.rows_accepted, record.rows_rejected) == (2, 2)
    assert record.finished_at is not None
    # A file with no good row at all is still recorded, as one finished batch.
    empty = FakeUnitOfWork()
    assert await run(empty).run(import_handlers.import_leads, batch(rejected=3)) == []
    assert empty.repo.imports["import-expo"].rows_rejected == 3 and empty.types() == []


async def test_activities_are_all_or_nothing() -> None:
    uow = FakeUnitOfWork()
    ana = await run(uow).run(handlers.capture_lead, capture("ana@acme-dental.com"))
    good = Activity.model_validate(
        {"lead_id": ana.lead_id, "type": "demo_request", "occurred_at": "2026-11-20T10:00:00Z"}
    )
    unknown = Activity.model_validate(
        {"email": "nobody@nowhere.io", "type": "page_view", "occurred_at": "2026-11-20T10:00:00Z"}
    )
    with pytest.raises(UnknownLeads) as info:
        await run(uow).run(handlers.record_activities, handlers.RecordActivities([good, unknown]))
    assert info.value.errors[0]["pointer"] == "/activities/1/email"
    assert uow.commits == 1 and uow.repo.activities == []
    ids = await run(uow).run(handlers.record_activities, handlers.RecordActivities([good]))
    assert len(ids) == 1
    assert uow.types()[-1] == "leadloop.lead.activity_recorded.v1"
    assert [a.activity_id for a in uow.repo.activities] == ids


async def test_erasure_publishes_once_and_forgets_the_person() -> None:
    uow = FakeUnitOfWork()
    ana = await run(uow).run(
        handlers.capture_lead, capture("ana@acme-dental.com", last_name="Lopez")
    )
    first = await run(uow).run(handlers.erase_lead, handlers.EraseLead(ana.lead_id))
    again = await run(uow).run(handlers.erase_lead, handlers.EraseLead(ana.lead_id))
    assert first == again
    assert uow.types().count("leadloop.lead.erased.v1") == 1
    assert uow.repo.leads[ana.lead_id].email is None
    assert uow.repo.leads[ana.lead_id].last_name is None
    with pytest.raises(LeadNotFound):
        await run(uow).run(handlers.erase_lead, handlers.EraseLead("missing"))


async def test_reading_a_lead_shows_it_with_its_submissions() -> None:
    uow = FakeUnitOfWork()
    ana = await run(uow).run(handlers.capture_lead, capture("ana@acme-dental.com"))
    details = await run(uow).run(handlers.read_lead, ana.lead_id)
    assert details.lead.email == "ana@acme-dental.com"
    assert [s.submission_id for s in details.submissions] == [ana.submission_id]
    with pytest.raises(LeadNotFound):
        await run(uow).run(handlers.read_lead, "missing")


async def test_idempotency_key_runs_the_handler_once() -> None:
    uow = FakeUnitOfWork()
    command = capture("ana@acme-dental.com")

    def answer(done: Captured) -> Answer:
        return 202, {"lead_id": done.lead_id}, done.lead_id

    def once(key: str, body: bytes = b"{}", caller: str = "key-a") -> Any:
        edge = Once(caller, "form", key, body.hex(), TTL)
        return run(uow).run(edge.within, handlers.capture_lead, command, answer)

    first = await once("k1")
    again = await once("k1")
    lead_id = first[1]["lead_id"]
    assert first == (202, {"lead_id": lead_id}, False)
    assert again == (202, {"lead_id": lead_id}, True)
    assert len(uow.repo.submissions) == 1
    with pytest.raises(IdempotencyKeyReused):
        await once("k1", b'{"x": 1}')
    # Another caller's k1 is its own key: run, not replayed, whatever its body.
    assert (await once("k1", b'{"x": 1}', caller="key-b"))[2] is False
    assert len(uow.repo.submissions) == 2
