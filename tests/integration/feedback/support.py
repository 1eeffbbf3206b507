"""Helpers for feedback's integration tests: a key, a CRM secret, events onto topics, and the
lead set-up the tests share (a lead captured, made an SQL, handed to a rep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from leadloop_events import topics
from leadloop_events.envelope import EventData, new_event
from leadloop_events.handoff import LeadAssigned
from leadloop_events.intake import LeadCaptured, LeadProfile
from leadloop_events.lifecycle import LeadIntelligence, LeadStageChanged
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from ..messaging.support import produce

KEY = "llk_feedback_tests_key_with_every_scope_0"
CRM_SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtY3JtLWJyaWRnZS0xMjM0NTY="
T0 = datetime.now(UTC) - timedelta(days=3)
PROFILE = LeadProfile(email="ana@acme-dental.com", company="ACME Dental")
INTEL = LeadIntelligence(profile=PROFILE, fit=80, interest=40, grade="A")


async def send(
    settings: CommonSettings, topic: str, *items: EventData, twice: bool = False
) -> None:
    records = []
    for data in items:
        event = new_event(data, subject=data.lead_id)  # type: ignore[attr-defined]
        records += [(event.subject.encode(), event.to_bytes())] * (2 if twice else 1)  # type: ignore[union-attr]
    await produce(settings.kafka_bootstrap_servers, settings.topic(topic), records)


def captured(lead_id: str, submission_id: str = "s1", **fields: Any) -> LeadCaptured:
    """`lead_id`'s first form fill, from a webinar at T0 (`fields` change or add the rest)."""
    first = {
        "lead_id": lead_id,
        "submission_id": submission_id,
        "is_new_lead": True,
        "channel": "form",
        "profile": PROFILE,
        "source": "webinar",
        "submitted_at": T0,
    }
    return LeadCaptured(**first | fields)


def stage(lead_id: str, to: str, days: float, frm: str = "lead") -> LeadStageChanged:
    return LeadStageChanged(
        lead_id=lead_id,
        from_stage=frm,
        to_stage=to,
        reason="test",
        agreement_version="2026-11",
        changed_at=T0 + timedelta(days=days),
        intelligence=INTEL if to == "sql" else None,
    )


def handed(lead_id: str, rep_id: str, **fields: Any) -> LeadAssigned:
    """The hand-off of `lead_id` to `rep_id`, a day after T0 (`fields` change or add the rest)."""
    hand_off = {
        "lead_id": lead_id,
        "assignment_id": f"a-{lead_id}",
        "owner_rep_id": rep_id,
        "team": "dach",
        "business": "new",
        "sla_deadline": T0 + timedelta(days=1, minutes=30),
        "agreement_version": "2026-11",
        "intelligence": INTEL,
        "assigned_at": T0 + timedelta(days=1),
    }
    return LeadAssigned(**hand_off | fields)


async def an_sql(
    feedback: httpx.AsyncClient,
    settings: CommonSettings,
    lead_id: str,
    *,
    external_ids: dict[str, str] | None = None,
    owner_crm_ids: dict[str, str] | None = None,
) -> None:
    """`lead_id` captured from the q4-webinar campaign, an SQL an hour later, handed to rep-alice
    (with the lead's and the rep's CRM ids when given); waits until feedback counts the SQL."""
    first = captured(lead_id, campaign="q4-webinar", external_ids=external_ids or {})
    await send(settings, topics.INTAKE, first)
    await send(settings, topics.LIFECYCLE, stage(lead_id, "sql", 1 / 24))  # an hour after T0
    alice = handed(lead_id, "rep-alice", assignment_id="a1", owner_crm_ids=owner_crm_ids or {})
    await send(settings, topics.HANDOFF, alice)

    async def is_sql() -> bool:
        funnel = (await feedback.get("/v1/reports/funnel")).json()
        return bool(funnel["groups"]) and funnel["groups"][0]["counts"]["sql"] == 1

    await wait_for(is_sql, timeout_s=30, what="feedback to know the SQL")
