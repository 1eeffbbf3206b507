"""Examples scoring's OpenAPI document shows: the shipped example agreement and a scored lead."""

from __future__ import annotations

from typing import Any

import yaml

from leadloop_contract.agreement import EXAMPLE_FILE, checksum, load_agreement, stored_document

_YAML = EXAMPLE_FILE.read_text(encoding="utf-8")
_AGREEMENT = load_agreement(_YAML)
AGREEMENT_YAML: dict[str, Any] = yaml.safe_load(_YAML)
"""The YAML document as an object (a YAML example is shown as YAML by the documentation)."""
AGREEMENT_EXAMPLE: dict[str, Any] = {
    "version": _AGREEMENT.version,
    "checksum": checksum(_AGREEMENT),
    "published_at": "2026-11-01T08:00:00+00:00",
    "document": stored_document(_AGREEMENT),
}
LEAD_ID = "3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f"
SCORE_EXAMPLE: dict[str, Any] = {
    "lead_id": LEAD_ID,
    "stage": "sql",
    "fit": 65.0,
    "interest": 36.0,
    "total": 101.0,
    "grade": "A",
    "interest_band": "hot",
    "breakdown": [
        {"rule": "size-mid-market", "kind": "fit", "points": 25.0, "reason": "250 employees"},
        {"rule": "territory", "kind": "fit", "points": 15.0, "reason": "country DE"},
        {"rule": "industry-core", "kind": "fit", "points": 15.0, "reason": "healthcare"},
        {"rule": "operations-role", "kind": "fit", "points": 10.0, "reason": "Head of Operations"},
        {"rule": "pricing_page_view", "kind": "interest", "points": 24.0, "reason": "3 views"},
        {"rule": "webinar_attended", "kind": "interest", "points": 12.0, "reason": "1 webinar"},
    ],
    "agreement_version": _AGREEMENT.version,
    "sources": ["webinar"],
    "campaigns": ["spring-webinar-2025"],
    "next_rescore_at": "2026-11-08T09:15:00+00:00",
    "erased": False,
    "stage_history": [
        {
            "id": 1,
            "lead_id": LEAD_ID,
            "from_stage": "lead",
            "to_stage": "sql",
            "applied": True,
            "reason": "grade A and interest hot",
            "agreement_version": _AGREEMENT.version,
            "cause": "lead.captured",
            "changed_at": "2026-11-04T09:15:03+00:00",
        }
    ],
    "score_history": [
        {
            "total": 101.0,
            "grade": "A",
            "scored_at": "2026-11-04T09:15:03+00:00",
            "agreement_version": _AGREEMENT.version,
            "cause": "lead.captured",
        }
    ],
}
