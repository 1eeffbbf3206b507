"""lead.linked in feedback: the CRM record routing's connector found or created names the lead
from then on (the latest event wins an id; an erased lead is not linked again)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadloop_events.envelope import new_event
from leadloop_events.handoff import LeadLinked
from leadloop_events.intake import LeadErased
from leadloop_feedback import handlers, identities
from leadloop_feedback.domain.crm import CrmRefused, Deal, RecordDeals
from leadloop_feedback.domain.identity import ExternalRef, Ref

from .fakes import FakeUnitOfWork
from .test_handlers import LEAD, REGISTRY, T0, captured, deliver, handed_off

SF_LEAD_18 = "00Q5e00000AbCdEAAZ"


def linked(system: str, external_id: str, lead_id: str = LEAD) -> LeadLinked:
    return LeadLinked.model_validate(
        {"lead_id": lead_id, "system": system, "external_id": external_id, "linked_at": T0}
    )


def deal_naming(system: str, record_id: str) -> Deal:
    return Deal.model_validate(
        {
            "crm_event_id": "d-1",
            "external_id": {"system": system, "id": record_id},
            "deal_id": "crm-deal-1",
            "stage": "created",
            "amount": "100",
            "currency": "EUR",
            "closed_at": T0 + timedelta(days=1),
        }
    )


def ref(system: str, record_id: str) -> Ref:
    return Ref.external(ExternalRef.model_validate({"system": system, "id": record_id}), "x")


async def test_a_linked_crm_record_names_the_lead() -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    await deliver(uow, linked("salesforce", SF_LEAD_18), linked("hubspot", "5101"))
    assert await identities.resolve_lead(uow, ref("salesforce", SF_LEAD_18[:15])) == LEAD
    assert await identities.resolve_lead(uow, ref("hubspot", "5101")) == LEAD
    deal = deal_naming("salesforce", SF_LEAD_18)
    await uow.run(handlers.record_deals, RecordDeals([deal]))
    [event] = uow.events("leadloop.deal.closed.v1")
    assert event.data["lead_id"] == LEAD
    assert [line.summary for line in uow.repo.journey.values()][-2:] == [
        f"Linked to Salesforce record {SF_LEAD_18}.",
        "Linked to HubSpot record 5101.",
    ]


async def test_the_latest_link_wins_whatever_the_order() -> None:
    uow = FakeUnitOfWork()
    for lead_id, at in (("lead-GLOBEX", T0 + timedelta(hours=1)), (LEAD, T0)):
        # HubSpot merged the contact into GLOBEX's later, but that link is read first
        data = linked("hubspot", "5101", lead_id)
        event = new_event(data, subject=lead_id, time=at)
        await uow.run(REGISTRY.handlers()[event.type], event, data)
    assert await identities.resolve_lead(uow, ref("hubspot", "5101")) == "lead-GLOBEX"


async def test_a_link_after_the_erasure_is_ignored() -> None:
    uow = FakeUnitOfWork()
    await deliver(uow, captured(), LeadErased(lead_id=LEAD, erased_at=T0))
    await deliver(uow, linked("hubspot", "5101"))
    assert uow.repo.lead_identities == {}
    assert await identities.resolve_lead(uow, ref("hubspot", "5101")) is None
    with pytest.raises(CrmRefused) as refused:
        await uow.run(handlers.record_deals, RecordDeals([deal_naming("hubspot", "5101")]))
    assert [e["code"] for e in refused.value.errors] == ["unknown_lead"]
