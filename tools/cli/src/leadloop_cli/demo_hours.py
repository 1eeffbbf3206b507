"""Why the demo may show no SLA breach: the agreement's teams count only working minutes, so at
night or on a weekend their SLA clocks stand still until the team's next working morning."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from leadloop_contract.agreement import EXAMPLE_FILE, Agreement, load_agreement
from leadloop_contract.agreement.routing import Team


def next_opening(team: Team, now: datetime) -> datetime | None:
    """When `team` next works, in its own time zone; None when it works right now."""
    local = now.astimezone(ZoneInfo(team.timezone))
    start, _, end = team.hours.partition("-")
    for days in range(8):
        day = (local + timedelta(days=days)).date()
        if day.weekday() not in team.workdays:
            continue
        opens = datetime.combine(day, datetime.strptime(start, "%H:%M").time(), local.tzinfo)
        closes = datetime.combine(day, datetime.strptime(end, "%H:%M").time(), local.tzinfo)
        if days == 0 and opens <= local < closes:
            return None
        if local < opens:
            return opens
    return None


def paused_clocks(agreement: Agreement, now: datetime) -> list[str]:
    """One line per team off work at `now`: when its SLA clock starts again."""
    lines = []
    for team in agreement.routing.teams:
        opening = next_opening(team, now)
        if opening is not None:
            when = opening.strftime("%a %H:%M")
            lines.append(f"{team.name} (off work until {when} {team.timezone})")
    return lines


def explain_breaches(now: datetime, file: str | None = None) -> str | None:
    """What the demo prints at start when some team's SLA clock stands still, else None."""
    path = Path(file or os.environ.get("LEADLOOP_AGREEMENT_FILE") or EXAMPLE_FILE)
    paused = paused_clocks(load_agreement(path.read_text(encoding="utf-8")), now)
    if not paused:
        return None
    return (
        "SLA clocks count working minutes only, so no breach can appear for these teams yet: "
        + ", ".join(paused)
    )
