"""The lead alert as a CRM task says it: a one-line subject and a plain-text body that give the
rep the lead intelligence where they work (who, why sales-ready, what they did lately, where
they came from, by when, and the journey link)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote, urljoin

from leadloop_events.lifecycle import LeadIntelligence, ScoreLine, TimelineEntry

# Lines of each list a task shows: enough to act on, short enough to read in the CRM.
TOP_SCORE_LINES = 5
RECENT_ACTIVITIES = 5
SUBJECT_MAX = 255  # Salesforce's Task.Subject length; HubSpot's is longer
_SPACE = re.compile(r"\s+")


def _line(value: object) -> str:
    """A value on one line: no field can add lines or a forged heading to the body."""
    return _SPACE.sub(" ", str(value)).strip()


def who(intelligence: LeadIntelligence) -> str:
    """The lead's name, else its email."""
    p = intelligence.profile
    name = " ".join(n for n in (p.first_name, p.last_name) if n)
    return _line(name or p.email)


def task_subject(intelligence: LeadIntelligence, *, reassigned: bool = False) -> str:
    """`Follow up: Ada Lovelace (ACME Dental) — grade A, SQL` (at most SUBJECT_MAX)."""
    company = intelligence.profile.company
    lead = f"{who(intelligence)} ({_line(company)})" if company else who(intelligence)
    verb = "Follow up (reassigned to you)" if reassigned else "Follow up"
    return f"{verb}: {lead} — grade {intelligence.grade}, SQL"[:SUBJECT_MAX]


def journey_url(dashboard_url: str | None, lead_id: str) -> str | None:
    """The lead's journey, on the dashboard's origin (feedback serves both), or None."""
    if not dashboard_url:
        return None
    return urljoin(dashboard_url, f"/v1/leads/{quote(lead_id, safe='')}/journey")


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _score_line(line: ScoreLine) -> str:
    sign = "+" if line.points >= 0 else "−"
    return f"{sign}{_number(abs(line.points))} {line.kind}: {_line(line.reason)}"


def _activity(entry: TimelineEntry) -> str:
    when = entry.occurred_at.astimezone(UTC) if entry.occurred_at.tzinfo else entry.occurred_at
    parts = [f"{when:%Y-%m-%d %H:%M} UTC", entry.activity_type]
    parts += [p for p in (entry.url, entry.campaign and f"({entry.campaign})") if p]
    return _line(" ".join(parts))


def _facts(intelligence: LeadIntelligence) -> list[str]:
    p = intelligence.profile
    facts = [
        ("Title", p.job_title),
        ("Company", p.company),
        ("Employees", p.company_size),
        ("Industry", p.industry),
        ("Country", p.country),
        ("Email", p.email),
        ("Phone", p.phone),
    ]
    return [f"{name}: {_line(value)}" for name, value in facts if value not in (None, "")]


def task_body(
    intelligence: LeadIntelligence,
    *,
    lead_id: str,
    deadline: datetime | None,
    dashboard_url: str | None = None,
    note: str | None = None,
) -> str:
    """The lead intelligence as plain text: who, why sales-ready (the top score lines), recent
    activity, sources and campaigns, the deadline and the journey link."""
    i = intelligence
    lines = [
        f"{who(i)} is sales-ready: grade {i.grade} (fit {_number(i.fit)}, "
        f"interest {_number(i.interest)})."
    ]
    if note:
        lines += [_line(note)]
    lines += ["", *_facts(i)]
    top = sorted(i.breakdown, key=lambda s: -abs(s.points))[:TOP_SCORE_LINES]
    if top:
        lines += ["", "Why sales-ready:", *[f"- {_score_line(s)}" for s in top]]
    recent = sorted(i.timeline, key=lambda t: t.occurred_at, reverse=True)[:RECENT_ACTIVITIES]
    if recent:
        lines += ["", "Recent activity:", *[f"- {_activity(t)}" for t in recent]]
    origin = [f"Sources: {', '.join(map(_line, i.sources))}"] if i.sources else []
    origin += [f"Campaigns: {', '.join(map(_line, i.campaigns))}"] if i.campaigns else []
    if origin:
        lines += ["", *origin]
    if deadline is not None:
        due = deadline.astimezone(UTC) if deadline.tzinfo else deadline.replace(tzinfo=UTC)
        lines += ["", f"First touch due by {due:%Y-%m-%d %H:%M} UTC."]
    link = journey_url(dashboard_url, lead_id)
    if link:
        lines += [f"Journey: {link}"]
    lines += [f"leadloop lead id: {lead_id}"]
    return "\n".join(lines)
