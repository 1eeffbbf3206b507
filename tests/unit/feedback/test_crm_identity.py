"""Identity across systems in feedback: CRM items name the lead by leadloop id, email or CRM id
and the rep by leadloop id, email or CRM owner id (exactly one); events fill the indexes
(hashes only), erasure empties them, and resolution runs before the CRM commands decide."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from leadloop_events.envelope import new_event
from leadloop_events.feedback import DealClosed, LeadTouched
from leadloop_events.handoff import LeadReassigned
from leadloop_events.intake import LeadErased, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence
from leadloop_feedback import handlers, identities
from leadloop_feedback.domain.crm import (
    CrmRefused,
    Deal,
    RecordDeals,
    RecordStatusUpdates,
    RecordTouches,
    StatusUpdate,
    Touch,
)
from leadloop_feedback.domain.identity import ExternalRef, Ref, email_key, external_key

from .fakes import FakeUnitOfWork
from .test_handlers import (
    LEAD,
    REGISTRY,
    T0,
    assigned,
    captured,
    deliver,
    handed_off,
    moved,
)

ANA = "Ana.Lopez@ACME-dental.com"
ALICE = "alice@northwind.example"
SF_LEAD_18 = "00Q5e00000AbCdEAAZ"
SF_ALICE_18 = "0055e000001AbCdAAK"


def touch(**naming: Any) -> Touch:
    values = {
        "crm_event_id": "t-1",
        "channel": "call",
        "outcome": "connected",
        "touched_at": T0 + timedelta(days=1, minutes=12),
    }
    return Touch.model_validate({**values, **naming})


def deal(**naming: Any) -> Deal:
    values = {
        "crm_event_id": "d-1",
        "deal_id": "hs-deal-7301",
        "stage": "created",
        "amount": "12000",
        "currency": "EUR",
        "closed_at": T0 + timedelta(days=2),
    }
    return Deal.model_validate({**values, **naming})


async def known_to_crms(uow: FakeUnitOfWork) -> None:
    """LEAD captured with Ana's address and its HubSpot and Salesforce ids, handed to Alice,
    whom routing knows by her address and her CRM owner ids."""
    profile = LeadProfile(email=ANA, company="ACME Dental")
    intel = LeadIntelligence(profile=profile, fit=80, interest=40, grade="A")
    ids = {"hubspot": "5101", "salesforce": SF_LEAD_18}
    owner = {"hubspot": "8101", "salesforce": SF_ALICE_18}
    await deliver(
        uow,
        captured(profile=profile, external_ids=ids),
        moved("lead", "mql", 1),
        moved("mql", "sql", 2).model_copy(update={"intelligence": intel}),
        assigned().model_copy(
            update={"intelligence": intel, "owner_email": ALICE, "owner_crm_ids": owner}
        ),
    )


@pytest.mark.parametrize(
    ("naming", "field"),
    [
        ({"rep_id": "rep-alice"}, "lead_id"),
        ({"lead_id": LEAD, "email": ANA, "rep_id": "rep-alice"}, "email"),
        (
            {"email": ANA, "external_id": {"system": "hubspot", "id": "5101"}, "rep_id": "r"},
            "external_id",
        ),
        ({"lead_id": LEAD}, "rep_id"),
        ({"lead_id": LEAD, "rep_id": "rep-alice", "rep_email": ALICE}, "rep_email"),
    ],
    ids=["no-lead", "id-and-email", "email-and-external", "no-rep", "two-reps"],
)
def test_a_touch_names_exactly_one_lead_and_one_rep(naming: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        touch(**naming)
    [error] = raised.value.errors()
    assert (error["loc"], error["type"]) == ((field,), "one_of")
    assert "exactly one of" in error["msg"]


def test_a_status_names_at_most_one_rep_and_a_deal_none() -> None:
    base = {"crm_event_id": "s-1", "email": ANA, "status": "working", "changed_at": T0}
    assert StatusUpdate.model_validate(base).rep_ref() is None
    with pytest.raises(ValidationError) as raised:
        StatusUpdate.model_validate(
            {**base, "rep_id": "rep-alice", "crm_owner_id": {"system": "hubspot", "id": "8101"}}
        )
    assert [(e["loc"], e["type"]) for e in raised.value.errors()] == [(("crm_owner_id",), "one_of")]
    with pytest.raises(ValidationError):
        deal(lead_id=LEAD, rep_id="rep-alice")  # a deal names no rep


@pytest.mark.parametrize(
    "external",
    [{"system": "pipedrive", "id": "1"}, {"system": "hubspot", "id": "51 01"}, {"id": "5101"}],
)
def test_an_external_id_names_a_known_system_and_a_plain_id(external: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        deal(external_id=external)


def test_an_email_is_compared_by_the_hash_of_its_normalised_form() -> None:
    key = email_key(ANA)
    assert key == hashlib.sha256(b"ana.lopez@acme-dental.com").hexdigest()
    assert email_key("  ana.lopez@acme-dental.COM ") == key
    # Gmail's dots and +tags name one person, as intake merges them
    assert email_key("Ana.Lopez+crm@googlemail.com") == email_key("analopez@gmail.com")
    assert email_key("ana@acme-dental.com") != key
    assert touch(email=ANA, rep_id="r").lead_ref() == Ref("email", key, "email")


def test_a_salesforce_id_is_compared_by_its_15_characters() -> None:
    assert external_key("salesforce", SF_LEAD_18) == external_key("salesforce", SF_LEAD_18[:15])
    assert external_key("salesforce", SF_LEAD_18) != external_key("salesforce", "00Q5e00000abcdE")
    assert external_key("hubspot", "5101") == "5101"
    ref = Ref.external(ExternalRef(system="salesforce", id=SF_LEAD_18), "external_id")
    assert (ref.kind, ref.value) == ("salesforce", SF_LEAD_18[:15])


async def test_a_touch_by_email_lands_on_the_lead_by_the_rep_named_by_email() -> None:
    uow = FakeUnitOfWork()
    await known_to_crms(uow)
    await uow.run(handlers.record_touches, RecordTouches([touch(email=ANA, rep_email=ALICE)]))
    [event] = uow.events("leadloop.lead.touched.v1")
    published = LeadTouched.model_validate(event.data)
    assert (event.subject, published.lead_id, published.rep_id) == (LEAD, LEAD, "rep-alice")
    body = uow.repo.requests[("touch", "t-1")]["body"]
    assert body["lead_id"] == LEAD and body["rep_id"] == "rep-alice"
    assert not {"email", "rep_email"} & set(body)
    # the same fact sent again, naming the lead by its id, is the same call
    again = await uow.run(
        handlers.record_touches, RecordTouches([touch(lead_id=LEAD, rep_id="rep-alice")])
    )
    assert again.accepted[0]["duplicate"] is True


async def test_crm_ids_name_the_lead_and_the_rep_in_either_salesforce_form() -> None:
    uow = FakeUnitOfWork()
    await known_to_crms(uow)
    status = StatusUpdate(
        crm_event_id="s-1",
        external_id=ExternalRef(system="salesforce", id=SF_LEAD_18[:15]),
        crm_owner_id=ExternalRef(system="salesforce", id=SF_ALICE_18),
        status="working",
        changed_at=T0 + timedelta(days=2),
    )
    await uow.run(handlers.record_status_updates, RecordStatusUpdates([status]))
    await uow.run(
        handlers.record_deals,
        RecordDeals([deal(external_id={"system": "hubspot", "id": "5101"})]),
    )
    [status_event] = uow.events("leadloop.lead.status_changed.v1")
    assert (status_event.data["lead_id"], status_event.data["rep_id"]) == (LEAD, "rep-alice")
    [deal_event] = uow.events("leadloop.deal.closed.v1")
    assert DealClosed.model_validate(deal_event.data).lead_id == LEAD


@pytest.mark.parametrize(
    ("naming", "pointer", "code"),
    [
        (
            {"email": "someone@else.example", "rep_id": "rep-alice"},
            "/items/0/email",
            "unknown_lead",
        ),
        (
            {"external_id": {"system": "hubspot", "id": "9999"}, "rep_id": "rep-alice"},
            "/items/0/external_id",
            "unknown_lead",
        ),
        (
            {"lead_id": LEAD, "rep_email": "mallory@else.example"},
            "/items/0/rep_email",
            "unknown_rep",
        ),
        (
            {"lead_id": LEAD, "crm_owner_id": {"system": "hubspot", "id": "5101"}},
            "/items/0/crm_owner_id",
            "unknown_rep",
        ),
    ],
    ids=["email", "external-id", "rep-email", "crm-owner-id"],
)
async def test_an_unknown_identity_is_refused_at_its_field(
    naming: dict[str, Any], pointer: str, code: str
) -> None:
    uow = FakeUnitOfWork()
    await known_to_crms(uow)
    with pytest.raises(CrmRefused) as refused:
        await uow.run(handlers.record_touches, RecordTouches([touch(**naming)]))
    assert refused.value.status == 422
    assert [(e["pointer"], e["code"]) for e in refused.value.errors] == [(pointer, code)]
    assert "else.example" not in str(refused.value.errors)  # the address is not echoed
    assert uow.events() == []


async def test_only_hashes_and_crm_ids_are_kept() -> None:
    uow = FakeUnitOfWork()
    await known_to_crms(uow)
    await uow.run(handlers.record_touches, RecordTouches([touch(email=ANA, rep_email=ALICE)]))
    assert set(uow.repo.lead_identities) == {
        ("email", email_key(ANA)),
        ("hubspot", "5101"),
        ("salesforce", SF_LEAD_18[:15]),
    }
    assert set(uow.repo.rep_identities) == {
        ("email", email_key(ALICE)),
        ("hubspot", "8101"),
        ("salesforce", SF_ALICE_18[:15]),
    }
    kept = repr(vars(uow.repo)).lower()
    assert "ana.lopez" not in kept and "alice@" not in kept


async def test_erasure_forgets_the_identities_and_a_late_event_does_not_restore_them() -> None:
    uow = FakeUnitOfWork()
    await known_to_crms(uow)
    await deliver(uow, LeadErased(lead_id=LEAD, erased_at=T0 + timedelta(days=3)))
    assert uow.repo.lead_identities == {}
    await deliver(uow, moved("mql", "sql", 2).model_copy(update={"changed_at": T0}))
    assert uow.repo.lead_identities == {}
    assert await identities.resolve_lead(uow, Ref.email(ANA, "email")) is None
    with pytest.raises(CrmRefused) as refused:
        await uow.run(handlers.record_touches, RecordTouches([touch(email=ANA, rep_email=ALICE)]))
    assert [e["code"] for e in refused.value.errors] == ["unknown_lead"]


async def test_the_latest_event_wins_a_crm_id_whatever_the_order() -> None:
    uow = FakeUnitOfWork()
    hubspot = {"hubspot": "5101"}
    for lead_id, at in (("lead-GLOBEX", T0 + timedelta(days=1)), (LEAD, T0)):
        # the contact moved to GLOBEX a day later, but that event is read first
        data = captured(lead_id, external_ids=hubspot)
        event = new_event(data, subject=lead_id, time=at)
        await uow.run(REGISTRY.handlers()[event.type], event, data)
    ref = Ref.external(ExternalRef(system="hubspot", id="5101"), "external_id")
    assert await identities.resolve_lead(uow, ref) == "lead-GLOBEX"


async def test_a_reassignment_makes_the_new_owner_known_by_crm_id() -> None:
    uow = FakeUnitOfWork()
    await handed_off(uow)
    await deliver(
        uow,
        LeadReassigned(
            lead_id=LEAD,
            assignment_id=f"a-{LEAD}",
            from_rep_id="rep-alice",
            to_rep_id="rep-carol",
            to_crm_ids={"hubspot": "8103"},
            team="dach",
            reason="no first touch within the SLA",
            attempt=1,
            sla_deadline=T0 + timedelta(days=2),
            reassigned_at=T0 + timedelta(days=1, hours=1),
        ),
    )
    carol = Ref.external(ExternalRef(system="hubspot", id="8103"), "crm_owner_id")
    assert await identities.resolve_rep(uow, carol) == "rep-carol"
    assert await identities.resolve_rep(uow, Ref.leadloop("rep-x", "rep_id")) == "rep-x"
