"""Routing's HTTP routes for webhook subscriptions and the delivery log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

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


@router.get("/webhook-subscriptions", response_model=list[SubscriptionOut], dependencies=[ADMIN])
async def list_subscriptions(request: Request) -> list[SubscriptionOut]:
    return [subscription_out(s) for s in await transactions(request).run(admin.list_subscriptions)]


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
    response_model=list[DeliveryOut],
    dependencies=[ADMIN],
    summary="The delivery log: every attempt of every delivery",
)
async def list_deliveries(
    request: Request,
    status: str | None = None,
    lead_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    found = await transactions(request).run(admin.list_deliveries, status, lead_id, limit)
    return [delivery_out(d) for d in found]


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
