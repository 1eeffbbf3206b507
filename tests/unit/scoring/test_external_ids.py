"""External ids flow from lead.captured into the hand-off's intelligence, merged, and are
forgotten on erasure."""

from __future__ import annotations

from datetime import UTC, datetime

from leadloop_events.intake import LeadErased

from .fakes import FakeUnitOfWork
from .test_handlers import ANA, MOVED, an_sql, captured, deliver, did, with_agreement

SF_LEAD = "00Q5e00000AbCdEAAZ"


async def test_the_sql_intelligence_carries_the_external_ids_merged() -> None:
    uow = await with_agreement()
    await deliver(uow, captured().model_copy(update={"external_ids": {"hubspot": "5101"}}))
    await deliver(uow, captured().model_copy(update={"external_ids": {"salesforce": SF_LEAD}}))
    await deliver(uow, captured())  # a record from before external ids erases none
    await deliver(uow, did("demo_request"))
    [sql] = [e for e in uow.events(MOVED) if e.data["to_stage"] == "sql"]
    assert sql.data["intelligence"]["external_ids"] == {"hubspot": "5101", "salesforce": SF_LEAD}


async def test_a_lead_without_external_ids_hands_off_an_empty_mapping() -> None:
    uow: FakeUnitOfWork = await an_sql()
    [sql] = [e for e in uow.events(MOVED) if e.data["to_stage"] == "sql"]
    assert sql.data["intelligence"]["external_ids"] == {}


async def test_erasure_forgets_the_external_ids() -> None:
    uow = await with_agreement()
    await deliver(uow, captured().model_copy(update={"external_ids": {"hubspot": "5101"}}))
    await deliver(uow, LeadErased(lead_id=ANA, erased_at=datetime.now(UTC)))
    assert uow.repo.leads[ANA].external_ids == {}
