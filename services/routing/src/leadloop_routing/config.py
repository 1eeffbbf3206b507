"""Routing settings: the shared ones plus SMTP, webhooks, the CRM and Slack connectors and the
SLA worker."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator

from leadloop_platform.outbound import AllowList, OutboundPolicy
from leadloop_platform.settings import CommonSettings, OptionalSecret, service_database_url


class Settings(CommonSettings):
    """Environment variables of the routing service."""

    service_name: str = "routing"
    database_url: str = service_database_url("routing")
    consumer_group: str = "leadloop-routing"
    sla_interval_s: float = Field(default=5.0, gt=0)
    delivery_interval_s: float = Field(default=2.0, gt=0)
    worker_batch: int = Field(default=100, ge=1)
    webhook_timeout_s: float = Field(default=10.0, gt=0, description="total, per attempt")
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=0)
    webhook_concurrency: int = Field(default=16, ge=1, le=256)
    # Comma-separated host names, addresses or CIDRs that may be private (development, tests).
    webhook_allowed_hosts: str = ""
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_tls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "leadloop <leads@leadloop.invalid>"
    dashboard_url: str | None = None
    # The connectors: each is enabled when its credentials are set (see enabled_connectors).
    hubspot_access_token: OptionalSecret = None
    hubspot_api_url: str = "https://api.hubapi.com"
    salesforce_instance_url: str | None = None
    salesforce_client_id: str | None = None
    salesforce_client_secret: OptionalSecret = None
    salesforce_org_id: str | None = None
    # What the CRM connectors write on a lead alert (README "Integrations"): HubSpot's contact
    # lead status and lifecycle stage (internal values), Salesforce's Lead Status.
    hubspot_lead_status: str = Field(default="NEW", min_length=1, max_length=100)
    hubspot_lifecycle_stage: str = Field(default="salesqualifiedlead", min_length=1, max_length=100)
    salesforce_lead_status: str = Field(
        default="Open - Not Contacted", min_length=1, max_length=100
    )
    slack_bot_token: OptionalSecret = None
    slack_api_url: str = "https://slack.com/api"
    connector_interval_s: float = Field(default=2.0, gt=0)
    connector_concurrency: int = Field(default=8, ge=1, le=64)
    connector_timeout_s: float = Field(
        default=60.0, gt=0, description="a whole perform (every call of one job), per attempt"
    )
    # The owner sync (README "Reps from the CRM"): every configured CRM's owners become reps.
    reps_sync_interval_s: float = Field(default=900.0, ge=0, description="0 turns it off")
    reps_team_map: dict[
        Annotated[str, Field(min_length=1, max_length=200)],
        Annotated[str, Field(min_length=1, max_length=100)],
    ] = Field(default_factory=dict, description="JSON object: CRM team name -> leadloop team")
    reps_default_team: str | None = Field(default=None, min_length=1, max_length=100)
    run_consumer: bool = True
    run_workers: bool = True

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, value: str) -> str:
        AllowList.parse(value)  # a bad entry stops the start with its name
        return value

    def enabled_connectors(self) -> tuple[str, ...]:
        """The connectors whose credentials are set, in a fixed order."""
        salesforce = (
            self.salesforce_instance_url
            and self.salesforce_client_id
            and self.salesforce_client_secret
        )
        enabled = {
            "hubspot": self.hubspot_access_token is not None,
            "salesforce": bool(salesforce),
            "slack": self.slack_bot_token is not None,
        }
        return tuple(name for name, on in enabled.items() if on)

    def crms(self) -> tuple[str, ...]:
        """The CRMs whose credentials are set: those the owner sync reads."""
        return tuple(c for c in self.enabled_connectors() if c in ("hubspot", "salesforce"))

    def outbound_policy(self) -> OutboundPolicy:
        """The guard of every webhook call: allowed targets, deadline, body cap."""
        return OutboundPolicy(
            allowed=AllowList.parse(self.webhook_allowed_hosts),
            timeout_s=self.webhook_timeout_s,
            max_response_bytes=self.webhook_max_response_bytes,
        )
