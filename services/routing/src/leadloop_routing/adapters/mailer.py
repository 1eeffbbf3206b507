"""The lead alert email to the rep: who, why now, what they did, by when."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    starttls: bool = True
    use_tls: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = "leadloop <leads@leadloop.invalid>"
    timeout_s: float = 10.0


def _who(profile: dict[str, Any]) -> str:
    name = " ".join(p for p in (profile.get("first_name"), profile.get("last_name")) if p)
    return name or profile.get("email") or "a new lead"


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
    """A short plain-text and HTML message; every value is escaped in the HTML part."""
    profile = lead.get("profile") or {}
    who = _who(profile)
    company = profile.get("company") or "unknown company"
    grade = lead.get("grade", "?")
    due = f"{deadline:%Y-%m-%d %H:%M} UTC"
    facts = [
        ("Name", who),
        ("Title", profile.get("job_title")),
        ("Company", company),
        ("Employees", profile.get("company_size")),
        ("Country", profile.get("country")),
        ("Email", profile.get("email")),
        ("Phone", profile.get("phone")),
    ]
    facts = [(k, v) for k, v in facts if v not in (None, "")]
    score = f"fit {lead.get('fit', '?')}, interest {lead.get('interest', '?')}, grade {grade}"
    timeline = [
        f"{t.get('occurred_at', '')[:16]} {t.get('activity_type', '')} {t.get('url') or ''}".strip()
        for t in (lead.get("timeline") or [])[:5]
    ]
    origin = ", ".join([*(lead.get("sources") or []), *(lead.get("campaigns") or [])])
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = f"New SQL: {who}, {company} (grade {grade}) — first touch by {due}"
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
        + f"<p><b>First touch by {e(due)}.</b></p>",
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
