"""Signed webhooks: intake's HubSpot v3 and feedback's Standard Webhooks CRM calls. Missing,
forged, stale, future and malformed signatures are refused with 401 and leave nothing behind;
a replayed call (HubSpot's identical retry, the CRM's same webhook id) is answered with the first
answer and has no second effect: retries must be harmless, and the sender must not see a failure
for a call that did succeed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from leadloop_events import topics
from leadloop_events.handoff import LeadAssigned
from leadloop_events.intake import LeadCaptured
from leadloop_events.lifecycle import LeadIntelligence
from leadloop_feedback.adapters import tables as feedback_tables
from leadloop_intake.adapters import tables as intake_tables
from leadloop_platform.settings import CommonSettings
from leadloop_platform.webhooks import sign

from ...waiting import wait_for
from ..feedback.support import PROFILE, T0, send
from .conftest import AUTH, CRM_SECRET, HUBSPOT_SECRET, assert_problem, build_app, running

SIX_MINUTES_S = 6 * 60
OTHER_CRM_SECRET = "whsec_" + base64.b64encode(b"a-secret-that-is-not-the-crm-one").decode()


async def count(engine: AsyncEngine, *tables: sa.Table) -> list[int]:
    async with engine.connect() as conn:
        return [
            int(await conn.scalar(sa.select(sa.func.count()).select_from(t)) or 0) for t in tables
        ]


def hubspot_headers(
    body: bytes, url: str, ts_ms: int | str, secret: str = HUBSPOT_SECRET
) -> dict[str, str]:
    """What HubSpot sends: base64 HMAC-SHA256 over method, URL, body and timestamp (ms)."""
    message = b"POST" + url.encode() + body + str(ts_ms).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": str(ts_ms),
        "content-type": "application/json",
    }


HUBSPOT_URL = "http://intake/v1/webhooks/hubspot"
CONTACT = json.dumps(
    {"properties": {"email": {"value": "ana@acme-dental.com"}, "firstname": {"value": "Ana"}}}
).encode()


async def test_hubspot_refuses_bad_signatures_and_keeps_nothing(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    app = build_app("intake", settings, run_relay=False)  # outbox rows stay where we count them
    now = int(time.time() * 1000)
    other = CONTACT.replace(b"Ana", b"Eve")
    signed = hubspot_headers(CONTACT, HUBSPOT_URL, now)
    refused = {
        "no signature": {"content-type": "application/json"},
        "signature without timestamp": {k: v for k, v in signed.items() if "Timestamp" not in k},
        "a Bearer key instead": {**AUTH, "content-type": "application/json"},
        "forged: another secret": hubspot_headers(CONTACT, HUBSPOT_URL, now, "not-the-secret"),
        "signed over another body": hubspot_headers(other, HUBSPOT_URL, now),
        "signed for another URL": hubspot_headers(CONTACT, HUBSPOT_URL + "?list=7", now),
        "stale: six minutes old": hubspot_headers(CONTACT, HUBSPOT_URL, now - SIX_MINUTES_S * 1000),
        "six minutes ahead": hubspot_headers(CONTACT, HUBSPOT_URL, now + SIX_MINUTES_S * 1000),
        "timestamp not a number": hubspot_headers(CONTACT, HUBSPOT_URL, "yesterday"),
    }
    async with running(app, "http://intake") as http:
        for case, headers in refused.items():
            r = await http.post(HUBSPOT_URL, content=CONTACT, headers=headers)
            assert r.status_code == 401, (case, r.text)
            assert_problem(r, 401)
    t = intake_tables
    assert await count(engine, t.leads, t.submissions, t.outbox, t.idempotency_keys) == [0] * 4


async def test_hubspot_replay_is_answered_once_with_one_effect(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    app = build_app("intake", settings, run_relay=False)
    async with running(app, "http://intake") as http:
        now = int(time.time() * 1000)
        first = await http.post(
            HUBSPOT_URL, content=CONTACT, headers=hubspot_headers(CONTACT, HUBSPOT_URL, now)
        )
        assert first.status_code == 202, first.text
        # The very same request again (a replay), then HubSpot's retry: same body, new signature.
        replayed = await http.post(
            HUBSPOT_URL, content=CONTACT, headers=hubspot_headers(CONTACT, HUBSPOT_URL, now)
        )
        retried = await http.post(
            HUBSPOT_URL, content=CONTACT, headers=hubspot_headers(CONTACT, HUBSPOT_URL, now + 1)
        )
    for again in (replayed, retried):
        assert again.status_code == 202
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
    t = intake_tables
    assert await count(engine, t.leads, t.submissions, t.outbox) == [1, 1, 1]


def crm_headers(
    body: bytes, msg_id: str, ts: int | str, secret: str = CRM_SECRET
) -> dict[str, str]:
    """What a Standard Webhooks sender sends."""
    signature = sign(secret, msg_id, int(ts), body) if str(ts).isdigit() else "v1,AAAA"
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def touch(crm_event_id: str) -> bytes:
    return json.dumps(
        {
            "crm_event_id": crm_event_id,
            "lead_id": "lead-ACME-DENTAL",
            "rep_id": "rep-alice",
            "channel": "call",
            "outcome": "connected",
            "touched_at": T0.isoformat(),
        }
    ).encode()


def handed_to_alice() -> LeadAssigned:
    """ACME Dental's hand-off to rep-alice, as routing publishes it."""
    return LeadAssigned(
        lead_id="lead-ACME-DENTAL",
        assignment_id="a-acme",
        owner_rep_id="rep-alice",
        team="dach",
        business="new",
        sla_deadline=T0,
        agreement_version="2026-11",
        intelligence=LeadIntelligence(profile=PROFILE, fit=80, interest=40, grade="A"),
        assigned_at=T0,
    )


async def test_crm_webhooks_refuse_bad_signatures_and_answer_a_replay_once(
    settings: CommonSettings, engine: AsyncEngine
) -> None:
    app = build_app("feedback", settings, run_relay=False)
    t = feedback_tables
    captured = LeadCaptured(
        lead_id="lead-ACME-DENTAL",
        submission_id="sub-1",
        is_new_lead=True,
        channel="form",
        profile=PROFILE,
        source="webinar",
        submitted_at=T0,
    )
    async with running(app, "http://feedback") as http:
        await send(settings, topics.INTAKE, captured)
        # a touch follows a hand-off (#12 item 15): rep-alice is handed the lead
        await send(settings, topics.HANDOFF, handed_to_alice())

        async def lead_known() -> bool:
            return (await count(engine, t.leads, t.assignments)) == [1, 1]

        await wait_for(lead_known, what="feedback to learn the lead and its hand-off")
        now = int(time.time())
        # Each refused call carries a crm_event_id of its own, so accepting it would show.
        body = touch("t-refused")
        no_id = {k: v for k, v in crm_headers(body, "msg-2", now).items() if k != "webhook-id"}
        refused = {
            "no signature and no key": {"content-type": "application/json"},
            "signature without webhook-id": no_id,
            "forged: another secret": crm_headers(body, "msg-2", now, OTHER_CRM_SECRET),
            "signed over another body": crm_headers(touch("t-other"), "msg-2", now),
            "signed under another id": {
                **crm_headers(body, "msg-3", now),
                "webhook-id": "msg-2",
            },
            "stale: six minutes old": crm_headers(body, "msg-2", now - SIX_MINUTES_S),
            "six minutes ahead": crm_headers(body, "msg-2", now + SIX_MINUTES_S),
            "timestamp not a number": crm_headers(body, "msg-2", "yesterday"),
            # A wrong signature is not rescued by a valid key sent alongside.
            "forged, with a key": {**crm_headers(body, "msg-2", now, OTHER_CRM_SECRET), **AUTH},
        }
        for case, headers in refused.items():
            r = await http.post("/v1/crm/touches", content=body, headers=headers)
            assert r.status_code == 401, (case, r.text)
            assert_problem(r, 401)
        assert await count(engine, t.crm_requests, t.outbox) == [0, 0]

        signed = touch("t-1")
        headers = crm_headers(signed, "msg-1", now)
        first = await http.post("/v1/crm/touches", content=signed, headers=headers)
        assert first.status_code == 202, first.text
        replay = await http.post("/v1/crm/touches", content=signed, headers=headers)
    # The replay (same webhook id, same signed body) is answered with the first event id.
    assert replay.status_code == 200, replay.text
    [accepted] = replay.json()["accepted"]
    assert accepted["duplicate"] is True
    assert accepted["event_id"] == first.json()["accepted"][0]["event_id"]
    assert await count(engine, t.crm_requests, t.outbox) == [1, 1]
