"""Slack: the lead alert and SLA warnings as Block Kit messages, and the Accept/Reject clicks.

Which client, and why: slack_sdk's `AsyncWebClient` runs on aiohttp, which leadloop does not
install, and it would open its own connections around the outbound guard
(`leadloop_platform.outbound`). The four Web API methods used here are plain HTTPS calls
(https://docs.slack.dev/apis/web-api/), so `client.SlackClient` makes them with httpx through
`leadloop_connectors.http.ApiClient` (guarded, typed errors, Retry-After). slack_sdk is still
used where it carries Slack's own rules: `SignatureVerifier` checks request signatures (v0)
and the Block Kit models (`slack_sdk.models.blocks`) build and validate every message.
"""

from leadloop_connectors.slack.blocks import (
    ACCEPT_ACTION,
    REJECT_ACTION,
    LeadCard,
    SlackMessage,
    SlaWarning,
    escape,
    lead_alert_blocks,
    sla_warning_blocks,
)
from leadloop_connectors.slack.client import (
    ALERT_EVENT_TYPE,
    SlackApiError,
    SlackClient,
)
from leadloop_connectors.slack.interactivity import (
    SignatureRefused,
    SlackClick,
    parse_action,
    verify_request,
)

__all__ = [
    "ACCEPT_ACTION",
    "ALERT_EVENT_TYPE",
    "REJECT_ACTION",
    "LeadCard",
    "SignatureRefused",
    "SlaWarning",
    "SlackApiError",
    "SlackClick",
    "SlackClient",
    "SlackMessage",
    "escape",
    "lead_alert_blocks",
    "parse_action",
    "sla_warning_blocks",
    "verify_request",
]
