"""Webhook signing (checked by the reference `standardwebhooks` package), the retry schedule,
and the lead alert email's content."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from leadloop_platform.outbound import OutboundPolicy
from leadloop_routing.adapters.mailer import build_alert_email
from leadloop_routing.adapters.webhook_sender import (
    RETRY_SCHEDULE,
    deliver,
    headers,
    new_secret,
    next_attempt_delay,
    sign,
)

BODY = b'{"type":"leadloop.lead.assigned.v1","data":{"lead_id":"lead-ACME-DENTAL"}}'
DEADLINE = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)
POLICY = OutboundPolicy()


def ana_lopez(**profile: Any) -> dict[str, Any]:
    """LeadIntelligence JSON for Ana Lopez of ACME Dental, with profile overrides."""
    return {
        "profile": {
            "email": "ana@acme-dental.example",
            "first_name": "Ana",
            "last_name": "Lopez",
            "company": "ACME Dental",
            "job_title": "Head of Operations",
            "company_size": 240,
            "industry": "healthcare",
            "country": "DE",
            "phone": "+49 30 1234567",
            **profile,
        },
        "fit": 85.0,
        "interest": 42.5,
        "grade": "A",
        "breakdown": [],
        "timeline": [
            {
                "activity_type": "demo_request",
                "occurred_at": "2026-11-22T09:00:00Z",
                "url": "https://acme.example/demo",
            },
            {"activity_type": "pricing_view", "occurred_at": "2026-11-21T16:12:40Z", "url": None},
        ],
        "sources": ["webinar"],
        "campaigns": ["q4-dental-webinar"],
    }


def alert(lead: dict[str, Any], **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "to": "rep-alice@northwind.example",
        "rep_name": "Alice",
        "lead": lead,
        "deadline": DEADLINE,
        "reason": "hand-raise: demo_request",
        "team": "dach",
        **overrides,
    }
    return build_alert_email(**arguments)


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret


def test_the_reference_implementation_accepts_our_signature_and_nothing_else() -> None:
    secret = new_secret()
    signed = headers(secret, "msg_lead-ACME-DENTAL", int(time.time()), BODY)
    assert signed["webhook-id"] == "msg_lead-ACME-DENTAL"
    assert signed["content-type"] == "application/cloudevents+json"
    assert signed["user-agent"] == "leadloop-webhooks/1"
    assert Webhook(secret).verify(BODY, signed)["data"]["lead_id"] == "lead-ACME-DENTAL"
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook(secret).verify(BODY.replace(b"ACME", b"EVIL"), signed)
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook(new_secret()).verify(BODY, signed)
    replayed = {**signed, "webhook-id": "msg_other"}
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook(secret).verify(BODY, replayed)


def test_sign_matches_the_spec_by_hand() -> None:
    # HMAC-SHA256 over "{id}.{timestamp}.{body}", keyed by the base64-decoded secret.
    key = b"k" * 32
    secret = "whsec_" + base64.b64encode(key).decode()
    mac = hmac.new(key, b"msg_1.1700000000." + BODY, hashlib.sha256).digest()
    assert sign(secret, "msg_1", 1_700_000_000, BODY) == "v1," + base64.b64encode(mac).decode()


def test_retries_back_off_for_about_a_day_then_stop() -> None:
    assert next_attempt_delay(0) == timedelta(0)
    assert next_attempt_delay(1) == timedelta(seconds=5)
    assert next_attempt_delay(2) == timedelta(seconds=30)
    assert next_attempt_delay(9) == next_attempt_delay(10) == timedelta(hours=8)
    assert next_attempt_delay(len(RETRY_SCHEDULE) + 1) is None
    assert next_attempt_delay(100) is None
    assert all(a <= b for a, b in pairwise(RETRY_SCHEDULE))
    assert timedelta(hours=20) < sum(RETRY_SCHEDULE, timedelta()) < timedelta(hours=30)
    with pytest.raises(ValueError):
        next_attempt_delay(-1)


async def test_a_network_error_is_a_failed_result_not_an_exception() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out connecting", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        result = await deliver(
            client, "https://crm.example/hooks", new_secret(), "msg_1", BODY, policy=POLICY
        )
    assert not result.ok and result.status_code is None
    assert result.error == "connection failed"  # nothing that tells a closed port from a slow one


async def test_only_2xx_counts_as_delivered() -> None:
    statuses = iter([204, 410])

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses))

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        first, second = [
            await deliver(
                client, "https://crm.example/hooks", new_secret(), msg, BODY, policy=POLICY
            )
            for msg in ("msg_1", "msg_2")
        ]
    assert first.ok and first.status_code == 204 and first.error is None
    assert not second.ok and second.status_code == 410 and second.error == "HTTP 410"


def test_the_alert_says_who_why_what_and_by_when() -> None:
    message = alert(ana_lopez(), dashboard_url="https://leadloop.example/leads/lead-ACME-DENTAL")
    assert message["To"] == "rep-alice@northwind.example"
    assert message["Subject"] == (
        "New SQL: Ana Lopez, ACME Dental (grade A) — first touch by 2026-11-22 14:30 UTC"
    )
    assert message["Message-ID"]
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for text in (plain, html):
        for fact in (
            "Head of Operations",
            "240",
            "DE",
            "ana@acme-dental.example",
            "+49 30 1234567",
            "hand-raise: demo_request",
            "fit 85, interest 42.5, grade A",
            "2026-11-22 09:00 demo_request https://acme.example/demo",
            "2026-11-21 16:12 pricing_view",
            "webinar, q4-dental-webinar",
            "2026-11-22 14:30 UTC",
            "https://leadloop.example/leads/lead-ACME-DENTAL",
        ):
            assert fact in text, fact


def test_the_deadline_is_shown_in_utc_whatever_its_zone() -> None:
    berlin = DEADLINE.astimezone(timezone(timedelta(hours=1)))
    assert alert(ana_lopez(), deadline=berlin)["Subject"].endswith("by 2026-11-22 14:30 UTC")


def test_every_value_is_escaped_in_the_html_part() -> None:
    message = alert(ana_lopez(company="<script>alert(1)</script>"), rep_name="Al & <b>")
    assert "<script>alert(1)</script>" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Al &amp; &lt;b&gt;" in html
    plain = message.get_body(("plain",)).get_content()
    assert "<script>alert(1)</script>" in plain


def test_missing_or_odd_fields_do_not_stop_the_alert() -> None:
    empty = alert({})
    assert empty["Subject"].startswith("New SQL: a new lead, unknown company (grade ?)")
    assert "fit ?, interest ?" in empty.get_body(("plain",)).get_content()
    odd = alert(
        {
            "profile": {"email": "x@y.example", "first_name": "Line\nBreak", "company": None},
            "timeline": [{"occurred_at": None}, "not a dict"],
            "sources": None,
        }
    )
    assert odd["Subject"].startswith("New SQL: Line Break, unknown company")


def test_a_line_break_in_any_field_cannot_start_a_line_of_its_own() -> None:
    injected = "\r\nBcc: attacker@evil.example\r\n"
    message = alert(
        {
            **ana_lopez(
                first_name=f"Ana{injected}",
                company="ACME\nX-Evil: 1",
                job_title="Head\x0bof\x1cOps\u2028Bcc: a@evil.example",
            ),
            "grade": f"A{injected}",
            "sources": [f"webinar{injected}"],
            "timeline": [{"activity_type": f"demo{injected}", "occurred_at": "2026-11-22T09:00"}],
        },
        rep_name=f"Alice{injected}",
        reason=f"hand-raise{injected}",
        team=f"dach{injected}",
        dashboard_url=f"https://leadloop.example/x{injected}",
    )
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    plain = message.get_body(("plain",)).get_content()
    lines = plain.splitlines()
    assert not [line for line in lines if line.lstrip().startswith(("Bcc:", "X-Evil:"))], plain
    assert "Name: Ana  Bcc: attacker@evil.example   Lopez" in lines
    assert "Title: Head of Ops Bcc: a@evil.example" in lines
    raw = message.as_bytes()
    assert b"\nBcc:" not in raw and b"\rBcc:" not in raw
