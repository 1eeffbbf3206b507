"""Identity across systems, the handlers' side: remember whom events name (a lead's email hash
and CRM ids; a rep's), and resolve how a CRM input names a lead or rep to leadloop's ids.

Every CRM-side input (the JSON API, HubSpot, Salesforce, Slack) resolves through here: the
CRM commands do it for each item before deciding it (`resolve_items`), and an input that needs
the lead or rep first calls `resolve_lead` or `resolve_rep`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from leadloop_feedback.domain.crm import Item
from leadloop_feedback.domain.identity import CrmIds, Ref, identities
from leadloop_feedback.domain.ports import FeedbackUnitOfWork
from leadloop_feedback.domain.sales import Problem

ItemT = TypeVar("ItemT", bound=Item)
NAMED_BY = {
    "email": "this email",
    "hubspot": "this HubSpot id",
    "salesforce": "this Salesforce id",
}


async def remember_lead(
    uow: FeedbackUnitOfWork,
    lead_id: str,
    email: str | None,
    external_ids: CrmIds,
    at: datetime,
) -> None:
    """Index the lead under its email's hash and its CRM ids (the latest event wins a value);
    never an erased lead's (the repository checks it in the same write): a late event must not
    bring its identities back."""
    found = identities(email, external_ids)
    if found:
        await uow.repo.know_lead_identities(lead_id, found, at)


async def remember_rep(
    uow: FeedbackUnitOfWork,
    rep_id: str | None,
    email: str | None,
    crm_ids: CrmIds,
    at: datetime,
) -> None:
    """Index the rep under its email's hash and its CRM owner ids (the latest event wins)."""
    found = identities(email, crm_ids)
    if rep_id and found:
        await uow.repo.know_rep_identities(rep_id, found, at)


async def resolve_lead(uow: FeedbackUnitOfWork, ref: Ref) -> str | None:
    """leadloop's id of the lead `ref` names; None when no live lead has that identity.
    leadloop's own id is returned as given (the CRM commands then check the lead exists)."""
    if ref.kind == "leadloop":
        return ref.value
    return await uow.repo.find_lead(ref.kind, ref.value)


async def resolve_rep(uow: FeedbackUnitOfWork, ref: Ref) -> str | None:
    """leadloop's id of the rep `ref` names; None when no hand-off named a rep with that
    identity. leadloop's own id is returned as given (a touch then checks a hand-off named it)."""
    if ref.kind == "leadloop":
        return ref.value
    return await uow.repo.find_rep(ref.kind, ref.value)


async def resolve_item(uow: FeedbackUnitOfWork, item: ItemT) -> ItemT | Problem:
    """The item naming its lead and rep by leadloop's ids, or why it cannot (unknown_lead or
    unknown_rep at the field that named them)."""
    lead_ref = item.lead_ref()
    lead_id = await resolve_lead(uow, lead_ref)
    if lead_id is None:
        return Problem(
            "unknown_lead",
            f"no lead with {NAMED_BY[lead_ref.kind]} (or it was erased)",
            lead_ref.at,
        )
    rep_ref, rep_id = item.rep_ref(), None
    if rep_ref is not None:
        rep_id = await resolve_rep(uow, rep_ref)
        if rep_id is None:
            return Problem(
                "unknown_rep",
                f"no rep with {NAMED_BY[rep_ref.kind]}: a rep is known once a hand-off names them",
                rep_ref.at,
            )
    return item.resolved(lead_id, rep_id)


async def resolve_items(
    uow: FeedbackUnitOfWork, items: Sequence[ItemT], errors: list[dict[str, Any]]
) -> list[tuple[int, ItemT]]:
    """Each item resolved, with its index in the batch; the problems of the others go to
    `errors`."""
    named: list[tuple[int, ItemT]] = []
    for index, item in enumerate(items):
        found = await resolve_item(uow, item)
        if isinstance(found, Problem):
            errors.append(found.error(index))
        else:
            named.append((index, found))
    return named
