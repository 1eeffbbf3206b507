"""Intake's handlers through in-memory fakes of its repository and unit of work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from leadloop_events import topics
from leadloop_intake import handlers
from leadloop_intake.domain.errors import IdempotencyKeyReused, LeadNotFound, UnknownLeads
from leadloop_intake.domain.model import Activity, FormSubmission

from .fakes import FakeUnitOfWork

TTL = timedelta(hours=72)


def capture(email: str, **fields: object) -> handlers.CaptureLead:
    form = FormSubmission.model_validate({"email": email, **fields})
    return handlers.CaptureLead(form, "form", form.model_dump_json(), correlation_id="cid-1")


async def test_one_person_one_lead_and_fields_never_blanked() -> None:
    uow = FakeUnitOfWork()
    [first] = await handlers.capture_leads(
        uow, [capture("Ana.Lopez@ACME-Dental.com", company="ACME Dental", company_size=240)]
    )
    [second] = await handlers.capture_leads(
        uow, [capture("ana.lopez@acme-dental.com", job_title="COO")]
    )
    assert first.lead_id == second.lead_id
    assert (first.is_new_lead, second.is_new_lead) == (True, False)
    topic, event = uow.pending[-1]
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
    done = await handlers.capture_leads(
        uow, [capture("bo@globex.io"), capture("BO@globex.io", company="Globex")]
    )
    assert done[0].lead_id == done[1].lead_id
    assert [d.is_new_lead for d in done] == [True, False]
    assert len(uow.repo.leads) == 1


async def test_activities_are_all_or_nothing() -> None:
    uow = FakeUnitOfWork()
    [ana] = await handlers.capture_leads(uow, [capture("ana@acme-dental.com")])
    good = Activity.model_validate(
        {"lead_id": ana.lead_id, "type": "demo_request", "occurred_at": "2026-11-20T10:00:00Z"}
    )
    unknown = Activity.model_validate(
        {"email": "nobody@nowhere.io", "type": "page_view", "occurred_at": "2026-11-20T10:00:00Z"}
    )
    uow.pending.clear()
    with pytest.raises(UnknownLeads) as info:
        await handlers.record_activities(uow, handlers.RecordActivities([good, unknown]))
    assert info.value.errors[0]["pointer"] == "/activities/1/email"
    assert uow.pending == [] and uow.repo.activities == []
    ids = await handlers.record_activities(uow, handlers.RecordActivities([good]))
    assert len(ids) == 1
    assert [e.type for _, e in uow.pending] == ["leadloop.lead.activity_recorded.v1"]


async def test_erasure_publishes_once_and_forgets_the_person() -> None:
    uow = FakeUnitOfWork()
    [ana] = await handlers.capture_leads(uow, [capture("ana@acme-dental.com", last_name="Lopez")])
    await uow.commit()
    await handlers.erase_lead(uow, handlers.EraseLead(ana.lead_id))
    await uow.commit()
    await handlers.erase_lead(uow, handlers.EraseLead(ana.lead_id))
    await uow.commit()
    assert uow.types().count("leadloop.lead.erased.v1") == 1
    assert uow.repo.leads[ana.lead_id]["email"] is None
    assert uow.repo.leads[ana.lead_id]["last_name"] is None
    with pytest.raises(LeadNotFound):
        await handlers.erase_lead(uow, handlers.EraseLead("missing"))


async def test_idempotency_key_runs_the_action_once() -> None:
    uow = FakeUnitOfWork()
    runs: list[int] = []

    async def action() -> handlers.Outcome:
        runs.append(1)
        return 202, {"lead_id": "L1"}, "L1"

    def once(key: str, body: bytes = b"{}", caller: str = "key-a") -> Any:
        return handlers.once(
            uow, caller=caller, scope="form", key=key, body=body, ttl=TTL, action=action
        )

    first = await once("k1")
    again = await once("k1")
    assert first == (202, {"lead_id": "L1"}, False)
    assert again == (202, {"lead_id": "L1"}, True)
    assert runs == [1]
    with pytest.raises(IdempotencyKeyReused):
        await once("k1", b'{"x": 1}')
    # Another caller's k1 is its own key: run, not replayed, whatever its body.
    assert (await once("k1", b'{"x": 1}', caller="key-b"))[2] is False
    assert runs == [1, 1]
