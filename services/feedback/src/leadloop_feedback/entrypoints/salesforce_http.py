"""Salesforce in: the Outbound Messages a Flow or workflow rule sends on Lead, Task and
Opportunity changes become status updates, touches and deals, recorded by the same handlers
as the CRM API's (`handlers.record_*`), one notification per transaction.

Salesforce resends a message until it gets the SOAP acknowledgement, for up to 24 hours
(https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_listener.htm).
So the ack answers every message whose notifications are each recorded, repeat one recorded
(the notification Id is the crm_event_id), or are deliberately skipped: an unmapped status,
an open task, a lead leadloop does not know, an item the loop refuses. Each skip is logged
with its reason and counted (leadloop_salesforce_notifications_total); retrying it would
never succeed. Only a failure leadloop can recover from (the database down) answers 5xx, so
Salesforce retries that message later.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import Counter
from pydantic import ValidationError

from leadloop_connectors.salesforce import (
    ACK_BODY,
    ACK_CONTENT_TYPE,
    OutboundMessage,
    is_salesforce_id,
    parse_outbound_message,
    same_id,
)
from leadloop_feedback import handlers, identities
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_feedback.config import Settings
from leadloop_feedback.domain.crm import (
    CrmRefused,
    Deal,
    Outcome,
    RecordDeals,
    RecordStatusUpdates,
    RecordTouches,
    StatusUpdate,
    Touch,
)
from leadloop_feedback.domain.identity import ExternalRef, Ref
from leadloop_feedback.domain.ports import FeedbackUnitOfWork
from leadloop_feedback.domain.salesforce_map import (
    LeadRef,
    Planned,
    SalesforceMapping,
    Skipped,
    plan,
)
from leadloop_platform.http.problems import Problem, require_media_type
from leadloop_runtime import Transactions

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/integrations/salesforce", tags=["integrations"])
XML_TYPES = ("text/xml", "application/xml", "application/soap+xml")
NOTIFICATIONS = Counter(
    "leadloop_salesforce_notifications_total",
    "Salesforce Outbound Message notifications, by sObject and outcome "
    "(recorded, duplicate, skipped, unknown_lead, refused).",
    ["sobject", "outcome"],
)
ACK_EXAMPLE = ACK_BODY.decode()
REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "text/xml": {
            "schema": {"type": "string", "description": "the SOAP `notifications` envelope"},
            "example": (
                '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
                '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
                "<OrganizationId>00D5e000000KQ2eEAG</OrganizationId>"
                "<ActionId>04k5e000000CaRkAAK</ActionId>"
                "<Notification><Id>04l5e000000001AAAA</Id>"
                '<sObject xsi:type="sf:Opportunity" '
                'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
                "<sf:Id>0065e00000ABCdeAAF</sf:Id><sf:StageName>Closed Won</sf:StageName>"
                "<sf:Amount>24000.0</sf:Amount><sf:IsClosed>true</sf:IsClosed>"
                "<sf:IsWon>true</sf:IsWon>"
                "<sf:Leadloop_Id__c>3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f</sf:Leadloop_Id__c>"
                "</sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"
            ),
        }
    },
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the acknowledgement: every notification recorded, repeated or skipped",
        "content": {"text/xml": {"schema": {"type": "string"}, "example": ACK_EXAMPLE}},
    },
    **{
        s: {"description": d, "content": {"application/problem+json": {}}}
        for s, d in [
            (400, "not an Outbound Message (malformed XML, a DOCTYPE or ENTITY declaration)"),
            (401, "the message's OrganizationId is not LEADLOOP_SALESFORCE_ORG_ID"),
            (503, "LEADLOOP_SALESFORCE_ORG_ID is not configured"),
        ]
    },
}


def mapping_of(settings: Settings) -> SalesforceMapping:
    """The user's Salesforce mapping, from the settings."""
    return SalesforceMapping(
        statuses=settings.salesforce_status_map,
        currency=settings.salesforce_currency or settings.reporting_currency,
        reason_field=settings.salesforce_reason_field,
    )


def trusted_message(settings: Settings, body: bytes) -> OutboundMessage:
    """The message, once it parses and comes from the configured organisation."""
    if settings.salesforce_org_id is None:
        raise Problem(
            503,
            "Salesforce Outbound Messages are not configured: set LEADLOOP_SALESFORCE_ORG_ID",
            kind="not-configured",
        )
    try:
        message = parse_outbound_message(body)
    except ValueError as exc:
        raise Problem(400, f"not a Salesforce Outbound Message: {exc}", kind="bad-message") from exc
    if not same_id(message.organization_id, settings.salesforce_org_id):
        raise Problem(
            401,
            f"OrganizationId {message.organization_id} is not the configured organisation",
            kind="unknown-organization",
        )
    return message


async def resolve_lead(uow: FeedbackUnitOfWork, ref: LeadRef) -> str | None:
    """The leadloop lead a notification names: by its Leadloop_Id__c, else by the Salesforce
    Lead/Contact ids, else by the email (feedback's identities); None when none is known."""
    if ref.leadloop_id:
        lead = await uow.repo.lead(ref.leadloop_id)
        if lead is not None and not lead.erased:
            return ref.leadloop_id
    refs = [salesforce_ref(record_id, "Id") for record_id in ref.salesforce_ids]
    refs.append(Ref.email(ref.email, "Email") if ref.email else None)
    for named in filter(None, refs):
        found = await identities.resolve_lead(uow, named)
        if found is not None:
            return found
    return None


async def resolve_rep(uow: FeedbackUnitOfWork, owner_id: str | None) -> str | None:
    """The rep whose Salesforce user id this is; None when no hand-off named one."""
    named = salesforce_ref(owner_id, "OwnerId") if owner_id else None
    return await identities.resolve_rep(uow, named) if named else None


def salesforce_ref(record_id: str, at: str) -> Ref | None:
    """A Salesforce record id as feedback's identities compare it; None when not an id."""
    if not is_salesforce_id(record_id):
        return None
    return Ref.external(ExternalRef(system="salesforce", id=record_id), at)


async def record_planned(uow: FeedbackUnitOfWork, planned: Planned) -> Outcome | Skipped:
    """Resolve the notification's lead (and rep) and record its item; Skipped when unknown."""
    lead_id = await resolve_lead(uow, planned.lead)
    if lead_id is None:
        return Skipped(planned.sobject, planned.notification_id, "unknown_lead", str(planned.lead))
    rep_id = await resolve_rep(uow, planned.owner_id)
    if planned.kind == "touch" and rep_id is None:
        detail = f"no rep has Salesforce user id {planned.owner_id}"
        return Skipped(planned.sobject, planned.notification_id, "unknown_rep", detail)
    try:
        item = planned.item(lead_id, rep_id)
    except ValidationError as exc:
        return Skipped(planned.sobject, planned.notification_id, "invalid", str(exc))
    if isinstance(item, Touch):
        return await handlers.record_touches(uow, RecordTouches([item]))
    if isinstance(item, StatusUpdate):
        return await handlers.record_status_updates(uow, RecordStatusUpdates([item]))
    assert isinstance(item, Deal)
    return await handlers.record_deals(uow, RecordDeals([item]))


async def record(transactions: Transactions[SqlUnitOfWork], planned: Planned | Skipped) -> str:
    """Record one notification in its own transaction; the outcome counted and, if not
    recorded, logged with its reason."""
    result: Outcome | Skipped | CrmRefused
    if isinstance(planned, Skipped):
        result = planned
    else:
        try:
            result = await transactions.run(record_planned, planned)
        except CrmRefused as refused:
            result = refused
    outcome = outcome_of(result)
    if not isinstance(result, Outcome) and outcome != "duplicate":
        why = (
            "; ".join(e["message"] for e in result.errors)
            if isinstance(result, CrmRefused)
            else f"{result.code}: {result.detail}"
        )
        log.warning(
            "salesforce notification %s (%s) not recorded, %s: %s",
            planned.notification_id,
            planned.sobject,
            outcome,
            why,
        )
    NOTIFICATIONS.labels(planned.sobject, outcome).inc()
    return outcome


def outcome_of(result: Outcome | Skipped | CrmRefused) -> str:
    """recorded, duplicate (a redelivery), unknown_lead, refused (by the loop) or skipped."""
    if isinstance(result, Outcome):
        return "recorded" if result.fresh else "duplicate"
    if isinstance(result, CrmRefused):
        return "duplicate" if _reused(result) else "refused"
    return "unknown_lead" if result.code == "unknown_lead" else "skipped"


def _reused(refused: CrmRefused) -> bool:
    """A redelivered notification whose item differs from the first (a field edited since)."""
    return all(e["code"] == "crm_event_id_reused" for e in refused.errors)


@router.post(
    "/outbound-messages",
    response_class=Response,
    responses=RESPONSES,
    summary="Salesforce Outbound Messages: Lead status, completed Tasks, Opportunities",
    openapi_extra={"requestBody": REQUEST_BODY},
)
async def receive_outbound_message(request: Request) -> Response:
    """Check the organisation, record each notification, answer Salesforce's acknowledgement."""
    settings: Settings = request.app.state.settings
    require_media_type(request, XML_TYPES)
    message = trusted_message(settings, await request.body())
    mapping, now = mapping_of(settings), datetime.now(UTC)
    transactions: Transactions[SqlUnitOfWork] = request.app.state.transactions
    for notification in message.notifications:
        await record(transactions, plan(notification, mapping, now))
    return Response(ACK_BODY, media_type=ACK_CONTENT_TYPE)
