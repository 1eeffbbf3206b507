"""Routing's HTTP routes for the connector delivery log (CRM and Slack jobs) and redelivery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from leadloop_platform.http.paging import Page, PageRequest, page_example, page_of, page_request
from leadloop_platform.http.problems import Problem
from leadloop_routing.domain.connectors import (
    ConnectorDelivery,
    ConnectorDeliveryNotFound,
    RedeliverConnectorJob,
)
from leadloop_routing.entrypoints.reps import ADMIN, transactions
from leadloop_routing.handlers import connectors as handlers

router = APIRouter(prefix="/v1", tags=["routing"])
BY_CREATION = page_request(datetime, str)
EXAMPLE: dict[str, Any] = {
    "delivery_id": "5d2c8e1f-3a4b-4c6d-8e9f-0a1b2c3d4e5f",
    "connector": "hubspot",
    "event_id": "0b8f3c2e-5d4a-4e1f-9b6c-7a2d1e0f3c4b",
    "event_type": "leadloop.lead.assigned.v1",
    "lead_id": "lead-ACME-DENTAL",
    "status": "pending",
    "attempts": [
        {
            "at": "2026-11-04T09:15:01+00:00",
            "outcome": "retry",
            "error": "rate limited; retry after 10 s",
            "retry_after_s": 10.0,
            "duration_ms": 84.2,
        }
    ],
    "progress": {"contact_id": "51"},
    "next_attempt_at": "2026-11-04T09:15:11+00:00",
    "created_at": "2026-11-04T09:15:00+00:00",
    "finished_at": None,
}


class ConnectorDeliveryOut(BaseModel):
    """One lead event on its way to one connector, with every attempt (not its payload)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})
    delivery_id: str
    connector: str = Field(examples=["hubspot"])
    event_id: str
    event_type: str = Field(examples=["leadloop.lead.assigned.v1"])
    lead_id: str
    status: Literal["pending", "succeeded", "failed", "cancelled"]
    attempts: list[dict[str, Any]] = Field(
        description="each attempt: at, outcome (ok, retry, failed), error, retry_after_s "
        "(the vendor's wait after a 429), duration_ms"
    )
    progress: dict[str, Any] = Field(
        description="what earlier attempts did (e.g. the CRM contact and task ids): a retry "
        "continues from here"
    )
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None


def delivery_out(d: ConnectorDelivery) -> ConnectorDeliveryOut:
    """The API's view of a connector delivery."""
    return ConnectorDeliveryOut(
        delivery_id=d.delivery_id,
        connector=d.connector,
        event_id=d.event_id,
        event_type=d.event_type,
        lead_id=d.lead_id,
        status=d.status,
        attempts=list(d.attempts),
        progress=d.progress,
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        finished_at=d.finished_at,
    )


@router.get(
    "/connector-deliveries",
    response_model=Page[ConnectorDeliveryOut],
    dependencies=[ADMIN],
    summary="The connector delivery log (HubSpot, Salesforce, Slack), newest first, a page at "
    "a time: every attempt and the progress of every job",
    responses=page_example(EXAMPLE, next_url=None),
)
async def list_connector_deliveries(
    request: Request,
    response: Response,
    page: Annotated[PageRequest, Depends(BY_CREATION)],
    connector: Annotated[Literal["hubspot", "salesforce", "slack"] | None, Query()] = None,
    status: Annotated[
        Literal["pending", "succeeded", "failed", "cancelled"] | None, Query()
    ] = None,
    lead_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[ConnectorDeliveryOut]:
    found = await transactions(request).run(
        handlers.list_connector_deliveries, connector, status, lead_id, page
    )
    items, next_url = page_of(
        found, page, request, response, key=lambda d: (d.created_at, d.delivery_id)
    )
    return Page[ConnectorDeliveryOut](items=[delivery_out(d) for d in items], next=next_url)


@router.post(
    "/connector-deliveries/{delivery_id}/redeliver",
    response_model=ConnectorDeliveryOut,
    dependencies=[ADMIN],
    summary="Perform a connector delivery again now, from its recorded progress",
    responses={404: {"description": "no such delivery, it was cancelled, or its lead erased"}},
)
async def redeliver_connector_delivery(request: Request, delivery_id: str) -> ConnectorDeliveryOut:
    command = RedeliverConnectorJob(delivery_id, datetime.now(UTC))
    try:
        delivery = await transactions(request).run(handlers.redeliver_connector_job, command)
    except ConnectorDeliveryNotFound as exc:
        raise Problem(404, str(exc), kind="not-found") from exc
    request.app.state.wake_connectors()
    return delivery_out(delivery)
