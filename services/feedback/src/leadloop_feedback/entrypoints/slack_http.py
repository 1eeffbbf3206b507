"""Slack in: a rep's Accept or Reject (reason) click on a lead alert becomes a sales status
update, recorded by the same handler as the CRM's (`handlers.record_status_updates`).

Slack posts each click to the app's interactivity URL, form-encoded and signed (v0); it waits
3 seconds for a 200 (https://docs.slack.dev/interactivity/handling-user-interaction#acknowledgment_response).
The click's crm_event_id is derived from the click itself (team, channel, message, user,
action_ts), so a replayed request is the duplicate the handler already answers, never a second
status. A click the loop refuses (a reason the agreement no longer has, a move the lifecycle
does not allow) is still a 200: Slack would show the user an error they cannot act on, so the
answer, and the message posted to the click's response_url, say why in words.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from leadloop_connectors.http import ConnectorError
from leadloop_connectors.slack import SignatureRefused, SlackClick, parse_action, verify_request
from leadloop_connectors.slack.client import SlackClient, respond
from leadloop_feedback import handlers, identities
from leadloop_feedback.adapters.uow import SqlUnitOfWork
from leadloop_feedback.config import Settings
from leadloop_feedback.domain.crm import CrmRefused, Outcome, RecordStatusUpdates, StatusUpdate
from leadloop_feedback.domain.identity import Ref
from leadloop_platform.http.openapi import FORM
from leadloop_platform.http.problems import Problem, require_media_type
from leadloop_platform.outbound import OutboundError, OutboundPolicy, RefusedTarget
from leadloop_runtime import Transactions

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/integrations/slack", tags=["integrations"])
RESOLVE_TIMEOUT_S = 1.5
PAYLOAD_EXAMPLE = (
    '{"type":"block_actions","user":{"id":"U0ALICE","team_id":"T0ACME"},'
    '"team":{"id":"T0ACME"},"container":{"type":"message","message_ts":"1730714700.000100",'
    '"channel_id":"D0ALICE"},"channel":{"id":"D0ALICE"},'
    '"response_url":"https://hooks.slack.com/actions/T0ACME/1/abc",'
    '"actions":[{"type":"button","action_id":"leadloop_accept",'
    '"value":"3f2b8c1e-5d4a-4e7b-9c6f-0a1b2c3d4e5f|9b1d2c3e-4f5a-4b6c-8d7e-0f1a2b3c4d5e",'
    '"action_ts":"1730714712.345678"}]}'
)
PROBLEMS: dict[int | str, dict[str, Any]] = {
    s: {"description": d, "content": {"application/problem+json": {}}}
    for s, d in [
        (400, "not a block_actions payload of a leadloop alert"),
        (401, "no valid X-Slack-Signature, or a request more than 5 minutes old"),
        (415, "a signed body that is not application/x-www-form-urlencoded"),
    ]
}
REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        FORM: {
            "schema": {
                "type": "object",
                "properties": {"payload": {"type": "string", "description": "the click (JSON)"}},
                "required": ["payload"],
            },
            "example": {"payload": PAYLOAD_EXAMPLE},
        }
    },
}
ANSWER: dict[str, Any] = {
    "description": "the click is recorded, repeats one recorded, or is refused (`text` says why)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            },
            "example": {"text": "Accepted: the lead is yours."},
        }
    },
}


def crm_event_id(click: SlackClick) -> str:
    """The click's own id: the same click sent again (a replay, Slack's retry) names it too."""
    parts = (click.team_id, click.channel_id, click.message_ts, click.user_id, click.action_ts)
    return "slack:" + ":".join(part or "-" for part in parts)


def status_update(click: SlackClick, rep_id: str | None = None) -> StatusUpdate:
    """The sales status the click sets, dated by the click, by `rep_id` when known."""
    try:
        changed_at = datetime.fromtimestamp(float(click.action_ts), UTC)
    except (OverflowError, ValueError) as exc:
        raise Problem(
            400, "actions[0].action_ts is not a Slack timestamp", kind="bad-click"
        ) from exc
    try:
        return StatusUpdate(
            crm_event_id=crm_event_id(click),
            lead_id=click.lead_id,
            status=click.status,
            reason_code=click.reason,
            rep_id=rep_id,
            note=f"set in Slack by user {click.user_id} of team {click.team_id}",
            changed_at=changed_at,
        )
    except ValidationError as exc:
        raise Problem(400, f"the click is not a status update: {exc}", kind="bad-click") from exc


def verified_click(settings: Settings, request: Request, body: bytes) -> SlackClick:
    """The click, once its signature proves it comes from Slack and is fresh."""
    if settings.slack_signing_secret is None:
        raise Problem(
            503,
            "Slack clicks are not configured: set LEADLOOP_SLACK_SIGNING_SECRET",
            kind="not-configured",
        )
    secret = settings.slack_signing_secret.get_secret_value()
    try:
        verify_request(secret, dict(request.headers), body, time.time())
    except SignatureRefused as exc:
        raise Problem(401, str(exc), kind="invalid-signature") from exc
    require_media_type(request, (FORM,))
    try:
        return parse_action(body)
    except ValueError as exc:
        raise Problem(400, f"not a leadloop click: {exc}", kind="bad-click") from exc


def confirmation(click: SlackClick, outcome: Outcome) -> str:
    """What the rep reads once the click is recorded (or was, the first time)."""
    if click.action == "accept":
        done = "Accepted: the lead is yours."
    else:
        done = f"Rejected ({click.reason})."
    repeat = all(a["duplicate"] for a in outcome.accepted)
    return f"{done} (already recorded)" if repeat else done


def refusal(refused: CrmRefused) -> str:
    """Why nothing was recorded, in the handler's own words."""
    return "Not recorded: " + "; ".join(e["message"] for e in refused.errors)


@router.post(
    "/interactions",
    responses={200: ANSWER, **PROBLEMS},
    summary="Slack's Accept and Reject (reason) clicks on a lead alert (signature v0)",
    openapi_extra={"requestBody": REQUEST_BODY},
)
async def receive_slack_interaction(request: Request, tasks: BackgroundTasks) -> JSONResponse:
    """Verify Slack's signature, record the click's status in one transaction, answer 200."""
    settings: Settings = request.app.state.settings
    body = await request.body()
    click = verified_click(settings, request, body)
    transactions: Transactions[SqlUnitOfWork] = request.app.state.transactions
    update = status_update(click, await clicking_rep(settings, transactions, click))
    try:
        outcome = await transactions.run(
            handlers.record_status_updates, RecordStatusUpdates([update])
        )
    except CrmRefused as refused:
        text, recorded = refusal(refused), False
    else:
        text, recorded = confirmation(click, outcome), True
    if click.response_url is not None:
        tasks.add_task(tell_slack, settings, click, reply(body, click, text, recorded))
    return JSONResponse({"text": text})


async def clicking_rep(
    settings: Settings, transactions: Transactions[SqlUnitOfWork], click: SlackClick
) -> str | None:
    """leadloop's id of the rep who clicked: the Slack user's email (users.info, scope
    users:read.email) as a hand-off named it. None without a bot token, when Slack does not
    answer within RESOLVE_TIMEOUT_S (Slack waits 3 s for the whole answer) or nothing matches:
    the status is recorded without a rep, as a CRM's may be."""
    if settings.slack_bot_token is None:
        return None
    policy = OutboundPolicy(timeout_s=RESOLVE_TIMEOUT_S)
    token = settings.slack_bot_token.get_secret_value()
    try:
        async with SlackClient(settings.slack_api_url, token, policy=policy) as slack:
            email = await slack.user_email(click.user_id)
    except ConnectorError as exc:
        log.warning("slack click: the clicking user's email is unknown: %s", exc)
        return None
    if email is None:
        return None
    return await transactions.run(identities.resolve_rep, Ref.email(email, "rep_email"))


def reply(body: bytes, click: SlackClick, text: str, recorded: bool) -> dict[str, Any]:
    """What the click's response_url gets: a recorded decision replaces the alert's controls
    (the rest of the alert stays), a refusal is shown only to the one who clicked."""
    if not recorded:
        return {"replace_original": False, "response_type": "ephemeral", "text": text}
    payload = json.loads(parse_qs(body.decode())["payload"][0])  # parsed once already
    found = payload.get("message")
    message: dict[str, Any] = found if isinstance(found, dict) else {}
    listed = message.get("blocks")
    blocks: list[Any] = listed if isinstance(listed, list) else []
    kept = [b for b in blocks if isinstance(b, dict) and b.get("type") != "actions"]
    said = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"{text} <@{click.user_id}>"}],
    }
    return {
        "replace_original": True,
        "text": message.get("text") or text,
        "blocks": [*kept, said],
    }


async def tell_slack(settings: Settings, click: SlackClick, message: dict[str, Any]) -> None:
    """After the answer, best effort: the status is recorded either way."""
    assert click.response_url is not None
    try:
        await respond(click.response_url, message, api_url=settings.slack_api_url)
    except (ConnectorError, OutboundError, RefusedTarget) as exc:
        log.warning("slack response_url not updated", extra={"error": str(exc)})
