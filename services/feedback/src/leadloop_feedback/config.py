"""Feedback settings: the shared ones plus the CRM webhook secret."""

from __future__ import annotations

from pydantic import Field

from leadloop_events.money import CurrencyCode
from leadloop_feedback.domain.money import FxRates
from leadloop_platform.settings import CommonSettings, OptionalSecret, service_database_url


class Settings(CommonSettings):
    """Environment variables of the feedback service."""

    service_name: str = "feedback"
    database_url: str = service_database_url("feedback")
    consumer_group: str = "leadloop-feedback"
    crm_webhook_secret: OptionalSecret = Field(
        default=None, description="whsec_… secret for CRMs that sign with Standard Webhooks"
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
