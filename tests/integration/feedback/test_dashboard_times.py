"""The dashboard's times (#14.16) on the real broker and Postgres: every time the page shows is
a machine-readable `<time datetime>` labelled UTC, for the dashboard's own script (served by
feedback, within the page's Content-Security-Policy) to show in the viewer's zone; ?tz= forces
a zone and takes only IANA names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_events.handoff import LeadAssigned
from leadloop_events.lifecycle import LeadIntelligence
from leadloop_platform.settings import CommonSettings

from ...waiting import wait_for
from ..messaging.support import produce
from .support import PROFILE

HANDED = datetime(2026, 1, 5, 14, 5, tzinfo=UTC)
LEAD = "lead-times-1"


async def hand_off(settings: CommonSettings) -> None:
    """One hand-off at a known time, its first touch due half an hour later."""
    assigned = LeadAssigned(
        lead_id=LEAD,
        assignment_id="a-times-1",
        owner_rep_id="rep-bruno",
        team="dach",
        business="new",
        sla_deadline=HANDED + timedelta(minutes=30),
        agreement_version="2026-11",
        intelligence=LeadIntelligence(profile=PROFILE, fit=80, interest=40, grade="A"),
        assigned_at=HANDED,
    )
    event = new_event(assigned, subject=LEAD, time=HANDED)
    topic = settings.topic(topics.HANDOFF)
    await produce(settings.kafka_bootstrap_servers, topic, [(LEAD.encode(), event.to_bytes())])


def outside_times(html: str) -> str:
    """The page without its `<time>` elements and its scripts."""
    html = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
    return re.sub(r"<time\b[^>]*>.*?</time>", "", html, flags=re.S)


async def test_every_time_on_the_dashboard_is_machine_readable_and_labelled_utc(
    feedback: httpx.AsyncClient, settings: CommonSettings
) -> None:
    await hand_off(settings)

    async def shown() -> bool:
        return LEAD in (await feedback.get("/dashboard/panels")).json()["panels"]["handoffs"]

    await wait_for(shown, timeout_s=30, what="the hand-off on the dashboard")
    page = await feedback.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    # the hand-off, its SLA deadline and the "updated" stamp, each a <time> labelled UTC
    assert (
        '<time datetime="2026-01-05T14:05:00Z" data-style="datetime">05 Jan 14:05 UTC</time>'
        in html
    )
    assert (
        'due <time datetime="2026-01-05T14:35:00Z" data-style="datetime">2026-01-05 14:35 UTC'
        in html
    )
    stamp = re.search(r'<time id="updated" datetime="([^"]+)" data-style="time">([^<]+)<', html)
    assert stamp, "no machine-readable updated stamp"
    at = datetime.fromisoformat(stamp[1])
    assert abs(at - datetime.now(UTC)) < timedelta(minutes=5)
    assert stamp[2] == at.strftime("%H:%M:%S UTC")
    # no time anywhere else: every "UTC" on the page is inside a <time>
    assert "UTC" not in outside_times(html)
    for tag in re.findall(r"<time\b[^>]*>", html):
        assert re.search(r'datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"', tag), tag

    # the script that localises them: first-party, allowed by the page's policy
    src = re.search(r'<script src="(/dashboard/times\.js\?v=\w+)"></script>', html)
    assert src, "the page does not load its time script"
    policy = page.headers["content-security-policy"]
    assert "script-src 'nonce-" in policy and "'self'" in policy.split("script-src")[1]
    assert "http" not in policy
    anonymous = httpx.AsyncClient(transport=feedback._transport, base_url="http://feedback")
    async with anonymous:
        script = await anonymous.get(src[1])
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "Intl.DateTimeFormat" in script.text and "leadloop:refreshed" in script.text
    assert 'dispatchEvent(new Event("leadloop:refreshed"))' in html  # after each refresh

    # the refresh carries the instant too
    body = (await feedback.get("/dashboard/panels")).json()
    assert datetime.fromisoformat(body["updated_at"]).strftime("%H:%M:%S UTC") == body["updated"]


async def test_a_forced_zone_is_passed_to_the_script_and_kept_by_the_links(
    feedback: httpx.AsyncClient,
) -> None:
    page = await feedback.get("/dashboard", params={"tz": "Europe/Oslo"})
    assert page.status_code == 200
    assert re.search(r'<script src="/dashboard/times\.js\?v=\w+" data-tz="Europe/Oslo">', page.text)
    assert 'href="?days=7&amp;tz=Europe/Oslo"' in page.text
    plain = await feedback.get("/dashboard")
    assert "data-tz" not in plain.text and 'href="?days=7"' in plain.text

    for wrong in ("Europe/Olso", "<script>", "../../etc/passwd"):
        refused = await feedback.get("/dashboard", params={"tz": wrong})
        assert refused.status_code == 422, (wrong, refused.text)
        assert "IANA time zone" in refused.text
