"""The lead alert email to the rep: who, why now, what they did, by when."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import aiosmtplib

from leadloop_routing.adapters.mime import alternative_email
from leadloop_routing.adapters.smtp_wire import helo, wire


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: STARTTLS on 587 by default, implicit TLS with use_tls."""

    host: str
    port: int = 587
    starttls: bool = True
    use_tls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "leadloop <leads@leadloop.invalid>"
    timeout_s: float = 10.0


# C0 controls but tab, DEL, C1 controls and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def _clean(value: Any) -> str:
    """A value as one line: no field can start a new line (a fake `Bcc:`) in the body."""
    return _CONTROL.sub(" ", str(value))


def _who(profile: Mapping[str, Any]) -> str:
    name = " ".join(str(p) for p in (profile.get("first_name"), profile.get("last_name")) if p)
    return _clean(name or str(profile.get("email") or "") or "a new lead")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _strings(value: Any) -> list[str]:
    return [_clean(v) for v in _items(value) if v]


def _number(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return "?" if value in (None, "") else _clean(value)


def _one_line(text: str) -> str:
    """Header values cannot hold line breaks; a name with one must not stop the alert."""
    return " ".join(text.split())


def _activity(entry: Any) -> str:
    """One timeline line: when (to the minute), what, where."""
    entry = _mapping(entry)
    when = str(entry.get("occurred_at") or "")[:16].replace("T", " ")
    parts = (when, entry.get("activity_type"), entry.get("url"))
    return _clean(" ".join(str(p) for p in parts if p))


@dataclass(frozen=True)
class _Alert:
    """What the alert says, each value cleaned to one line."""

    rep_name: str
    reason: str
    team: str
    dashboard_url: str | None
    who: str
    company: str
    grade: str
    due: str
    facts: list[tuple[str, str]]
    score: str
    timeline: list[str]
    origin: str


def _alert(
    lead: dict[str, Any],
    deadline: datetime,
    rep_name: str,
    reason: str,
    team: str,
    dashboard_url: str | None,
) -> _Alert:
    profile = _mapping(lead.get("profile"))
    grade = _clean(lead.get("grade") or "?")
    # A naive deadline is taken as UTC; an aware one is shown in UTC, as the label says.
    due_utc = deadline.astimezone(UTC) if deadline.tzinfo else deadline.replace(tzinfo=UTC)
    who, company = _who(profile), _clean(profile.get("company") or "unknown company")
    facts = [
        ("Name", who),
        ("Title", profile.get("job_title")),
        ("Company", company),
        ("Employees", profile.get("company_size")),
        ("Country", profile.get("country")),
        ("Email", profile.get("email")),
        ("Phone", profile.get("phone")),
    ]
    return _Alert(
        rep_name=_clean(rep_name),
        reason=_clean(reason),
        team=_clean(team),
        dashboard_url=_clean(dashboard_url) if dashboard_url else None,
        who=who,
        company=company,
        grade=grade,
        due=f"{due_utc:%Y-%m-%d %H:%M} UTC",
        facts=[(k, _clean(v)) for k, v in facts if v not in (None, "")],
        score=(
            f"fit {_number(lead.get('fit'))}, interest {_number(lead.get('interest'))}, "
            f"grade {grade}"
        ),
        # Scoring sends the timeline newest first; the rep needs the last few.
        timeline=[line for line in map(_activity, _items(lead.get("timeline"))) if line][:5],
        origin=", ".join([*_strings(lead.get("sources")), *_strings(lead.get("campaigns"))]),
    )


def _text(a: _Alert) -> str:
    lines = [
        f"Hi {a.rep_name},",
        "",
        f"{a.who} at {a.company} is sales-ready and yours ({a.team}).",
        "",
    ]
    lines += [f"{k}: {v}" for k, v in a.facts]
    lines += ["", f"Why now: {a.reason}", f"Score: {a.score}"]
    if a.timeline:
        lines += ["", "Recent activity:", *[f"  - {t}" for t in a.timeline]]
    if a.origin:
        lines += ["", f"Came from: {a.origin}"]
    lines += ["", f"Please make the first touch by {a.due}."]
    if a.dashboard_url:
        lines += [f"Details: {a.dashboard_url}"]
    return "\n".join(lines)


def _html(a: _Alert) -> str:
    e = html.escape
    rows = "".join(f"<tr><th align='left'>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in a.facts)
    items = "".join(f"<li>{e(t)}</li>" for t in a.timeline)
    return (
        f"<p>Hi {e(a.rep_name)},</p><p><b>{e(a.who)}</b> at <b>{e(a.company)}</b> is sales-ready "
        f"and yours ({e(a.team)}).</p><table>{rows}</table>"
        f"<p><b>Why now:</b> {e(a.reason)}<br><b>Score:</b> {e(a.score)}</p>"
        + (f"<p>Recent activity:</p><ul>{items}</ul>" if items else "")
        + (f"<p>Came from: {e(a.origin)}</p>" if a.origin else "")
        + f"<p><b>First touch by {e(a.due)}.</b></p>"
        + (f'<p><a href="{e(a.dashboard_url)}">Details</a></p>' if a.dashboard_url else "")
    )


@dataclass(frozen=True)
class AlertParts:
    """What the alert email says: its subject, its plain-text part and its HTML part."""

    subject: str
    text: str
    html: str


def alert_parts(
    *,
    rep_name: str,
    lead: dict[str, Any],
    deadline: datetime,
    reason: str,
    team: str,
    dashboard_url: str | None = None,
) -> AlertParts:
    """The alert's subject and parts: every value is one line in the text part and escaped in
    the HTML part."""
    alert = _alert(lead, deadline, rep_name, reason, team, dashboard_url)
    subject = (
        f"New SQL: {alert.who}, {alert.company} (grade {alert.grade}) — first touch by {alert.due}"
    )
    return AlertParts(_one_line(subject), _text(alert), _html(alert))


def alert_email_bytes(to: str, parts: AlertParts) -> bytes:
    """The alert email to `to`, as stored and sent: `parts`' subject, plain-text and HTML parts."""
    return alternative_email(
        to=to,
        # Set once here, so that every retry of the stored message is recognisably the same.
        message_id=make_msgid(domain="leadloop.invalid"),
        date=format_datetime(datetime.now(UTC)),
        subject=parts.subject,
        text=parts.text,
        html=parts.html,
    )


def build_alert_email(*, to: str, **alert: Any) -> EmailMessage:
    """The alert email to `to` (the alert as alert_parts takes it) as the sender reads it back."""
    return message_from_bytes(alert_email_bytes(to, alert_parts(**alert)), policy=policy.default)


def _client(settings: SmtpSettings) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        start_tls=settings.starttls,
        use_tls=settings.use_tls,
        username=settings.username,
        password=settings.password,
        timeout=settings.timeout_s,
    )


def _with_sender(message: EmailMessage, settings: SmtpSettings) -> EmailMessage:
    if "From" not in message:
        message["From"] = settings.sender
    return message


async def send_email(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send over SMTP; raises on failure (the caller retries)."""
    async with _client(settings) as client:
        await client.send_message(_with_sender(message, settings))


async def send_stored_email(settings: SmtpSettings, stored: bytes) -> None:
    """Send a stored email as stored, with From added (what `send_email` of the parsed
    message sends, without writing it again); raises on failure (the caller retries)."""
    ready = wire(stored, settings.sender)
    async with _client(settings) as client:
        await helo(client)
        eight_bit = client.supports_extension("8BITMIME")
        if ready is None or not (eight_bit or stored.isascii()):
            parsed = message_from_bytes(stored, policy=policy.default)
            await client.send_message(_with_sender(parsed, settings))
            return
        options = ["BODY=8BITMIME"] if eight_bit else []
        await client.sendmail(ready.sender, ready.recipients, ready.data, mail_options=options)
