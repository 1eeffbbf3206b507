"""Routing's HTTP routes for reps, accounts, assignments and the distribution report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse

from leadloop_db.uow import Transactions
from leadloop_platform.auth.guard import require_scope
from leadloop_platform.http.etags import (
    ETAG_HEADER,
    IF_MATCH_FAILED,
    etag_of,
    not_modified,
    require_match,
)
from leadloop_platform.http.paging import Page, PageRequest, page_example, page_of, page_request
from leadloop_platform.http.problems import Problem
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.domain.commands import DeactivateRep, UpsertAccount, UpsertRep
from leadloop_routing.domain.errors import CrmIdTaken, RepNotFound, UnknownOwner
from leadloop_routing.domain.model import Account, Rep
from leadloop_routing.entrypoints import examples
from leadloop_routing.entrypoints.schemas import (
    AccountIn,
    RepIn,
    RepOut,
    assignment_view,
    rep_of,
    rep_out,
)
from leadloop_routing.handlers import admin

router = APIRouter(prefix="/v1", tags=["routing"])
ADMIN = Depends(require_scope("admin"))
READ = Depends(require_scope("reports:read"))
CONDITIONAL: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": ETAG_HEADER}},
    412: IF_MATCH_FAILED,
}
READ_CONDITIONAL: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": ETAG_HEADER}},
    304: {
        "description": "If-None-Match names the current ETag: unchanged",
        "headers": {"ETag": ETAG_HEADER},
    },
}
REPS_PAGE = page_request(str)
REP_EXAMPLE = {
    "rep_id": "rep-alice",
    "name": "Alice",
    "email": "rep-alice@northwind.example",
    "teams": ["dach"],
    "weight": 1,
    "max_open_per_day": None,
    "max_open_total": None,
    "working_hours": {
        "timezone": "Europe/Berlin",
        "start": "09:00:00",
        "end": "17:00:00",
        "workdays": [0, 1, 2, 3, 4],
    },
    "out_of_office": [],
    "manager_email": None,
    "active": True,
}
ACCOUNT_EXAMPLE = {"domain": "acme-dental.com", "name": "Acme Dental", "owner_rep_id": "rep-alice"}


def example(body: dict[str, Any]) -> dict[str, Any]:
    """A JSON answer's documented example."""
    return {"content": {"application/json": {"example": body}}}


RepId = Annotated[str, Path(max_length=100)]
Domain = Annotated[str, Path(max_length=255)]


def transactions(request: Request) -> Transactions[SqlUnitOfWork]:
    """The runtime's transaction runner: one unit of work per command, committed once."""
    runner: Transactions[SqlUnitOfWork] = request.app.state.transactions
    return runner


def invalid(field: str, message: str, code: str, title: str) -> Problem:
    """A 422 naming one field of the body."""
    pointer = "/" + field.replace(".", "/")
    error = {"field": field, "pointer": pointer, "message": message, "code": code}
    return Problem(422, title, kind="validation-error", errors=[error])


def account_view(account: Account) -> dict[str, str]:
    """The API's view of an account (the PUT's answer, whose hash is its ETag)."""
    return {"domain": account.domain, "name": account.name, "owner_rep_id": account.owner_rep_id}


def conditional_json(request: Request, view: Any) -> Response:
    """A read's JSON answer with its ETag, or a 304 when If-None-Match names that ETag."""
    headers = {"ETag": etag_of(view)}
    if not_modified(request, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return JSONResponse(view, headers=headers)


def rep_etag(rep: Rep) -> str:
    """The ETag of a rep's API view."""
    return etag_of(rep_out(rep).model_dump(mode="json"))


@router.put(
    "/reps/{rep_id}",
    response_model=RepOut,
    dependencies=[ADMIN],
    summary="Create or replace a rep (If-Match: only if unchanged since read)",
    responses=CONDITIONAL | {409: {"description": "another rep has one of these CRM ids"}},
)
async def upsert_rep(request: Request, response: Response, rep_id: RepId, body: RepIn) -> RepOut:
    hours = body.working_hours
    if hours.start >= hours.end:
        raise invalid(
            "working_hours.start",
            "must be before end",
            "invalid",
            "working_hours.start must be before working_hours.end",
        )
    command = UpsertRep(rep_of(rep_id, body), datetime.now(UTC), body.crm_ids is None)

    async def upsert_if_matched(uow: SqlUnitOfWork) -> Rep:
        current = await uow.repo.rep(rep_id, for_update=True)  # one If-Match write at a time
        require_match(request, None if current is None else rep_etag(current))
        return await admin.upsert_rep(uow, command)

    try:
        rep = await transactions(request).run(upsert_if_matched)
    except CrmIdTaken as exc:
        raise Problem(409, str(exc), kind="crm-id-taken") from exc
    response.headers["ETag"] = rep_etag(rep)
    return rep_out(rep)


@router.get(
    "/reps",
    response_model=Page[RepOut],
    dependencies=[READ],
    summary="Every rep, a page at a time, by id",
    responses=page_example(REP_EXAMPLE, next_url="/v1/reps?limit=1&cursor=WyJyZXAtYWxpY2UiXQ"),
)
async def list_reps(
    request: Request, response: Response, page: Annotated[PageRequest, Depends(REPS_PAGE)]
) -> Page[RepOut]:
    found = await transactions(request).run(admin.list_reps, page)
    reps, next_url = page_of(found, page, request, response, key=lambda r: (r.rep_id,))
    return Page[RepOut](items=[rep_out(r) for r in reps], next=next_url)


@router.get(
    "/reps/{rep_id}",
    response_model=RepOut,
    dependencies=[READ],
    summary="One rep, as its PUT answers it (If-None-Match: 304 when unchanged)",
    responses=READ_CONDITIONAL | {404: {"description": "no such rep"}},
)
async def get_rep(request: Request, rep_id: RepId) -> Response:
    rep = await transactions(request).run(admin.get_rep, rep_id)
    if rep is None:
        raise Problem(404, f"no rep {rep_id}", kind="rep-not-found")
    return conditional_json(request, rep_out(rep).model_dump(mode="json"))


@router.delete(
    "/reps/{rep_id}",
    response_model=RepOut,
    dependencies=[ADMIN],
    summary="Deactivate a rep (kept for history; no new leads)",
    responses={404: {"description": "no such rep"}},
)
async def deactivate_rep(request: Request, rep_id: RepId) -> RepOut:
    try:
        rep = await transactions(request).run(
            admin.deactivate_rep, DeactivateRep(rep_id, datetime.now(UTC))
        )
    except RepNotFound as exc:
        raise Problem(404, str(exc), kind="rep-not-found") from exc
    return rep_out(rep)


@router.put(
    "/accounts/{domain}",
    dependencies=[ADMIN],
    summary="Load an existing customer account and its owner (If-Match: only if unchanged)",
    responses=CONDITIONAL | {200: CONDITIONAL[200] | example(examples.ACCOUNT_OUT)},
)
async def upsert_account(
    request: Request, response: Response, domain: Domain, body: AccountIn
) -> dict[str, str]:
    command = UpsertAccount(
        Account(domain.lower(), body.name, body.owner_rep_id), datetime.now(UTC)
    )

    async def upsert_if_matched(uow: SqlUnitOfWork) -> Account:
        current = await uow.repo.account(command.account.domain, for_update=True)
        require_match(request, None if current is None else etag_of(account_view(current)))
        return await admin.upsert_account(uow, command)

    try:
        account = await transactions(request).run(upsert_if_matched)
    except UnknownOwner as exc:
        raise invalid("owner_rep_id", "unknown rep", "unknown_rep", str(exc)) from exc
    view = account_view(account)
    response.headers["ETag"] = etag_of(view)
    return view


@router.get(
    "/accounts/{domain}",
    dependencies=[READ],
    summary="One account and its owner, as its PUT answers it (If-None-Match: 304)",
    responses=READ_CONDITIONAL
    | {
        200: {
            "headers": {"ETag": ETAG_HEADER},
            "content": {"application/json": {"example": ACCOUNT_EXAMPLE}},
        },
        404: {"description": "no such account"},
    },
)
async def get_account(request: Request, domain: Domain) -> Response:
    account = await transactions(request).run(admin.get_account, domain.lower())
    if account is None:
        raise Problem(404, f"no account {domain.lower()}", kind="account-not-found")
    return conditional_json(request, account_view(account))


@router.get(
    "/leads/{lead_id}/assignment",
    dependencies=[READ],
    summary="The lead's assignments with the path each decision took",
    responses={
        200: example(examples.ASSIGNMENTS),
        404: {"description": "the lead has no assignment"},
    },
)
async def get_assignment(request: Request, lead_id: str) -> dict[str, Any]:
    found = await transactions(request).run(admin.lead_assignments, lead_id)
    if not found:
        raise Problem(404, f"lead {lead_id} has no assignment", kind="no-assignment")
    items = [assignment_view(a) for a in found]
    return {"lead_id": lead_id, "current": items[0], "assignments": items}


@router.get(
    "/routing/distribution",
    dependencies=[READ],
    summary="Each rep's share of assignments against their weight",
    responses={200: example(examples.DISTRIBUTION)},
)
async def get_distribution(
    request: Request, since: datetime | None = None, team: str | None = None
) -> dict[str, Any]:
    return {"teams": await transactions(request).run(admin.rep_distribution, since, team)}
