"""Routing's HTTP routes for webhook subscriptions and the delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from leadloop_platform.http.paging import Page, PageRequest, page_example, page_of, page_request
from leadloop_platform.http.problems import Problem
from leadloop_platform.outbound import OutboundPolicy, RefusedTarget
from leadloop_routing.domain.commands import CancelSubscription, Redeliver, SubscribeWebhook
from leadloop_routing.domain.errors import DeliveryNotFound, SubscriptionNotFound
from leadloop_routing.entrypoints.reps import ADMIN, invalid, transactions
from leadloop_routing.entrypoints.schemas import (
    DeliveryOut,
    SubscriptionIn,
    SubscriptionOut,
    delivery_out,
    subscription_out,
)
from leadloop_routing.handlers import admin

router = APIRouter(prefix="/v1", tags=["routing"])
BY_CREATION = page_request(datetime, str)
SUBSCRIPTION_EXAMPLE = {
    "subscription_id": "3f6c1a52-8e1b-4d7a-9c0e-5b2a7d4e9f10",
    "url": "https://crm.northwind.example/hooks/leadloop",
    "event_types": ["lead.assigned.v1"],
    "description": "CRM bridge",
    "active": True,
    "created_at": "2026-11-02T08:00:00+00:00",
}
DELIVERY_EXAMPLE = {
    "delivery_id": "9a4d2e6b-1c3f-4b8a-a7d5-2e0f6c9b8a13",
    "subscription_id": "3f6c1a52-8e1b-4d7a-9c0e-5b2a7d4e9f10",
    "event_id": "0b8f3c2e-5d4a-4e1f-9b6c-7a2d1e0f3c4b",
    "event_type": "lead.assigned.v1",
    "lead_id": "lead-ACME-DENTAL",
    "status": "failed",
    "attempts": [
        {
            "at": "2026-11-04T09:15:01+00:00",
            "ok": False,
            "status_code": 503,
            "error": "HTTP 503: ",
            "duration_ms": 112.4,
        }
    ],
    "next_attempt_at": None,
    "created_at": "2026-11-04T09:15:00+00:00",
    "delivered_at": None,
}


@router.post(
    "/webhook-subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    dependencies=[ADMIN],
    summary="Subscribe a URL to lead alerts (signed)",
    responses={422: {"description": "a private, local or metadata target, or credentials"}},
)
async def create_subscription(
    request: Request, response: Response, body: SubscriptionIn
) -> SubscriptionOut:
    url = str(body.url)
    outbound: OutboundPolicy = request.app.state.outbound
    try:  # the outbound guard, at the edge: before anything is stored
        await outbound.check_target(url)
    except RefusedTarget as exc:
        raise invalid("url", str(exc), "refused", f"url: {exc}") from exc
    command = SubscribeWebhook(url, tuple(body.event_types), body.description, datetime.now(UTC))
    subscription = await transactions(request).run(admin.subscribe_webhook, command)
    response.headers["Location"] = f"{request.url.path}/{subscription.subscription_id}"
    return subscription_out(subscription, with_secret=True)


@router.get(
    "/webhook-subscriptions",
    response_model=Page[SubscriptionOut],
    dependencies=[ADMIN],
    summary="Every subscription, active or not, a page at a time, oldest first",
    responses=page_example(SUBSCRIPTION_EXAMPLE, next_url=None),
)
async def list_subscriptions(
    request: Request, response: Response, page: Annotated[PageRequest, Depends(BY_CREATION)]
) -> Page[SubscriptionOut]:
    found = await transactions(request).run(admin.list_subscriptions, page)
    subscriptions, next_url = page_of(
        found, page, request, response, key=lambda s: (s.created_at, s.subscription_id)
    )
    return Page[SubscriptionOut](items=[subscription_out(s) for s in subscriptions], next=next_url)


@router.delete(
    "/webhook-subscriptions/{subscription_id}",
    status_code=204,
    dependencies=[ADMIN],
    summary="Deactivate a subscription and cancel its queued deliveries and retries",
    responses={404: {"description": "no such subscription"}},
)
async def cancel_subscription(request: Request, subscription_id: str) -> Response:
    try:
        await transactions(request).run(
            admin.cancel_subscription, CancelSubscription(subscription_id)
        )
    except SubscriptionNotFound as exc:
        raise Problem(404, str(exc), kind="not-found") from exc
    return Response(status_code=204)


@router.get(
    "/webhook-deliveries",
    response_model=Page[DeliveryOut],
    dependencies=[ADMIN],
    summary="The delivery log, newest first, a page at a time: every attempt of every delivery",
    responses=page_example(
        DELIVERY_EXAMPLE,
        next_url="/v1/webhook-deliveries?status=failed&limit=1&cursor="
        "WyIyMDI2LTExLTA0VDA5OjE1OjAwKzAwOjAwIiwiOWE0ZDJlNmItMWMzZi00YjhhLWE3ZDUtMmUwZjZjOWI4YTEzIl0",
    ),
)
async def list_deliveries(
    request: Request,
    response: Response,
    page: Annotated[PageRequest, Depends(BY_CREATION)],
    status: Annotated[str | None, Query(max_length=20)] = None,
    lead_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[DeliveryOut]:
    found = await transactions(request).run(admin.list_deliveries, status, lead_id, page)
    deliveries, next_url = page_of(
        found, page, request, response, key=lambda d: (d.created_at, d.delivery_id)
    )
    return Page[DeliveryOut](items=[delivery_out(d) for d in deliveries], next=next_url)


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    dependencies=[ADMIN],
    summary="Send a delivery again now",
    responses={
        404: {"description": "no such delivery, it was cancelled, or its subscription is inactive"}
    },
)
async def redeliver_delivery(request: Request, delivery_id: str) -> DeliveryOut:
    try:
        delivery = await transactions(request).run(
            admin.redeliver, Redeliver(delivery_id, datetime.now(UTC))
        )
    except DeliveryNotFound as exc:
        raise Problem(404, str(exc), kind="not-found") from exc
    request.app.state.wake_deliveries()
    return delivery_out(delivery)
