"""A HubSpot contact mapped onto a form submission, keeping the data: countries, industries,
employee bands, source and campaign, the contact id."""

from __future__ import annotations

from typing import Any

import pytest

from leadloop_contract.agreement import EXAMPLE_FILE, load_agreement
from leadloop_intake.config import Settings
from leadloop_intake.domain.countries import country_code
from leadloop_intake.domain.hubspot_contact import employees, to_form_submission
from leadloop_intake.domain.industries import DEFAULT_MAP, industry_of
from leadloop_intake.domain.model import FormSubmission

EXAMPLE = load_agreement(EXAMPLE_FILE.read_text())
AGREEMENT_INDUSTRIES = {
    str(v) for rule in EXAMPLE.fit.rules if rule.field == "industry" for v in rule.value
}


def contact(**props: Any) -> dict[str, Any]:
    """A workflow webhook's body: `{"vid": ..., "properties": {name: {"value": ...}}}`."""
    return {
        "vid": 5101,
        "properties": {"email": {"value": "ingrid@fjord-freight.no"}}
        | {k: {"value": v} for k, v in props.items()},
    }


def submission(payload: dict[str, Any], **industries: str) -> FormSubmission:
    return FormSubmission.model_validate(to_form_submission(payload, industries))


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Norway", "NO"),
        ("norway", "NO"),
        ("NO", "NO"),
        ("no", "NO"),
        ("NOR", "NO"),
        ("United States", "US"),
        ("USA", "US"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("  germany ", "DE"),
        ("Deutschland", "DE"),
        ("Russia", "RU"),
    ],
)
def test_country_names_and_codes_become_alpha_2(typed: str, code: str) -> None:
    assert country_code(typed) == code
    assert submission(contact(country=typed)).country == code


def test_an_unknown_country_name_is_kept_in_fields() -> None:
    sub = submission(contact(country="Atlantis"))
    assert sub.country is None and sub.fields["country_name"] == "Atlantis"


@pytest.mark.parametrize(
    ("sent", "industry"),
    [
        ("LOGISTICS_AND_SUPPLY_CHAIN", "Logistics"),
        ("COMPUTER_SOFTWARE", "Software"),
        ("INFORMATION_TECHNOLOGY_AND_SERVICES", "Software"),
        ("HOSPITAL_HEALTH_CARE", "Healthcare"),
        ("Hospital & Health Care", "Healthcare"),
        ("MACHINERY", "Manufacturing"),
        ("BANKING", "Financial Services"),
    ],
)
def test_hubspot_industries_become_the_agreements(sent: str, industry: str) -> None:
    sub = submission(contact(industry=sent))
    assert sub.industry == industry
    assert sub.fields["hubspot_industry"] == sent


def test_every_default_mapping_names_an_industry_of_the_example_agreement() -> None:
    assert set(DEFAULT_MAP.values()) == AGREEMENT_INDUSTRIES


def test_an_unmapped_hubspot_industry_becomes_its_label_and_free_text_stays() -> None:
    assert industry_of("AIRLINES_AVIATION") == "Airlines Aviation"
    assert industry_of("Dentistry") == "Dentistry"
    assert submission(contact(industry="Healthcare")).fields == {}


def test_the_industry_map_is_extended_by_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADLOOP_HUBSPOT_INDUSTRY_MAP", '{"dentistry": "Healthcare"}')
    extra = Settings(database_url="postgresql://nobody@127.0.0.1:1/none").hubspot_industry_map
    assert submission(contact(industry="DENTISTRY"), **extra).industry == "Healthcare"
    assert submission(contact(industry="BANKING"), BANKING="Fintech").industry == "Fintech"


@pytest.mark.parametrize(
    ("band", "size"),
    [
        ("1-5", 1),
        ("5-25", 5),
        ("25-50", 25),
        ("50-100", 50),
        ("100-500", 100),
        ("500-1000", 500),
        ("1000+", 1000),
        ("1,000-5,000", 1000),
        ("10k+", 10_000),
        ("under 10", 1),
        ("250", 250),
        (250, 250),
    ],
)
def test_employee_bands_become_company_size(band: Any, size: int) -> None:
    assert employees(band) == size
    assert submission(contact(numemployees=band)).company_size == size


def test_an_unreadable_band_is_kept_and_the_contact_accepted() -> None:
    sub = submission(contact(numemployees="a few"))
    assert sub.company_size is None and sub.fields["employee_band"] == "a few"


def test_utm_campaign_is_the_leads_campaign_and_stays_in_utm() -> None:
    sub = submission(contact(utm_campaign="nordics-q4", utm_source="LinkedIn Ads"))
    assert sub.campaign == "nordics-q4"
    assert sub.utm is not None and sub.utm.campaign == "nordics-q4"
    assert sub.source == "linkedin_ads"


def test_hubspots_original_source_wins_over_utm_source() -> None:
    sub = submission(contact(hs_analytics_source="PAID_SOCIAL", utm_source="linkedin"))
    assert sub.source == "paid_social"


def test_the_drill_down_is_a_campaign_only_for_email_and_other_campaigns() -> None:
    email = submission(
        contact(hs_analytics_source="EMAIL_MARKETING", hs_analytics_source_data_1="Nov newsletter")
    )
    assert email.campaign == "Nov newsletter"
    organic = submission(
        contact(hs_analytics_source="ORGANIC_SEARCH", hs_analytics_source_data_1="google")
    )
    assert organic.campaign is None and organic.fields["hs_analytics_source_data_1"] == "google"
    both = submission(
        contact(
            hs_analytics_source="OTHER_CAMPAIGNS",
            hs_analytics_source_data_1="drill-down",
            utm_campaign="utm-wins",
        )
    )
    assert both.campaign == "utm-wins"


@pytest.mark.parametrize(
    "payload",
    [
        {"vid": 5101, "properties": {"email": {"value": "a@fjord-freight.no"}}},
        {"properties": {"email": "a@fjord-freight.no", "hs_object_id": "5101"}},
        {"email": "a@fjord-freight.no", "objectId": 5101},
        {"canonical-vid": 5101, "vid": 99, "properties": {"email": "a@fjord-freight.no"}},
    ],
    ids=["vid", "hs_object_id", "objectId", "canonical-vid first"],
)
def test_the_contact_id_is_the_hubspot_external_id(payload: dict[str, Any]) -> None:
    sub = submission(payload)
    assert sub.external_ids == {"hubspot": "5101"}
    assert not {"vid", "hs_object_id", "objectId", "canonical-vid"} & set(sub.fields)


def test_a_form_fill_may_pass_external_ids() -> None:
    sub = FormSubmission.model_validate(
        {"email": "a@fjord-freight.no", "external_ids": {"salesforce": "00Q5e00000AbCdEAAZ"}}
    )
    assert sub.external_ids == {"salesforce": "00Q5e00000AbCdEAAZ"}
