"""Feedback's HTTP routes for the HubSpot inbox: what HubSpot told leadloop and how each
notification ended (outcome, tries, last error, the lead it resolved to), and a retry, as
routing shows and redelivers its connector deliveries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from leadloop_feedback.adapters.crm_inbox import inbox_of
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.http.paging import Page, PageRequest, page_example, page_of, page_request
from leadloop_platform.http.problems import Problem
from leadloop_runtime import Transactions

router = APIRouter(prefix="/v1/integrations/hubspot", tags=["feedback"])
ADMIN = Depends(require_scope("admin"))
BY_RECEIPT = page_request(datetime, str)
Status = Literal["pending", "done", "failed"]
EXAMPLE: dict[str, Any] = {
    "event_key": "hubspot:62515:deal.creation:7301:1780",
    "subscription_type": "deal.creation",
    "object_type": "deal",
    "object_id": "7301",
    "property_name": None,
    "property_value": None,
    "status": "failed",
    "outcome": "failed",
    "attempts": 1,
    "last_error": "PermanentError: 403 This app hasn't been granted all required scopes",
    "lead_id": None,
    "contact_ids": [],
    "occurred_at": "2026-11-04T09:14:58+00:00",
    "received_at": "2026-11-04T09:15:00+00:00",
    "next_attempt_at": "2026-11-04T09:15:01+00:00",
    "finished_at": "2026-11-04T09:15:01+00:00",
}


class InboxRowOut(BaseModel):
    """One HubSpot notification (ids only) and how reading and recording it went."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})
    event_key: str
    subscription_type: str = Field(examples=["deal.creation"])
    object_type: str = Field(examples=["deal"])
    object_id: str
    property_name: str | None
    property_value: str | None
    status: Status = Field(
        description="pending (due at next_attempt_at, or being read), done (ended: see "
        "outcome), failed (a refused read, or too many tries: retry it once fixed)"
    )
    outcome: str | None = Field(
        description="recorded, duplicate, skipped, unknown_lead, unknown_rep, gone, refused "
        "(done); rate_limited, retry (pending); failed",
        examples=["recorded"],
    )
    attempts: int = Field(description="tries since it was kept or last retried")
    last_error: str | None
    lead_id: str | None = Field(description="the lead it resolved to, once recorded")
    contact_ids: list[str] = Field(
        description="the HubSpot contacts it names: a contact's own id, or the contacts the "
        "deal or engagement is associated with, once read"
    )
    occurred_at: datetime
    received_at: datetime
    next_attempt_at: datetime
    finished_at: datetime | None


def transactions(request: Request) -> Transactions[SqlUnitOfWork]:
    """The app's units of work."""
    found: Transactions[SqlUnitOfWork] = request.app.state.transactions
    return found


async def page_rows(uow: SqlUnitOfWork, status: str | None, page: PageRequest) -> list[Any]:
    """A page of the inbox, newest first."""
    inbox = inbox_of(uow)
    assert inbox is not None
    return await inbox.page(status, page)


async def retry_row(uow: SqlUnitOfWork, event_key: str, now: datetime) -> Any:
    """The row put back to due, or None."""
    inbox = inbox_of(uow)
    assert inbox is not None
    return await inbox.retry(event_key, now)


@router.get(
    "/inbox",
    response_model=Page[InboxRowOut],
    dependencies=[ADMIN],
    summary="The HubSpot inbox, newest first, a page at a time: every notification HubSpot "
    "sent, its status, outcome, tries and last error",
    responses=page_example(EXAMPLE, next_url=None),
)
async def list_hubspot_inbox(
    request: Request,
    response: Response,
    page: Annotated[PageRequest, Depends(BY_RECEIPT)],
    status: Annotated[Status | None, Query()] = None,
) -> Page[InboxRowOut]:
    found = await transactions(request).run(page_rows, status, page)
    rows, next_url = page_of(
        found, page, request, response, key=lambda r: (r["received_at"], r["event_key"])
    )
    return Page[InboxRowOut](items=[InboxRowOut.model_validate(r) for r in rows], next=next_url)


@router.post(
    "/inbox/{event_key}/retry",
    response_model=InboxRowOut,
    dependencies=[ADMIN],
    summary="Read and record a HubSpot notification again now (a failed one once its cause is "
    "fixed, or one whose lead was unknown then); a fresh count of tries",
    responses={404: {"description": "no notification with this event key (or its lead erased)"}},
)
async def retry_hubspot_notification(request: Request, event_key: str) -> InboxRowOut:
    row = await transactions(request).run(retry_row, event_key, datetime.now(UTC))
    if row is None:
        raise Problem(404, f"no HubSpot notification {event_key!r}", kind="not-found")
    request.app.state.wake_hubspot_inbox()
    return InboxRowOut.model_validate(row)
