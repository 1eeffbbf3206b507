"""SalesforceClient against the fake org: token flow and refresh, Lead and Task upserts (one
Task per alert), owner changes, SOQL paging, users, limits and errors as typed errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from leadloop_connectors.http import (
    AuthFailed,
    PermanentError,
    RateLimited,
    TransientError,
)
from leadloop_connectors.salesforce import (
    DEFAULT_API_VERSION,
    LEAD_EXTERNAL_FIELD,
    LIMIT_BACKOFF_S,
    TASK_EXTERNAL_FIELD,
    SalesforceClient,
    SalesforceUser,
)
from tests.vendors.salesforce import FakeSalesforce, serve_salesforce

LEAD = "lead-acme-dental"
ANN = {"FirstName": "Ann", "LastName": "Berg", "Company": "ACME-DENTAL", "Email": "ann@acme.no"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSalesforce]:
    org, stop = await serve_salesforce()
    try:
        yield org
    finally:
        await stop()


def client_of(fake: FakeSalesforce, api_version: str = DEFAULT_API_VERSION) -> SalesforceClient:
    return SalesforceClient(
        fake.base_url, fake.client_id, fake.client_secret, api_version=api_version
    )


@pytest.fixture
async def client(fake: FakeSalesforce) -> AsyncIterator[SalesforceClient]:
    async with client_of(fake) as salesforce:
        yield salesforce


async def test_one_token_serves_every_call_until_it_expires(
    fake: FakeSalesforce, client: SalesforceClient
) -> None:
    await client.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, ANN)
    await client.list_users()
    assert fake.token_requests == 1
    fake.expire_tokens()
    lead_id, created = await client.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, {"Title": "CTO"})
    assert (fake.token_requests, created) == (2, False)
    assert fake.records["Lead"][lead_id]["Title"] == "CTO"
    assert [r.path.rsplit("/", 1)[-1] for r in fake.api_calls("PATCH")] == [LEAD, LEAD, LEAD]


async def test_wrong_credentials_are_auth_failed(fake: FakeSalesforce) -> None:
    async with SalesforceClient(fake.base_url, fake.client_id, "not-the-secret") as wrong:
        with pytest.raises(AuthFailed, match="invalid_client"):
            await wrong.list_users()
    assert fake.api_calls("GET") == []


async def test_a_token_answer_not_signed_with_the_secret_is_refused(
    fake: FakeSalesforce, client: SalesforceClient
) -> None:
    fake.signing_secret = "someone-else"
    with pytest.raises(AuthFailed, match="signature"):
        await client.list_users()
    assert fake.api_calls("GET") == []


async def test_a_lead_is_created_then_updated_by_its_leadloop_id(
    fake: FakeSalesforce, client: SalesforceClient
) -> None:
    lead_id, created = await client.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, ANN)
    again, created_again = await client.upsert_lead(
        LEAD_EXTERNAL_FIELD, LEAD, {**ANN, "Status": "Working - Contacted"}
    )
    assert (created, created_again, again) == (True, False, lead_id)
    [stored] = fake.find("Lead", Leadloop_Id__c=LEAD)
    assert (stored["Id"], stored["Status"], stored["Email"]) == (
        lead_id,
        "Working - Contacted",
        "ann@acme.no",
    )


async def test_before_api_46_an_update_answers_204_and_the_id_is_read(
    fake: FakeSalesforce,
) -> None:
    async with client_of(fake, api_version="v45.0") as old:
        lead_id, _ = await old.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, ANN)
        again, created = await old.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, {"Title": "CEO"})
    assert (again, created) == (lead_id, False)
    assert len(fake.api_calls("GET", f"/{LEAD}")) == 1


async def test_a_lead_without_last_name_or_company_is_still_accepted(
    fake: FakeSalesforce, client: SalesforceClient
) -> None:
    lead_id, _ = await client.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, {"Email": "bo@acme.no"})
    stored = fake.records["Lead"][lead_id]
    assert (stored["LastName"], stored["Company"]) == ("bo", "[not provided]")


async def test_one_task_per_alert_however_often_it_is_sent(
    fake: FakeSalesforce, client: SalesforceClient
) -> None:
    lead_id, _ = await client.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, ANN)
    rep = fake.add_user("Alice Rep", "alice@example.com")
    task = {
        "WhoId": lead_id,
        "OwnerId": rep,
        "Subject": "Call ACME-DENTAL: hand-raise",
        "Description": "Asked for a demo",
        "ActivityDate": "2026-11-30",
        "Status": "Not Started",
        "Priority": "High",
    }
    first = await client.upsert_task(TASK_EXTERNAL_FIELD, "alert-1", task)
    retried = await client.upsert_task(TASK_EXTERNAL_FIELD, "alert-1", task)
    other = await client.upsert_task(TASK_EXTERNAL_FIELD, "alert-2", task)
    assert first == retried != other
    assert len(fake.find("Task", Leadloop_Alert_Id__c="alert-1")) == 1
    assert len(fake.records["Task"]) == 2
    assert fake.records["Task"][first]["OwnerId"] == rep


async def test_the_owner_is_changed_and_an_unknown_lead_is_permanent(
    fake: FakeSalesforce, client: SalesforceClient
) -> None:
    lead_id, _ = await client.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, ANN)
    rep = fake.add_user("Alice Rep", "alice@example.com")
    await client.set_owner(lead_id, rep)
    assert fake.records["Lead"][lead_id]["OwnerId"] == rep
    with pytest.raises(PermanentError) as raised:
        await client.set_owner("00Q5e0000099999AAA", rep)
    assert raised.value.status == 404


async def test_users_are_read_across_pages(fake: FakeSalesforce, client: SalesforceClient) -> None:
    fake.page_size = 2
    alice = fake.add_user("Alice Rep", "alice@example.com")
    fake.add_user("Bob Rep", "bob@example.com")
    carl = fake.add_user("Carl Gone", "carl@example.com", active=False)
    fake.records["User"]["0055e0000000009AAA"] = {
        "Id": "0055e0000000009AAA",
        "Name": "Portal",
        "Email": "p@example.com",
        "IsActive": True,
        "UserType": "PowerPartner",
    }
    users = await client.list_users()
    assert [u.name for u in users] == ["Alice Rep", "Bob Rep", "Carl Gone"]
    assert users[0] == SalesforceUser(alice, "Alice Rep", "alice@example.com", True)
    assert [u.active for u in users if u.id == carl] == [False]
    assert len(fake.api_calls("GET", "/query")) == 2  # the first batch, then nextRecordsUrl


async def test_a_lead_is_found_by_email_with_quotes_escaped(
    fake: FakeSalesforce, client: SalesforceClient
) -> None:
    lead_id, _ = await client.upsert_lead(
        LEAD_EXTERNAL_FIELD, LEAD, {**ANN, "Email": "o'brien@acme.no"}
    )
    assert await client.find_lead_by_email("o'brien@acme.no") == lead_id
    assert await client.find_lead_by_email("nobody@acme.no") is None


async def test_the_limit_exceeded_403_is_rate_limited(
    fake: FakeSalesforce, client: SalesforceClient
) -> None:
    await client.list_users()
    fake.limit_exceeded(times=1)
    with pytest.raises(RateLimited) as raised:
        await client.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, ANN)
    assert raised.value.retry_after_s == LIMIT_BACKOFF_S
    assert fake.find("Lead") == []
    # The limit is classified as such: no token refresh is spent on it (only a 401 gets one).
    assert fake.token_requests == 1


async def test_a_429_carries_its_retry_after_and_a_503_is_transient(
    fake: FakeSalesforce, client: SalesforceClient
) -> None:
    fake.rate_limit(retry_after_s=17)
    with pytest.raises(RateLimited) as raised:
        await client.list_users()
    assert raised.value.retry_after_s == 17
    fake.server_error()
    with pytest.raises(TransientError):
        await client.list_users()
    assert await client.list_users() == []


async def test_a_refused_field_is_a_permanent_error(client: SalesforceClient) -> None:
    with pytest.raises(PermanentError, match="INVALID_FIELD") as raised:
        await client.upsert_lead(LEAD_EXTERNAL_FIELD, LEAD, {**ANN, "Shoe_Size__c": 44})
    assert raised.value.status == 400
    with pytest.raises(PermanentError, match="external ID field does not exist"):
        await client.upsert_lead("Email", "ann@acme.no", ANN)
