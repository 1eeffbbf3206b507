"""A lead's external ids through intake's handlers: kept, merged, announced, resolved, forgotten."""

from __future__ import annotations

from typing import Any

import pytest

from leadloop_intake import handlers
from leadloop_intake.domain.errors import LeadNotFound
from leadloop_intake.domain.model import FormSubmission
from leadloop_runtime import Transactions

from .fakes import FakeUnitOfWork

SF_LEAD = "00Q5e00000AbCdEAAZ"


def capture(email: str, channel: Any = "form", **fields: Any) -> handlers.CaptureLead:
    form = FormSubmission.model_validate({"email": email, **fields})
    return handlers.CaptureLead(form, channel, form.model_dump_json())


def run(uow: FakeUnitOfWork) -> Transactions[Any]:
    return Transactions(lambda: uow)


async def test_ids_from_two_systems_merge_on_one_lead_and_are_announced() -> None:
    uow = FakeUnitOfWork()
    ingrid = "ingrid@fjord-freight.no"
    first = await run(uow).run(
        handlers.capture_lead, capture(ingrid, "hubspot", external_ids={"hubspot": "5101"})
    )
    second = await run(uow).run(
        handlers.capture_lead, capture(ingrid, external_ids={"salesforce": SF_LEAD})
    )
    third = await run(uow).run(handlers.capture_lead, capture(ingrid))
    assert first.lead_id == second.lead_id == third.lead_id
    announced = [e.data["external_ids"] for e in uow.events("leadloop.lead.captured.v1")]
    both = {"hubspot": "5101", "salesforce": SF_LEAD}
    assert announced == [{"hubspot": "5101"}, both, both]


async def test_a_lead_is_found_by_its_external_id() -> None:
    uow = FakeUnitOfWork()
    done = await run(uow).run(
        handlers.capture_lead, capture("ingrid@fjord-freight.no", external_ids={"hubspot": "5101"})
    )
    assert await run(uow).run(handlers.find_lead, "hubspot", "5101") == done.lead_id
    with pytest.raises(LeadNotFound):
        await run(uow).run(handlers.find_lead, "salesforce", "5101")


async def test_a_new_email_with_a_known_contact_id_readdresses_the_lead() -> None:
    uow = FakeUnitOfWork()
    old = await run(uow).run(
        handlers.capture_lead, capture("ingrid@fjord-freight.no", external_ids={"hubspot": "5101"})
    )
    new = await run(uow).run(
        handlers.capture_lead, capture("ingrid@fjordfreight.com", external_ids={"hubspot": "5101"})
    )
    assert new.lead_id == old.lead_id and not new.is_new_lead
    assert uow.repo.leads[old.lead_id].email == "ingrid@fjordfreight.com"


async def test_when_the_email_is_another_leads_the_email_decides_and_the_id_moves() -> None:
    uow = FakeUnitOfWork()
    ingrid = await run(uow).run(
        handlers.capture_lead, capture("ingrid@fjord-freight.no", external_ids={"hubspot": "5101"})
    )
    ola = await run(uow).run(handlers.capture_lead, capture("ola@fjord-freight.no"))
    again = await run(uow).run(
        handlers.capture_lead, capture("ola@fjord-freight.no", external_ids={"hubspot": "5101"})
    )
    assert again.lead_id == ola.lead_id != ingrid.lead_id
    assert await run(uow).run(handlers.find_lead, "hubspot", "5101") == ola.lead_id
    assert uow.repo.leads[ingrid.lead_id].email == "ingrid@fjord-freight.no"


async def test_an_erased_lead_is_no_longer_found_by_its_external_id() -> None:
    uow = FakeUnitOfWork()
    done = await run(uow).run(
        handlers.capture_lead, capture("ingrid@fjord-freight.no", external_ids={"hubspot": "5101"})
    )
    await run(uow).run(handlers.erase_lead, handlers.EraseLead(done.lead_id))
    with pytest.raises(LeadNotFound):
        await run(uow).run(handlers.find_lead, "hubspot", "5101")
