"""The journey's sentences."""

from __future__ import annotations

import pytest

from leadloop_feedback.domain.journey import describe


@pytest.mark.parametrize(
    ("event_type", "data", "sentence"),
    [
        (
            "leadloop.lead.captured.v1",
            {"channel": "form", "source": "webinar", "campaign": "q4", "is_new_lead": True},
            "Captured from a form (webinar, q4); a new lead.",
        ),
        (
            "leadloop.lead.activity_recorded.v1",
            {"activity_type": "demo_request"},
            "Activity: demo request.",
        ),
        (
            "leadloop.lead.stage_changed.v1",
            {"from_stage": "mql", "to_stage": "sql", "reason": "hand-raise"},
            "Stage mql → sql: hand-raise.",
        ),
        (
            "leadloop.lead.assigned.v1",
            {
                "owner_rep_id": None,
                "team": "dach",
                "business": "new",
                "sla_deadline": "2026-11-24T10:30:00Z",
            },
            "Handed off to the team queue (dach, new business); "
            "first touch due 2026-11-24 10:30 UTC.",
        ),
        (
            "leadloop.lead.status_changed.v1",
            {"status": "rejected", "reason_code": "bad_fit"},
            "CRM status: rejected (bad_fit).",
        ),
        (
            "leadloop.deal.closed.v1",
            {"deal_id": "D1", "stage": "won", "amount": "24000.00", "currency": "EUR"},
            "Deal D1 won: 24000.00 EUR.",
        ),
    ],
)
def test_sentences(event_type: str, data: dict[str, object], sentence: str) -> None:
    assert describe(event_type, data) == sentence
