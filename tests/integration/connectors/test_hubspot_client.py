"""HubSpotClient against the fake HubSpot API: each call, one task per alert, 429, 401, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from leadloop_connectors.http import AuthFailed, PermanentError, RateLimited, TransientError
from leadloop_connectors.hubspot import TASK_TO_CONTACT, HubSpotClient
from tests.vendors.hubspot import FakeHubSpot, serve_hubspot

DUE = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeHubSpot]:
    server, stop = await serve_hubspot()
    try:
        yield server
    finally:
        await stop()


@pytest.fixture
async def client(fake: FakeHubSpot) -> AsyncIterator[HubSpotClient]:
    async with HubSpotClient(fake.url, fake.token) as hubspot:
        yield hubspot


def seed_ana(fake: FakeHubSpot) -> str:
    return fake.seed(
        "contacts",
        {"email": "ana@acme-dental.no", "firstname": "Ana", "lifecyclestage": "lead"},
    )


async def test_contacts_are_read_found_created_and_updated(
    fake: FakeHubSpot, client: HubSpotClient
) -> None:
    ana = seed_ana(fake)
    contact = await client.get_contact(ana, ["email", "firstname", "hs_lead_status"])
    assert contact is not None
    assert contact.properties["firstname"] == "Ana"
    assert contact.properties["hs_lead_status"] is None
    assert await client.get_contact("999999") is None
    found = await client.find_contact_by_email("ANA@acme-dental.no")
    assert found is not None and found.id == ana
    assert await client.find_contact_by_email("nobody@acme-dental.no") is None
    search = fake.calls_to("POST", "/crm/v3/objects/contacts/search")[-1].body
    assert search["filterGroups"][0]["filters"][0] == {
        "propertyName": "email",
        "operator": "EQ",
        "value": "nobody@acme-dental.no",
    }

    bo = await client.create_contact({"email": "bo@fjord-logistics.no", "firstname": "Bo"})
    assert fake.objects["contacts"][bo.id]["properties"]["firstname"] == "Bo"
    owner = fake.add_owner("rep-alice@leadloop.example", "Alice", "Rep")
    updated = await client.update_contact(
        bo.id,
        {
            "hubspot_owner_id": owner,
            "hs_lead_status": "OPEN",
            "lifecyclestage": "salesqualifiedlead",
        },
    )
    assert updated.properties["hubspot_owner_id"] == owner
    stored = fake.objects["contacts"][bo.id]["properties"]
    assert (stored["hs_lead_status"], stored["lifecyclestage"]) == ("OPEN", "salesqualifiedlead")
    assert fake.calls_to("PATCH", f"/crm/v3/objects/contacts/{bo.id}")


async def test_ensure_contact_finds_or_creates_and_reads_a_409(
    fake: FakeHubSpot, client: HubSpotClient
) -> None:
    ana = seed_ana(fake)
    assert await client.ensure_contact("ana@acme-dental.no", {"firstname": "Ana"}) == ana
    new = await client.ensure_contact("cy@nordic-freight.se", {"firstname": "Cy"})
    assert fake.objects["contacts"][new]["properties"]["email"] == "cy@nordic-freight.se"
    with pytest.raises(PermanentError) as raised:
        await client.create_contact({"email": "cy@nordic-freight.se"})
    assert raised.value.status == 409
    assert len(fake.records("contacts")) == 2


async def test_a_task_is_created_once_per_alert_on_the_contact(
    fake: FakeHubSpot, client: HubSpotClient
) -> None:
    ana = seed_ana(fake)
    owner = fake.add_owner("rep-alice@leadloop.example", "Alice", "Rep")
    args = ("alert-ACME-1", owner, ana, "Call Ana (SQL)", "Fit 82, asked for a demo", DUE)
    first = await client.ensure_task(*args)
    again = await client.ensure_task(*args)
    assert first == again
    (task,) = fake.records("tasks")
    props = task["properties"]
    assert props["hs_timestamp"] == "2026-11-30T09:30:00.000Z"
    assert (props["hubspot_owner_id"], props["leadloop_alert_id"]) == (owner, "alert-ACME-1")
    assert (props["hs_task_subject"], props["hs_task_body"]) == args[3:5]
    assert fake.associations[("tasks", first, "contacts")] == {ana: TASK_TO_CONTACT}
    other = await client.ensure_task("alert-ACME-2", owner, ana, "Call again", "", DUE)
    assert other != first and len(fake.records("tasks")) == 2


async def test_a_crash_between_create_and_record_does_not_duplicate_the_task(
    fake: FakeHubSpot,
) -> None:
    ana = seed_ana(fake)
    owner = fake.add_owner("rep-bo@leadloop.example", "Bo", "Rep")
    async with HubSpotClient(fake.url, fake.token) as crashed:
        created = await crashed.ensure_task("alert-9", owner, ana, "Call", "body", DUE)
    # The caller died before recording `created`; a new process retries the delivery.
    async with HubSpotClient(fake.url, fake.token) as retried:
        assert await retried.ensure_task("alert-9", owner, ana, "Call", "body", DUE) == created
    assert len(fake.records("tasks")) == 1
    assert len(fake.calls_to("POST", "/crm/v3/objects/tasks/search")) == 2


async def test_a_deal_with_its_contacts(fake: FakeHubSpot, client: HubSpotClient) -> None:
    ana = seed_ana(fake)
    deal = fake.seed(
        "deals",
        {
            "dealstage": "closedwon",
            "amount": "48000.50",
            "closedate": "2026-12-01T00:00:00Z",
            "hs_is_closed_won": "true",
            "hs_is_closed": "true",
            "deal_currency_code": "NOK",
            "pipeline": "default",
        },
    )
    fake.associate("deals", deal, "contacts", ana, 3)
    read = await client.get_deal(deal)
    assert read is not None
    assert (read.stage, read.amount, read.currency) == ("closedwon", Decimal("48000.50"), "NOK")
    assert read.is_closed and read.is_closed_won
    assert read.close_date == datetime(2026, 12, 1, tzinfo=UTC)
    assert read.contact_ids == (ana,)
    assert await client.get_deal("424242") is None


@pytest.mark.parametrize("kind", ["calls", "meetings", "emails", "call"])
async def test_an_engagement_with_its_contacts_owner_and_time(
    fake: FakeHubSpot, client: HubSpotClient, kind: str
) -> None:
    ana = seed_ana(fake)
    plural = kind if kind.endswith("s") else kind + "s"
    logged = fake.seed(
        plural, {"hubspot_owner_id": "77", "hs_timestamp": "2026-11-30T10:05:00.000Z"}
    )
    fake.associate(plural, logged, "contacts", ana, 194)
    read = await client.get_engagement(kind, logged)
    assert read is not None
    assert (read.object_type, read.owner_id, read.contact_ids) == (plural, "77", (ana,))
    assert read.occurred_at == datetime(2026, 11, 30, 10, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="not an engagement"):
        await client.get_engagement("notes", logged)


async def test_owners_are_read_across_pages_with_archived_ones(
    fake: FakeHubSpot, client: HubSpotClient
) -> None:
    fake.owners_page_size = 2
    for name in ("alice", "bo", "cy"):
        fake.add_owner(f"rep-{name}@leadloop.example", name.title(), "Rep")
    gone = fake.add_owner("rep-dan@leadloop.example", "Dan", "Rep", archived=True)
    owners = await client.list_owners()
    assert [o.email for o in owners] == [
        "rep-alice@leadloop.example",
        "rep-bo@leadloop.example",
        "rep-cy@leadloop.example",
        "rep-dan@leadloop.example",
    ]
    assert [o.active for o in owners] == [True, True, True, False]
    assert owners[3].id == gone and owners[0].name == "Alice Rep"
    pages = fake.calls_to("GET", "/crm/v3/owners")
    assert [(r.query.get("archived"), r.query.get("after")) for r in pages] == [
        (["false"], None),
        (["false"], ["2"]),
        (["true"], None),
    ]


async def test_a_429_is_rate_limited_with_its_retry_after(
    fake: FakeHubSpot, client: HubSpotClient
) -> None:
    ana = seed_ana(fake)
    fake.rate_limit_next(retry_after="7")
    with pytest.raises(RateLimited) as raised:
        await client.get_contact(ana)
    assert raised.value.retry_after_s == 7
    assert await client.get_contact(ana) is not None  # the next call goes through


async def test_a_bad_token_is_auth_failed_and_a_5xx_transient(
    fake: FakeHubSpot, client: HubSpotClient
) -> None:
    ana = seed_ana(fake)
    fake.expire_token()
    with pytest.raises(AuthFailed, match="Authentication credentials not found"):
        await client.get_contact(ana)
    assert all(r.authorization == "Bearer pat-na1-test-token" for r in fake.requests)
    async with HubSpotClient(fake.url, fake.token) as fresh:
        fake.fail_next(status=502)
        with pytest.raises(TransientError):
            await fresh.get_contact(ana)
        assert await fresh.get_contact(ana) is not None


async def test_owners_carry_their_teams_primary_first_and_their_type(
    fake: FakeHubSpot, client: HubSpotClient
) -> None:
    fake.add_owner("rep-alice@leadloop.example", "Alice", "Rep", teams=("Nordics", "Inbound"))
    fake.add_owner("rep-bo@leadloop.example", "Bo", "Rep")
    # HubSpot does not promise the primary team comes first in the array.
    fake.owners[0]["teams"].reverse()
    fake.owners[1]["type"] = "QUEUE"
    alice, bo = await client.list_owners()
    assert [(t.name, t.primary) for t in alice.teams] == [("Nordics", True), ("Inbound", False)]
    assert alice.teams[0].id and alice.type == "PERSON"
    assert (bo.teams, bo.type) == ((), "QUEUE")
