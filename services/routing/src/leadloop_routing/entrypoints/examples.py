"""Examples routing's OpenAPI document shows, one per body, with the names the README uses."""

from __future__ import annotations

from typing import Any

LEAD_ID = "3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f"
REP_IN: dict[str, Any] = {
    "name": "Alice Berger",
    "email": "alice.berger@northwind.example",
    "teams": ["dach"],
    "weight": 2,
    "max_open_per_day": 20,
    "working_hours": {
        "timezone": "Europe/Berlin",
        "start": "09:00:00",
        "end": "17:00:00",
        "workdays": [0, 1, 2, 3, 4],
    },
    "out_of_office": [{"start": "2026-12-22T00:00:00+01:00", "end": "2027-01-02T00:00:00+01:00"}],
    "manager_email": "sam.reyes@northwind.example",
    "active": True,
}
REP_OUT: dict[str, Any] = {"rep_id": "rep-alice", **REP_IN}
ACCOUNT_IN: dict[str, Any] = {"name": "Acme Dental", "owner_rep_id": "rep-alice"}
ACCOUNT_OUT: dict[str, Any] = {"domain": "acme-dental.com", **ACCOUNT_IN}
SUBSCRIPTION_IN: dict[str, Any] = {
    "url": "https://crm.acme-dental.com/hooks/leadloop",
    "event_types": ["leadloop.lead.assigned.v1"],
    "description": "hand-offs into the CRM",
}
SUBSCRIPTION_OUT: dict[str, Any] = {
    "subscription_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    **SUBSCRIPTION_IN,
    "active": True,
    "created_at": "2026-11-02T10:00:00Z",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}
DELIVERY_OUT: dict[str, Any] = {
    "delivery_id": "4c3b2a19-0f8e-4d7c-b6a5-948372615a4b",
    "subscription_id": SUBSCRIPTION_OUT["subscription_id"],
    "event_id": "7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928",
    "event_type": "leadloop.lead.assigned.v1",
    "lead_id": LEAD_ID,
    "status": "succeeded",
    "attempts": [
        {
            "at": "2026-11-04T09:15:05+00:00",
            "ok": True,
            "status_code": 200,
            "error": None,
            "duration_ms": 84.2,
        }
    ],
    "next_attempt_at": None,
    "created_at": "2026-11-04T09:15:04Z",
    "delivered_at": "2026-11-04T09:15:05Z",
}
_ASSIGNMENT: dict[str, Any] = {
    "assignment_id": "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
    "lead_id": LEAD_ID,
    "team": "dach",
    "rep_id": "rep-alice",
    "queue": None,
    "business": "new",
    "status": "touched",
    "agreement_version": "2026-11",
    "decision": {
        "team": "dach",
        "business": "new",
        "rep_id": "rep-alice",
        "queue": None,
        "path": ["territory: DE -> dach", "round robin: rep-alice"],
        "skipped": [{"rep_id": "rep-bob", "reason": "out of office"}],
    },
    "captured_at": "2026-11-04T09:15:00Z",
    "assigned_at": "2026-11-04T09:15:04Z",
    "sla_deadline": "2026-11-04T13:15:04Z",
    "first_touch_at": "2026-11-04T10:02:00Z",
    "reassignments": 0,
    "timer_due_at": None,
    "timer_step": 0,
    "history": [
        {"at": "2026-11-04T09:15:04Z", "event": "assigned"},
        {"at": "2026-11-04T10:02:00Z", "event": "touched"},
    ],
}
ASSIGNMENTS: dict[str, Any] = {
    "lead_id": LEAD_ID,
    "current": _ASSIGNMENT,
    "assignments": [_ASSIGNMENT],
}
DISTRIBUTION: dict[str, Any] = {
    "teams": [
        {
            "team": "dach",
            "assigned": 30,
            "reps": [
                {
                    "rep_id": "rep-alice",
                    "assigned": 20,
                    "weight": 2,
                    "share": 0.6667,
                    "weight_share": 0.6667,
                },
                {
                    "rep_id": "rep-bob",
                    "assigned": 10,
                    "weight": 1,
                    "share": 0.3333,
                    "weight_share": 0.3333,
                },
            ],
        }
    ]
}
