"""Standard Webhooks signatures (checked by the reference package) and the alert email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from standardwebhooks import Webhook

from leadloop_routing.adapters.mailer import build_alert_email
from leadloop_routing.adapters.webhook_sender import (
    RETRY_SCHEDULE,
    headers,
    new_secret,
    next_attempt_delay,
)

BODY = b'{"type": "leadloop.lead.assigned.v1", "data": {"lead_id": "lead-ACME-DENTAL"}}'


def test_signatures_verify_with_the_reference_implementation() -> None:
    secret = new_secret()
    now = int(datetime.now(UTC).timestamp())
    signed = headers(secret, "msg_1", now, BODY)
    assert Webhook(secret).verify(BODY, signed)["data"]["lead_id"] == "lead-ACME-DENTAL"
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(secret).verify(BODY.replace(b"ACME", b"EVIL"), signed)
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(new_secret()).verify(BODY, signed)
    stale = headers(secret, "msg_1", now - 3600, BODY)
    with pytest.raises(Exception, match=r"(?i)timestamp|old"):
        Webhook(secret).verify(BODY, stale)


def test_retries_back_off_for_about_a_day_then_stop() -> None:
    delays = [next_attempt_delay(n) for n in range(1, len(RETRY_SCHEDULE) + 2)]
    assert delays[0] == timedelta(seconds=5)
    assert delays[-1] is None
    assert all(a <= b for a, b in pairwise(delays[:-1]))  # type: ignore[operator]
    assert timedelta(hours=20) < sum(RETRY_SCHEDULE, timedelta()) < timedelta(hours=30)


def test_the_alert_email_says_who_why_and_by_when_and_escapes_html() -> None:
    lead = {
        "profile": {
            "email": "ana@acme-dental.com",
            "first_name": "Ana",
            "last_name": "Lopez",
            "company": "<script>ACME</script>",
            "company_size": 240,
            "country": "DE",
        },
        "fit": 85,
        "interest": 40,
        "grade": "A",
        "timeline": [{"activity_type": "demo_request", "occurred_at": "2026-11-22T09:00:00Z"}],
        "sources": ["webinar"],
        "campaigns": ["q4-dental-webinar"],
    }
    message = build_alert_email(
        to="rep-alice@northwind.example",
        rep_name="Alice",
        lead=lead,
        deadline=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
        reason="hand-raise: demo_request",
        team="dach",
    )
    assert message["Subject"] == (
        "New SQL: Ana Lopez, <script>ACME</script> (grade A) — first touch by 2026-11-22 09:30 UTC"
    )
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Why now: hand-raise: demo_request" in plain and "demo_request" in plain
    assert "&lt;script&gt;" in html and "<script>" not in html
    empty = build_alert_email(
        to="x@y.z",
        rep_name="X",
        lead={},
        reason="r",
        team="t",
        deadline=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert "a new lead" in empty["Subject"]
