"""The alert email written straight to bytes is, byte for byte, what EmailMessage wrote."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from leadloop_routing.adapters.mailer import alert_parts
from leadloop_routing.adapters.mime import alternative_email

DEADLINE = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
DATE = "Sun, 22 Nov 2026 09:00:00 +0000"
NAMES = ["Ana", "Zoë", "José-María", "Łukasz", "山田", "O'Brien", "<b>Eve</b>", "", "Ann\nBcc: x@y"]
COMPANIES = [
    "ACME Dental",
    "Müller & Söhne GmbH",
    "株式会社テスト",
    "<script>x</script>",
    "A" * 120,
]
URLS = ["https://acme.example/demo", "https://acme.example/" + "pricing/" * 15, None]
TO = ["rep-alice@northwind.example", "Bob Ünal <bob@northwind.example>", "x" * 70 + "@n.example"]


def reference(*, to: str, message_id: str, date: str, subject: str, text: str, html: str) -> bytes:
    """The message as the email package builds it (the construction alert_email_bytes replaced)."""
    message = EmailMessage()
    message["To"] = to
    message["Message-ID"] = message_id
    message["Date"] = date
    message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message.as_bytes()


def lead(rng: random.Random) -> dict[str, Any]:
    """A lead whose values reach every encoding: 7bit, 8bit, quoted-printable and base64."""
    timeline = [
        {"activity_type": rng.choice(["demo_request", "pricing_view"]), "url": rng.choice(URLS)}
        | {"occurred_at": f"2026-11-{rng.randint(10, 28)}T09:00:00Z"}
        for _ in range(rng.randint(0, 7))
    ]
    profile = {
        "first_name": rng.choice(NAMES),
        "last_name": rng.choice(NAMES),
        "company": rng.choice(COMPANIES),
        "job_title": rng.choice(["Head of Ops", "Directrice générale", None]),
        "email": "ana@acme-dental.com",
        "company_size": rng.choice([240, None]),
    }
    return {
        "profile": profile,
        "fit": rng.choice([85, 62.5, None]),
        "interest": 40,
        "grade": rng.choice(["A", "B"]),
        "timeline": timeline,
        "sources": rng.sample(["webinar", "trade-show", "référence"], rng.randint(0, 2)),
        "campaigns": ["q4-dental-webinar"] * rng.randint(0, 1),
    }


def alert(rng: random.Random) -> dict[str, Any]:
    """alert_parts' arguments for a random alert (its lead: `lead`)."""
    return {
        "rep_name": rng.choice(NAMES) or "Alice",
        "lead": lead(rng),
        "deadline": DEADLINE,
        "reason": rng.choice(["hand-raise: demo_request", "score crossed 70 — grade A"]),
        "team": "dach",
        "dashboard_url": rng.choice([None, "http://localhost:8004/dash"]),
    }


def compared(to: str, **arguments: Any) -> tuple[bytes, bytes]:
    """The alert written straight to bytes, and as EmailMessage writes it (same boundary)."""
    parts = alert_parts(**arguments)
    headers = {"to": to, "message_id": make_msgid(domain="leadloop.invalid"), "date": DATE}
    content = {"subject": parts.subject, "text": parts.text, "html": parts.html}
    sent = alternative_email(**headers, **content)
    built = reference(**headers, **content)
    boundaries = [
        message_from_bytes(m, policy=policy.default).get_boundary() for m in (sent, built)
    ]
    return sent, built.replace(str(boundaries[1]).encode(), str(boundaries[0]).encode())


@pytest.mark.parametrize("seed", range(4))
def test_the_bytes_are_those_email_message_writes(seed: int) -> None:
    rng = random.Random(seed)
    encodings: set[str] = set()
    for _ in range(60):
        sent, built = compared(to=rng.choice(TO), **alert(rng))
        assert sent == built
        parsed = message_from_bytes(sent, policy=policy.default)
        encodings |= {str(part["Content-Transfer-Encoding"]) for part in parsed.walk()}
    assert encodings >= {"8bit", "quoted-printable", "base64"}


def test_an_empty_lead_and_a_plain_one_match_too() -> None:
    for lead_ in ({}, {"profile": {"first_name": "Ana", "company": "ACME Dental"}, "grade": "A"}):
        sent, built = compared(
            to="rep-alice@northwind.example",
            rep_name="Alice",
            lead=lead_,
            deadline=DEADLINE,
            reason="r",
            team="dach",
        )
        assert sent == built
        assert b"Content-Transfer-Encoding: 7bit" in sent  # the plain-text part
