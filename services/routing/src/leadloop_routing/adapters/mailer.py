"""The lead alert email to the rep: who, why now, what they did, by when."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import aiosmtplib


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


def build_alert_email(
    *,
    to: str,
    rep_name: str,
    lead: dict[str, Any],
    deadline: datetime,
    reason: str,
    team: str,
    dashboard_url: str | None = None,
) -> EmailMessage:
    """A short plain-text and HTML message: every value is one line in the text part and
    escaped in the HTML part."""
    rep_name, reason, team = _clean(rep_name), _clean(reason), _clean(team)
    dashboard_url = _clean(dashboard_url) if dashboard_url else None
    profile = _mapping(lead.get("profile"))
    who = _who(profile)
    company = _clean(profile.get("company") or "unknown company")
    grade = _clean(lead.get("grade") or "?")
    # A naive deadline is taken as UTC; an aware one is shown in UTC, as the label says.
    due_utc = deadline.astimezone(UTC) if deadline.tzinfo else deadline.replace(tzinfo=UTC)
    due = f"{due_utc:%Y-%m-%d %H:%M} UTC"
    facts = [
        ("Name", who),
        ("Title", profile.get("job_title")),
        ("Company", company),
        ("Employees", profile.get("company_size")),
        ("Country", profile.get("country")),
        ("Email", profile.get("email")),
        ("Phone", profile.get("phone")),
    ]
    facts = [(k, _clean(v)) for k, v in facts if v not in (None, "")]
    score = (
        f"fit {_number(lead.get('fit'))}, interest {_number(lead.get('interest'))}, grade {grade}"
    )
    # Scoring sends the timeline newest first; the rep needs the last few.
    timeline = [line for line in map(_activity, _items(lead.get("timeline"))) if line][:5]
    origin = ", ".join([*_strings(lead.get("sources")), *_strings(lead.get("campaigns"))])
    message = EmailMessage()
    message["To"] = to
    # Set once here, so that every retry of the stored message is recognisably the same email.
    message["Message-ID"] = make_msgid(domain="leadloop.invalid")
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Subject"] = _one_line(
        f"New SQL: {who}, {company} (grade {grade}) — first touch by {due}"
    )
    lines = [f"Hi {rep_name},", "", f"{who} at {company} is sales-ready and yours ({team}).", ""]
    lines += [f"{k}: {v}" for k, v in facts]
    lines += ["", f"Why now: {reason}", f"Score: {score}"]
    if timeline:
        lines += ["", "Recent activity:", *[f"  - {t}" for t in timeline]]
    if origin:
        lines += ["", f"Came from: {origin}"]
    lines += ["", f"Please make the first touch by {due}."]
    if dashboard_url:
        lines += [f"Details: {dashboard_url}"]
    message.set_content("\n".join(lines))
    e = html.escape
    rows = "".join(f"<tr><th align='left'>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in facts)
    items = "".join(f"<li>{e(t)}</li>" for t in timeline)
    message.add_alternative(
        f"<p>Hi {e(rep_name)},</p><p><b>{e(who)}</b> at <b>{e(company)}</b> is sales-ready "
        f"and yours ({e(team)}).</p><table>{rows}</table>"
        f"<p><b>Why now:</b> {e(reason)}<br><b>Score:</b> {e(score)}</p>"
        + (f"<p>Recent activity:</p><ul>{items}</ul>" if items else "")
        + (f"<p>Came from: {e(origin)}</p>" if origin else "")
        + f"<p><b>First touch by {e(due)}.</b></p>"
        + (f'<p><a href="{e(dashboard_url)}">Details</a></p>' if dashboard_url else ""),
        subtype="html",
    )
    return message


async def send_email(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send over SMTP; raises on failure (the caller retries)."""
    if "From" not in message:
        message["From"] = settings.sender
    await aiosmtplib.send(
        message,
        hostname=settings.host,
        port=settings.port,
        start_tls=settings.starttls,
        use_tls=settings.use_tls,
        username=settings.username,
        password=settings.password,
        timeout=settings.timeout_s,
    )
