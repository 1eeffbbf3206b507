"""Helpers for feedback's integration tests: a key, a CRM secret, events onto topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadloop_events.envelope import EventData, new_event
from leadloop_events.intake import LeadProfile
from leadloop_platform.settings import CommonSettings

from ..messaging.support import produce

KEY = "llk_feedback_tests_key_with_every_scope_0"
CRM_SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtY3JtLWJyaWRnZS0xMjM0NTY="
T0 = datetime.now(UTC) - timedelta(days=3)
PROFILE = LeadProfile(email="ana@acme-dental.com", company="ACME Dental")


async def send(
    settings: CommonSettings, topic: str, *items: EventData, twice: bool = False
) -> None:
    records = []
    for data in items:
        event = new_event(data, subject=data.lead_id)  # type: ignore[attr-defined]
        records += [(event.subject.encode(), event.to_bytes())] * (2 if twice else 1)  # type: ignore[union-attr]
    await produce(settings.kafka_bootstrap_servers, settings.topic(topic), records)
