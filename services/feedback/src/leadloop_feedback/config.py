"""Feedback settings: the shared ones plus the CRM webhook secret and the Slack app's."""

from __future__ import annotations

from pydantic import Field, field_validator

from leadloop_connectors.salesforce import is_salesforce_id
from leadloop_contract.values import CrmStatus
from leadloop_events.money import CurrencyCode
from leadloop_feedback.domain.money import FxRates
from leadloop_feedback.domain.salesforce_map import DEFAULT_REASON_FIELD
from leadloop_platform.settings import CommonSettings, OptionalSecret, service_database_url


class Settings(CommonSettings):
    """Environment variables of the feedback service."""

    service_name: str = "feedback"
    database_url: str = service_database_url("feedback")
    consumer_group: str = "leadloop-feedback"
    crm_webhook_secret: OptionalSecret = Field(
        default=None, description="whsec_… secret for CRMs that sign with Standard Webhooks"
    )
    slack_signing_secret: OptionalSecret = Field(
        default=None, description="the Slack app's signing secret: Accept/Reject clicks (v0)"
    )
    slack_bot_token: OptionalSecret = Field(
        default=None,
        description="xoxb-… token: a click is recorded as the rep whose email the clicker has",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api",
        description="Slack's Web API; a click's response_url must be on hooks.slack.com or here",
    )
    max_crm_items: int = Field(default=1000, ge=1)
    reporting_currency: CurrencyCode = Field(
        default="EUR", description="the currency reports sum in (ISO 4217)"
    )
    fx_rates: FxRates = Field(
        default_factory=dict,
        description="USD=0.92,JPY=0.0061: units of the reporting currency per unit",
    )
    run_consumer: bool = True
    # Salesforce Outbound Messages (entrypoints/salesforce_http.py).
    salesforce_org_id: str | None = Field(
        default=None, description="the org whose Outbound Messages are accepted (15 or 18 chars)"
    )
    salesforce_status_map: dict[str, CrmStatus | None] = Field(
        default_factory=dict,
        description='Lead Status -> CRM status over the defaults, JSON: {"Nurture": "recycled"}',
    )
    salesforce_reason_field: str = Field(
        default=DEFAULT_REASON_FIELD, description="the Lead field carrying a rejection's reason"
    )
    salesforce_currency: CurrencyCode | None = Field(
        default=None, description="deals without CurrencyIsoCode; default reporting_currency"
    )

    # HubSpot back (entrypoints/hubspot_inbox.py): deals, engagements, contact statuses read
    # from the CRM API; the inbox worker runs only when the token is set.
    hubspot_access_token: OptionalSecret = Field(
        default=None, description="the HubSpot private app token: reads deals and engagements"
    )
    hubspot_api_url: str = Field(default="https://api.hubapi.com", description="HubSpot's API")
    hubspot_status_map: dict[str, CrmStatus | None] = Field(
        default_factory=dict,
        description='hs_lead_status -> CRM status over the defaults, JSON: {"NURTURE": "recycled"}',
    )
    hubspot_inbox_interval_s: float = Field(default=2.0, gt=0)
    hubspot_inbox_batch: int = Field(default=50, ge=1)

    @field_validator("salesforce_org_id", mode="before")
    @classmethod
    def _org_id(cls, value: object) -> object:
        if value == "":
            return None  # an empty variable is not configured
        if isinstance(value, str) and not is_salesforce_id(value):
            raise ValueError(f"{value!r} is not a 15- or 18-character Salesforce org id")
        return value
