"""Routing's HTTP routes: reps, accounts, assignments, distribution, webhooks."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from leadloop_platform.auth.guard import require_scope
from leadloop_platform.http.problems import Problem
from leadloop_platform.outbound import OutboundPolicy, RefusedTarget
from leadloop_routing.adapters.repository import SqlRepository
from leadloop_routing.adapters.tables import (
    assignments,
    webhook_deliveries,
    webhook_subscriptions,
)
from leadloop_routing.adapters.webhook_sender import new_secret
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.domain.model import Absence, Account, Rep
from leadloop_routing.entrypoints.schemas import (
    AccountIn,
    DeliveryOut,
    RepIn,
    RepOut,
    SubscriptionIn,
    SubscriptionOut,
)

router = APIRouter(prefix="/v1", tags=["routing"])
ADMIN = Depends(require_scope("admin"))
READ = Depends(require_scope("reports:read"))
RepId = Annotated[str, Path(max_length=100)]
Domain = Annotated[str, Path(max_length=255)]


def _rep_out(rep: Rep) -> RepOut:
    cal = rep.calendar
    return RepOut.model_validate(
        {
            "rep_id": rep.rep_id,
            "name": rep.name,
            "email": rep.email,
            "teams": list(rep.teams),
            "weight": rep.weight,
            "max_open_per_day": rep.max_open_per_day,
            "max_open_total": rep.max_open_total,
            "working_hours": {
                "timezone": cal.timezone,
                "start": cal.start,
                "end": cal.end,
                "workdays": sorted(cal.workdays),
            },
            "out_of_office": [{"start": a.start, "end": a.end} for a in rep.out_of_office],
            "manager_email": rep.manager_email,
            "active": rep.active,
        }
    )


@router.put(
    "/reps/{rep_id}", response_model=RepOut, dependencies=[ADMIN], summary="Create or replace a rep"
)
async def put_rep(request: Request, rep_id: RepId, body: RepIn) -> RepOut:
    hours = body.working_hours
    if hours.start >= hours.end:
        raise Problem(
            422,
            "working_hours.start must be before working_hours.end",
            kind="validation-error",
            errors=[
                {
                    "field": "working_hours.start",
                    "pointer": "/working_hours/start",
                    "message": "must be before end",
                    "code": "invalid",
                }
            ],
        )
    rep = Rep(
        rep_id=rep_id,
        name=body.name,
        email=str(body.email),
        teams=tuple(body.teams),
        weight=body.weight,
        max_open_per_day=body.max_open_per_day,
        max_open_total=body.max_open_total,
        calendar=WorkingCalendar(hours.timezone, hours.start, hours.end, frozenset(hours.workdays)),
        out_of_office=tuple(Absence(a.start, a.end) for a in body.out_of_office),
        active=body.active,
        manager_email=str(body.manager_email) if body.manager_email else None,
    )
    async with request.app.state.engine.begin() as conn:
        await SqlRepository(conn).save_rep(rep, datetime.now(UTC))
    return _rep_out(rep)


@router.get("/reps", response_model=list[RepOut], dependencies=[READ], summary="Every rep")
async def list_reps(request: Request) -> list[RepOut]:
    async with request.app.state.engine.connect() as conn:
        return [_rep_out(r) for r in await SqlRepository(conn).all_reps()]


@router.delete(
    "/reps/{rep_id}",
    response_model=RepOut,
    dependencies=[ADMIN],
    summary="Deactivate a rep (kept for history; no new leads)",
    responses={404: {"description": "no such rep"}},
)
async def delete_rep(request: Request, rep_id: RepId) -> RepOut:
    async with request.app.state.engine.begin() as conn:
        repo = SqlRepository(conn)
        rep = await repo.rep(rep_id)
        if rep is None:
            raise Problem(404, f"no rep {rep_id}", kind="rep-not-found")
        inactive = dataclasses.replace(rep, active=False)
        await repo.save_rep(inactive, datetime.now(UTC))
    return _rep_out(inactive)


@router.put(
    "/accounts/{domain}",
    dependencies=[ADMIN],
    summary="Load an existing customer account and its owner",
)
async def put_account(request: Request, domain: Domain, body: AccountIn) -> dict[str, str]:
    account = Account(domain.lower(), body.name, body.owner_rep_id)
    async with request.app.state.engine.begin() as conn:
        repo = SqlRepository(conn)
        if await repo.rep(body.owner_rep_id) is None:
            raise Problem(
                422,
                f"no rep {body.owner_rep_id}",
                kind="validation-error",
                errors=[
                    {
                        "field": "owner_rep_id",
                        "pointer": "/owner_rep_id",
                        "message": "unknown rep",
                        "code": "unknown_rep",
                    }
                ],
            )
        await repo.save_account(account, datetime.now(UTC))
    return {"domain": account.domain, "name": account.name, "owner_rep_id": account.owner_rep_id}


@router.get(
    "/leads/{lead_id}/assignment",
    dependencies=[READ],
    summary="The lead's assignments with the path each decision took",
    responses={404: {"description": "the lead has no assignment"}},
)
async def get_assignment(request: Request, lead_id: str) -> dict[str, Any]:
    async with request.app.state.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(assignments)
                .where(assignments.c.lead_id == lead_id)
                .order_by(assignments.c.assigned_at.desc())
            )
        ).all()
    if not rows:
        raise Problem(404, f"lead {lead_id} has no assignment", kind="no-assignment")
    items = [{k: v for k, v in r._mapping.items() if k not in ("intelligence",)} for r in rows]
    return {"lead_id": lead_id, "current": items[0], "assignments": items}


@router.get(
    "/routing/distribution",
    dependencies=[READ],
    summary="Each rep's share of assignments against their weight",
)
async def distribution(
    request: Request, since: datetime | None = None, team: str | None = None
) -> dict[str, Any]:
    query = (
        sa.select(assignments.c.team, assignments.c.rep_id, sa.func.count())
        .where(assignments.c.rep_id.is_not(None))
        .group_by(assignments.c.team, assignments.c.rep_id)
    )
    if since is not None:
        query = query.where(assignments.c.assigned_at >= since)
    if team is not None:
        query = query.where(assignments.c.team == team)
    async with request.app.state.engine.connect() as conn:
        counts = (await conn.execute(query)).all()
        reps = {r.rep_id: r for r in await SqlRepository(conn).all_reps()}
    teams: dict[str, dict[str, Any]] = {}
    for team_name, rep_id, count in counts:
        entry = teams.setdefault(team_name, {"team": team_name, "assigned": 0, "reps": []})
        entry["assigned"] += count
        entry["reps"].append(
            {
                "rep_id": rep_id,
                "assigned": count,
                "weight": reps[rep_id].weight if rep_id in reps else None,
            }
        )
    for entry in teams.values():
        weights = sum(r["weight"] or 0 for r in entry["reps"]) or 1
        for r in entry["reps"]:
            r["share"] = round(r["assigned"] / entry["assigned"], 4)
            r["weight_share"] = round((r["weight"] or 0) / weights, 4)
    return {"teams": list(teams.values())}


@router.post(
    "/webhook-subscriptions",
    status_code=201,
    response_model=SubscriptionOut,
    dependencies=[ADMIN],
    summary="Subscribe a URL to lead alerts (signed)",
    responses={422: {"description": "a private, local or metadata target, or credentials"}},
)
async def create_subscription(request: Request, body: SubscriptionIn) -> SubscriptionOut:
    url = str(body.url)
    outbound: OutboundPolicy = request.app.state.outbound
    try:
        await outbound.check_target(url)
    except RefusedTarget as exc:
        raise Problem(
            422,
            f"url: {exc}",
            kind="validation-error",
            errors=[{"field": "url", "pointer": "/url", "message": str(exc), "code": "refused"}],
        ) from exc
    values = {
        "subscription_id": str(uuid.uuid4()),
        "url": url,
        "secret": new_secret(),
        "event_types": body.event_types,
        "description": body.description,
        "active": True,
        "created_at": datetime.now(UTC),
    }
    async with request.app.state.engine.begin() as conn:
        await conn.execute(webhook_subscriptions.insert().values(values))
    return SubscriptionOut.model_validate(values)


@router.get("/webhook-subscriptions", response_model=list[SubscriptionOut], dependencies=[ADMIN])
async def list_subscriptions(request: Request) -> list[SubscriptionOut]:
    async with request.app.state.engine.connect() as conn:
        rows = await conn.execute(sa.select(webhook_subscriptions))
    return [SubscriptionOut.model_validate({**r._mapping, "secret": None}) for r in rows]


@router.delete(
    "/webhook-subscriptions/{subscription_id}",
    status_code=204,
    dependencies=[ADMIN],
    summary="Deactivate a subscription and cancel its queued deliveries and retries",
    responses={404: {"description": "no such subscription"}},
)
async def delete_subscription(request: Request, subscription_id: str) -> Response:
    d = webhook_deliveries
    async with request.app.state.engine.begin() as conn:
        done = await conn.execute(
            webhook_subscriptions.update()
            .where(webhook_subscriptions.c.subscription_id == subscription_id)
            .values(active=False)
        )
        # Queued deliveries carry lead data: none leaves for a receiver no longer wanted.
        await conn.execute(
            d.update()
            .where(d.c.subscription_id == subscription_id, d.c.status == "pending")
            .values(status="cancelled", next_attempt_at=None)
        )
    if not done.rowcount:
        raise Problem(404, f"no subscription {subscription_id}", kind="not-found")
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
    d = webhook_deliveries
    query = sa.select(d).order_by(d.c.created_at.desc()).limit(limit)
    if status:
        query = query.where(d.c.status == status)
    if lead_id:
        query = query.where(d.c.lead_id == lead_id)
    async with request.app.state.engine.connect() as conn:
        rows = await conn.execute(query)
    return [DeliveryOut.model_validate(dict(r._mapping)) for r in rows]


@router.post(
    "/webhook-deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    dependencies=[ADMIN],
    summary="Send a delivery again now",
    responses={
        404: {"description": "no such delivery, it was cancelled, or its subscription is inactive"}
    },
)
async def redeliver(request: Request, delivery_id: str) -> DeliveryOut:
    d, s = webhook_deliveries, webhook_subscriptions
    active = sa.select(s.c.subscription_id).where(s.c.active)
    async with request.app.state.engine.begin() as conn:
        row = (
            await conn.execute(
                d.update()
                .where(
                    d.c.delivery_id == delivery_id,
                    d.c.status != "cancelled",
                    d.c.subscription_id.in_(active),
                )
                .values(status="pending", next_attempt_at=datetime.now(UTC))
                .returning(d)
            )
        ).first()
    if row is None:
        raise Problem(404, f"no deliverable delivery {delivery_id}", kind="not-found")
    request.app.state.wake_deliveries()
    return DeliveryOut.model_validate(dict(row._mapping))
