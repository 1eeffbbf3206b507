"""Feedback settings: the shared ones plus the CRM webhook secret."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from leadloop_events.money import CurrencyCode
from leadloop_feedback.domain.money import FxRates
from leadloop_platform.settings import CommonSettings, OptionalSecret


class Settings(CommonSettings):
    """Environment variables of the feedback service."""

    model_config = SettingsConfigDict(
        env_prefix="LEADLOOP_", extra="ignore", frozen=True, populate_by_name=True
    )

    service_name: str = "feedback"
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/leadloop",
        validation_alias=AliasChoices(
            "LEADLOOP_FEEDBACK_DATABASE_URL", "LEADLOOP_DATABASE_URL", "DATABASE_URL"
        ),
    )
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
    run_relay: bool = True
    run_consumer: bool = True
