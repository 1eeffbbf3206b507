"""No request intake accepts can make an event the broker refuses (#12 item 3): the largest
acceptable form fill and activity, every field at its limit, make events well under the
outbox's limit and the producer's record limit; a batch of 1,000 activities fits its route's
own body limit, and each of its events fits on its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from leadloop_events.bounds import MAX_JSON_BYTES, MAX_TEXT
from leadloop_events.limits import MAX_EVENT_BYTES, MAX_RECORD_BYTES
from leadloop_intake import handlers
from leadloop_intake.config import Settings
from leadloop_intake.domain.model import Activity, ActivityBatch, FormSubmission

from .fakes import FakeUnitOfWork

# Characters whose JSON encoding is largest for the bytes they count as: a quote (escaped to
# 2 bytes), a control character (\u0001, 6), an emoji (4 bytes of UTF-8), plain ASCII.
FILLERS = ['"', "\x01", "\U0001f600", "x"]


def fill(filler: str) -> dict[str, Any]:
    """The largest free-form object of `filler` that the bounds accept."""

    def size(n: int) -> int:
        return len(
            json.dumps({"v": filler * n}, ensure_ascii=False, separators=(",", ":")).encode()
        )

    n = 1
    while size(n * 2) <= MAX_JSON_BYTES:
        n *= 2
    step = n
    while step:  # the largest n that still fits
        if size(n + step) <= MAX_JSON_BYTES:
            n += step
        step //= 2
    return {"v": filler * n}


def largest_form_fill(filler: str) -> dict[str, Any]:
    """Every field of a form fill at its maximum."""
    domain = ".".join(["d" * 63, "e" * 63, "f" * 63, "g" * 57]) + ".com"  # 253: DNS's maximum
    return {
        "email": "a" * 64 + "@" + domain[: 254 - 65],
        **{f: "N" * 200 for f in ("first_name", "last_name", "company", "job_title", "industry")},
        "company_size": 10_000_000,
        "country": "DE",
        "phone": "1" * 50,
        "source": "s" * 100,
        "campaign": "c" * 200,
        "form_id": "f" * 200,
        "page_url": "https://acme-dental.com/" + "p" * (2048 - 24),
        "submitted_at": "2026-11-01T10:00:00Z",
        "utm": {k: "u" * MAX_TEXT for k in ("source", "medium", "campaign", "term", "content")},
        "consent": True,
        "fields": fill(filler),
    }


@pytest.mark.parametrize("filler", FILLERS)
async def test_the_largest_acceptable_form_fill_makes_an_event_that_fits(filler: str) -> None:
    form = FormSubmission.model_validate(largest_form_fill(filler))  # accepted
    uow = FakeUnitOfWork()
    command = handlers.CaptureLead(form, "form", form.model_dump_json(), correlation_id="c" * 128)
    await handlers.capture_lead(uow, command)
    [(_, event)] = uow.pending
    size = len(event.to_bytes())
    assert size <= MAX_EVENT_BYTES < MAX_RECORD_BYTES
    assert size < 100 * 1024, size  # bounded far below: 64 KiB of fields and a few KiB of text


def largest_activity(filler: str, lead_id: str) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "type": "contact_sales_request",
        "occurred_at": "2026-11-01T10:00:00Z",
        "url": "https://acme-dental.com/" + "p" * (2048 - 24),
        "asset": "a" * 200,
        "campaign": "c" * 200,
        "properties": fill(filler),
    }


@pytest.mark.parametrize("filler", FILLERS)
async def test_the_largest_acceptable_activity_makes_an_event_that_fits(filler: str) -> None:
    uow = FakeUnitOfWork()
    done = await handlers.capture_lead(
        uow, handlers.CaptureLead(FormSubmission(email="ana@acme-dental.com"), "form", "{}")
    )
    activity = Activity.model_validate(largest_activity(filler, done.lead_id))
    await handlers.record_activities(uow, handlers.RecordActivities([activity], "c" * 128))
    size = len(uow.pending[-1][1].to_bytes())
    assert size <= MAX_EVENT_BYTES and size < 100 * 1024, size


def test_a_batch_of_1000_activities_fits_its_routes_limit_not_the_default() -> None:
    """A batch as a marketing tool sends it: 1,000 page views with their page and a few
    properties. It outgrows the default 512 KiB, so the route has its own limit (2 MiB)."""
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none")
    one = {
        "email": "visitor.with.a.long.name@a-company-domain.example.com",
        "type": "pricing_page_view",
        "occurred_at": datetime(2026, 11, 1, 10, tzinfo=UTC).isoformat(),
        "url": "https://www.acme-dental.example.com/pricing/enterprise?utm_source=linkedin"
        "&utm_medium=paid_social&utm_campaign=q4-dental-webinar",
        "campaign": "q4-dental-webinar",
        "properties": {
            "referrer": "https://www.linkedin.com/feed/update/urn:li:activity:7260000000000000000",
            "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130",
            "session_id": "4f0c1a2b-8d3e-4f5a-9b6c-7d8e9f0a1b2c",
        },
    }
    body = json.dumps({"activities": [one] * 1000}).encode()
    ActivityBatch.model_validate_json(body)
    assert settings.max_body_bytes < len(body) <= settings.max_activities_bytes
