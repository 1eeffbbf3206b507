"""The Block Kit messages leadloop posts, built with slack_sdk's models (which check Slack's
limits) and returned as JSON-ready dicts: the lead alert and the SLA warning.

Text that came from a person or a form (names, companies, titles) is escaped per Slack's
formatting rules (https://docs.slack.dev/messaging/formatting-message-text#escaping: `&`, `<`
and `>` become `&amp;`, `&lt;`, `&gt;`) wherever it is read as mrkdwn, the notification
`text` included. Times are Slack dates (`<!date^unix^{tokens}|fallback>`, same page), shown
in each reader's own time zone, with a UTC fallback.

Rejecting needs a reason. Of the ways Slack documents, the simplest is a static select menu
(https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element#static_select):
choosing one of its options sends one block_actions payload carrying the option, so the
"Reject (reason)" control is a select whose options are the agreement's reason codes
(`leadloop_contract.agreement.rejection_reasons`), no modal and no second round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)

ACCEPT_ACTION = "leadloop_accept"
REJECT_ACTION = "leadloop_reject"
ACTIONS_BLOCK_ID = "leadloop_actions"
VALUE_SEPARATOR = "|"
MAX_WHY = 4
MAX_ACTIVITY = 5
SECTION_TEXT_MAX = 3000
HEADER_MAX = 150
OPTION_LABEL_MAX = 75


@dataclass(frozen=True)
class SlackMessage:
    """A message to post: its notification text (escaped mrkdwn) and its blocks."""

    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class LeadCard:
    """What the lead alert shows: who, why sales-ready, what they did, the deadline."""

    lead_id: str
    assignment_id: str
    name: str
    email: str
    grade: str
    fit: float
    interest: float
    sla_deadline: datetime
    journey_url: str
    title: str | None = None
    company: str | None = None
    team: str | None = None
    why: Sequence[tuple[float, str]] = field(default=())
    """Score lines as (points, reason in words); the strongest are shown."""
    activity: Sequence[tuple[str, datetime]] = field(default=())
    """Timeline entries as (activity type, when), most recent first."""


@dataclass(frozen=True)
class SlaWarning:
    """An SLA warning: to the rep (their deadline is near or missed) or to their manager."""

    lead_id: str
    name: str
    deadline: datetime
    journey_url: str
    company: str | None = None
    rep_name: str | None = None
    to_manager: bool = False
    breached: bool = False


def escape(text: str) -> str:
    """`text` safe inside mrkdwn: Slack's three control characters as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(moment: datetime) -> str:
    """A Slack date token: the reader's local date and time, with a UTC fallback."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _link(url: str, label: str) -> str:
    if not url.startswith(("https://", "http://")) or any(c in url for c in "<>| "):
        raise ValueError(f"not a URL Slack can link: {url!r}")
    return f"<{url.replace('&', '&amp;')}|{escape(label)}>"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _who(name: str, title: str | None, company: str | None) -> str:
    role = " at ".join(p for p in (title, company) if p)
    return f"{name}, {role}" if role else name


def action_value(lead_id: str, assignment_id: str, reason: str | None = None) -> str:
    """The value a button or option carries back: lead, assignment (and reason) joined."""
    for part in (lead_id, assignment_id):
        if not part or VALUE_SEPARATOR in part:
            raise ValueError(f"an id must be non-empty and without {VALUE_SEPARATOR!r}: {part!r}")
    parts = [lead_id, assignment_id] + ([reason] if reason is not None else [])
    return VALUE_SEPARATOR.join(parts)


def _label(code: str) -> str:
    return _clip(code.replace("_", " ").capitalize(), OPTION_LABEL_MAX)


def _actions(card: LeadCard, reasons: Sequence[str]) -> ActionsBlock:
    if not reasons:
        raise ValueError("rejecting needs at least one reason code")
    accept = ButtonElement(
        text=PlainTextObject(text="Accept"),
        action_id=ACCEPT_ACTION,
        value=action_value(card.lead_id, card.assignment_id),
        style="primary",
    )
    reject = StaticSelectElement(
        placeholder=PlainTextObject(text="Reject (reason)…"),
        action_id=REJECT_ACTION,
        options=[
            Option(
                value=action_value(card.lead_id, card.assignment_id, code),
                text=PlainTextObject(text=_label(code)),
            )
            for code in reasons
        ],
    )
    return ActionsBlock(block_id=ACTIONS_BLOCK_ID, elements=[accept, reject])


def _why(card: LeadCard) -> str:
    strongest = sorted(card.why, key=lambda line: -line[0])[:MAX_WHY]
    lines = [f"• {points:+g} {escape(reason)}" for points, reason in strongest]
    head = (
        f"*Why sales-ready:* grade *{escape(card.grade)}*,"
        f" fit {card.fit:g}, interest {card.interest:g}"
    )
    return _clip("\n".join([head, *lines]), SECTION_TEXT_MAX)


def _activity(card: LeadCard) -> str | None:
    if not card.activity:
        return None
    lines = [
        f"• {escape(_label(kind))}, {slack_date(at)}" for kind, at in card.activity[:MAX_ACTIVITY]
    ]
    return _clip("\n".join(["*Recent activity:*", *lines]), SECTION_TEXT_MAX)


def _dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    # to_dict() runs slack_sdk's validators (lengths, counts): a bad message fails here, not
    # at Slack with invalid_blocks.
    return [block.to_dict() for block in blocks]


def lead_alert_blocks(card: LeadCard, reasons: Sequence[str]) -> SlackMessage:
    """The lead alert: who, why sales-ready, recent activity, the deadline, the journey link,
    Accept and Reject (reason) controls; `reasons` are the agreement's rejection reason codes."""
    who = _who(card.name, card.title, card.company)
    deadline = slack_date(card.sla_deadline)
    contact = f"*Who:* {escape(who)}\n{escape(card.email)}" + (
        f" · team {escape(card.team)}" if card.team else ""
    )
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=_clip(f"Sales-ready lead: {who}", HEADER_MAX))),
        SectionBlock(text=MarkdownTextObject(text=_clip(contact, SECTION_TEXT_MAX))),
        SectionBlock(text=MarkdownTextObject(text=_why(card))),
    ]
    activity = _activity(card)
    if activity is not None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=activity)))
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Follow up by* {deadline}\n{_link(card.journey_url, 'Open the journey')}"
            )
        )
    )
    blocks.append(_actions(card, reasons))
    text = f"Sales-ready lead: {escape(who)} (grade {escape(card.grade)}); follow up by {deadline}"
    return SlackMessage(text=text, blocks=_dicts(blocks))


def sla_warning_blocks(warning: SlaWarning) -> SlackMessage:
    """An SLA warning: to the rep that their deadline is near or missed, or to the manager
    that the rep's is."""
    who = escape(f"{warning.name} ({warning.company})" if warning.company else warning.name)
    when = slack_date(warning.deadline)
    due = f"was due {when}" if warning.breached else f"is due {when}"
    if warning.to_manager:
        rep = escape(warning.rep_name or "The owner")
        line = f"{rep} has not followed up with *{who}*; the first touch {due}."
    else:
        line = f"Your first touch with *{who}* {due}."
    title = "SLA missed" if warning.breached else "SLA reminder"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=_clip(f"*{title}:* {line}", SECTION_TEXT_MAX))),
        ContextBlock(
            elements=[MarkdownTextObject(text=_link(warning.journey_url, "Open the journey"))]
        ),
    ]
    return SlackMessage(text=f"{title}: {line}", blocks=_dicts(blocks))
