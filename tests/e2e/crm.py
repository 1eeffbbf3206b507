"""Playing the CRM in end-to-end tests: post its calls the way a CRM integration would."""

from __future__ import annotations

from typing import Any

import httpx

from ..waiting import wait_for


async def post_crm_calls(
    http: httpx.AsyncClient, feedback_url: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    """POST each `(path, body)` to `/v1/crm/<path>` in order, each until feedback accepts it.

    A call may arrive before feedback has read the lead (or its new stage): it answers 422 or
    409 then, and the CRM retries, as real integrations do.
    """
    for path, body in calls:

        async def accepted(path: str = path, body: dict[str, Any] = body) -> bool:
            r = await http.post(f"{feedback_url}/v1/crm/{path}", json=body)
            assert r.status_code in (200, 202, 409, 422), r.text
            return r.status_code in (200, 202)

        await wait_for(accepted, timeout_s=60, what=f"the CRM {path} call to be accepted")


def connected_call(crm_event_id: str, lead_id: str, at: str) -> tuple[str, dict[str, Any]]:
    """rep-alice reached the lead by phone: the first touch, which stops the SLA timer."""
    touch = {
        "crm_event_id": crm_event_id,
        "lead_id": lead_id,
        "rep_id": "rep-alice",
        "channel": "call",
        "outcome": "connected",
        "touched_at": at,
    }
    return "touches", touch
