"""The dashboard's times are machine-readable (#14.16): each a `<time datetime>` in UTC whose
text, what a browser without script shows, is labelled UTC; its script shows them in the
viewer's zone (tests/e2e/test_dashboard_times.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from leadloop_feedback.domain.journey import describe
from leadloop_feedback.entrypoints import panels, times

HANDED = datetime(2026, 1, 5, 15, 5, tzinfo=timezone(timedelta(hours=1)))  # 14:05 UTC


LINE = describe(
    "leadloop.lead.assigned.v1",
    {
        "owner_rep_id": "Bruno Berger",
        "team": "dach",
        "business": "new",
        "sla_deadline": "2026-01-05T14:35:00+00:00",
    },
)


def outside_times(html: str) -> str:
    """The HTML without its `<time>` elements."""
    return re.sub(r"<time [^>]*>.*?</time>", "", html)


def test_every_time_in_the_hand_off_feed_is_a_time_element_in_utc() -> None:
    row = {"at": HANDED, "lead_id": "lead-1", "company": "ACME Dental", "summary": LINE}
    html = panels._render("feed", title="Latest hand-offs", rows=[row], empty="")
    handed = '<time datetime="2026-01-05T14:05:00Z" data-style="datetime">05 Jan 14:05 UTC</time>'
    assert handed in html
    # the SLA deadline the journey line names
    assert (
        'due <time datetime="2026-01-05T14:35:00Z" data-style="datetime">2026-01-05 14:35 UTC'
        "</time>." in html
    )
    assert "UTC" not in outside_times(html)


def test_a_journey_line_stays_escaped_around_its_times() -> None:
    html = times.timed("<b>Acme</b> due 2026-01-05 14:35 UTC, not 2026-13-45 99:99 UTC")
    assert html.startswith("&lt;b&gt;Acme&lt;/b&gt; due <time datetime=")
    assert html.endswith("not 2026-13-45 99:99 UTC")  # no such instant: left as written


def test_a_forced_zone_is_an_iana_name() -> None:
    assert times.known_zone("Europe/Oslo") == "Europe/Oslo"
    assert times.known_zone(None) is None
    for wrong in ("Europe/Olso", "CET+1", "../../etc/passwd", ""):
        with pytest.raises(ValueError, match="IANA"):
            times.known_zone(wrong)
