"""What the Salesforce client sends: Lead fields with the required ones filled, SOQL literals."""

from __future__ import annotations

from leadloop_connectors.salesforce import lead_body, soql_quote, token_signature
from tests.vendors.salesforce import signature


def test_a_lead_without_last_name_takes_the_company_and_keeps_the_rest() -> None:
    body = lead_body({"Company": "ACME-DENTAL", "Email": "ann@acme.example", "Title": None})
    assert body == {
        "Company": "ACME-DENTAL",
        "Email": "ann@acme.example",
        "LastName": "ACME-DENTAL",
    }


def test_a_lead_without_company_gets_the_placeholder_and_the_email_as_last_name() -> None:
    body = lead_body({"Email": "ann@acme.example", "LastName": "  "})
    assert body == {"Email": "ann@acme.example", "LastName": "ann", "Company": "[not provided]"}


def test_given_names_are_never_replaced() -> None:
    fields = {"LastName": "Berg", "FirstName": "Ann", "Company": "ACME-DENTAL"}
    assert lead_body(fields) == fields


def test_soql_literals_escape_quotes_and_backslashes() -> None:
    assert soql_quote("o'brien@acme.example") == "'o\\'brien@acme.example'"
    assert soql_quote("a\\' OR Name != '") == "'a\\\\\\' OR Name != \\''"


def test_the_token_signature_matches_the_fakes_independent_one() -> None:
    identity = "https://acme.my.salesforce.com/id/00D5e000000KQ2eEAG/0055e000001AbCdAAK"
    assert token_signature("s3cret", identity, "1700000000000") == signature(
        "s3cret", identity, "1700000000000"
    )
