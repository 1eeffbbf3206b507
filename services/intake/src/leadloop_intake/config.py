"""Intake settings: the shared ones plus HubSpot and import limits."""

from __future__ import annotations

from pydantic import Field

from leadloop_platform.settings import CommonSettings, OptionalSecret, service_database_url


class Settings(CommonSettings):
    """Environment variables of the intake service."""

    service_name: str = "intake"
    database_url: str = service_database_url("intake")
    hubspot_client_secret: OptionalSecret = None
    hubspot_max_age_s: int = Field(default=300, ge=1)
    # The private app token intake reads contacts with when the Webhooks API tells it of one
    # (POST /v1/integrations/hubspot/events); unset: those events are refused with a 503.
    hubspot_access_token: OptionalSecret = None
    hubspot_api_url: str = "https://api.hubapi.com"
    # HubSpot industry value -> the agreement's industry, over leadloop_intake.domain.industries'
    # defaults: a JSON object, e.g. {"DENTISTRY": "Healthcare"}.
    hubspot_industry_map: dict[str, str] = Field(default_factory=dict)
    public_base_url: str | None = None
    max_import_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    import_batch_rows: int = Field(default=1000, ge=1, le=10_000)
    # A running import with no batch written for this long lost its writer (a process killed,
    # on any replica): its status says failed, with the line it reached. A batch takes ~1 s.
    import_stale_after_s: float = Field(default=60.0, gt=0)
    max_activities_per_batch: int = 1000
    # A batch of 1,000 activities outgrows the default body limit; each becomes its own bounded
    # event, so the batch's size never reaches the broker.
    max_activities_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    idempotency_ttl_hours: int = Field(default=72, ge=1, le=24 * 365)
    # Group commit of form fills, HubSpot webhook calls and activities: concurrent requests
    # share one transaction, at most this many in one; 1 = each request alone, as before.
    commit_group_max: int = Field(default=64, ge=1, le=1000)
    # Groups committing at once (each holds one of the pool's connections while it runs).
    commit_group_concurrency: int = Field(default=4, ge=1, le=10)
