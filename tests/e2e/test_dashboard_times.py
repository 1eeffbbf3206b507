"""The dashboard shows its times in the viewer's time zone (#14.16), in a real headless
Chromium whose zone is Europe/Oslo (TZ of chromedriver and so of the browser): a hand-off made
at 14:05 UTC on a winter day is shown at 15:05 and labelled with Oslo's zone (CET, or GMT+1 in
a locale without the abbreviation), its SLA deadline likewise, a summer one after a live refresh
at CEST; ?tz= forces another zone for a shared screen."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from leadloop_events import topics
from leadloop_events.envelope import new_event
from leadloop_events.handoff import LeadAssigned
from leadloop_events.intake import LeadProfile
from leadloop_events.lifecycle import LeadIntelligence

from ..integration.messaging.support import produce
from ..tools import require_tool
from ..waiting import wait_for
from .conftest import E2E_KEY

VIEWER = "Europe/Oslo"
WINTER = datetime(2026, 1, 5, 14, 5, tzinfo=UTC)  # 15:05 in Oslo (CET)
SUMMER = datetime(2026, 7, 6, 9, 30, tzinfo=UTC)  # 11:30 in Oslo (CEST)
PROFILE = LeadProfile(email="ana@acme-dental.com", company="ACME Dental")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium in the viewer's zone."""
    chromium, chromedriver = require_tool("chromium"), require_tool("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    service = Service(executable_path=chromedriver, env={**os.environ, "TZ": VIEWER})
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


def shown_as(at: datetime, zone: str) -> tuple[str, set[str]]:
    """The wall-clock time of `at` in `zone` and the labels a browser may give the zone."""
    local = at.astimezone(ZoneInfo(zone))
    offset = local.utcoffset() or timedelta()
    hours, rest = divmod(int(offset.total_seconds()) // 60, 60)
    gmt = f"GMT{hours:+d}" + (f":{rest:02d}" if rest else "")
    return local.strftime("%H:%M"), {str(local.tzname()), gmt}


def times(driver: Any) -> dict[str, dict[str, str]]:
    """Every <time> of the page by its datetime attribute: its text and the zone it is in."""
    found: dict[str, dict[str, str]] = driver.execute_script(
        "const out = {};"
        "document.querySelectorAll('time[datetime]').forEach(e => {"
        "  out[e.getAttribute('datetime')] = {text: e.textContent, zone: e.dataset.zone || '',"
        "    id: e.id}; });"
        "return out;"
    )
    return found


def assert_shown_in(found: dict[str, dict[str, str]], at: datetime, zone: str) -> None:
    clock, labels = shown_as(at, zone)
    iso = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso in found, f"no <time datetime={iso}> on the page: {found}"
    text = found[iso]["text"]
    assert clock in text and "UTC" not in text, (text, clock)
    assert any(text.endswith(label) for label in labels), (text, labels)
    assert found[iso]["zone"] == zone


async def test_hand_off_times_are_shown_in_the_viewers_zone_and_labelled(
    start_service: Callable[[str], Awaitable[Any]],
    browser: Any,
    bootstrap_servers: str,
    topic_prefix: str,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    feedback = await start_service("feedback")

    async def hand_off(lead: str, at: datetime) -> None:
        assigned = LeadAssigned(
            lead_id=lead,
            assignment_id=f"a-{lead}",
            owner_rep_id="rep-bruno",
            team="dach",
            business="new",
            sla_deadline=at + timedelta(minutes=30),
            agreement_version="2026-11",
            intelligence=LeadIntelligence(profile=PROFILE, fit=80, interest=40, grade="A"),
            assigned_at=at,
        )
        event = new_event(assigned, subject=lead, time=at)
        topic = topic_prefix + topics.HANDOFF
        await produce(bootstrap_servers, topic, [(lead.encode(), event.to_bytes())])

    await hand_off("lead-winter", WINTER)

    def sign_in() -> None:
        browser.get(f"{feedback.url}/dashboard")
        browser.find_element(By.ID, "api_key").send_keys(E2E_KEY)
        browser.find_element(By.ID, "sign-in").click()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "live"))

    await asyncio.to_thread(sign_in)

    async def winter_shown() -> bool:
        return WINTER.strftime("%Y-%m-%dT%H:%M:%SZ") in await asyncio.to_thread(times, browser)

    await wait_for(winter_shown, timeout_s=30, what="the hand-off on the page")
    found = times(browser)
    assert_shown_in(found, WINTER, VIEWER)  # 15:05 CET
    assert_shown_in(found, WINTER + timedelta(minutes=30), VIEWER)  # the SLA deadline
    updated = next(t for t in found.values() if t["id"] == "updated")
    assert updated["zone"] == VIEWER and "UTC" not in updated["text"]

    # a live refresh (no reload) brings a new hand-off: shown in the zone too, at summer time
    browser.execute_script("window.__loaded_once = true;")
    await hand_off("lead-summer", SUMMER)

    async def summer_shown() -> bool:
        return SUMMER.strftime("%Y-%m-%dT%H:%M:%SZ") in await asyncio.to_thread(times, browser)

    await wait_for(summer_shown, timeout_s=30, what="the refresh to bring the new hand-off")
    assert browser.execute_script("return window.__loaded_once === true;"), "the page reloaded"
    found = times(browser)
    assert_shown_in(found, SUMMER, VIEWER)  # 11:30 CEST
    assert_shown_in(found, WINTER, VIEWER)

    # a shared screen names its zone
    browser.get(f"{feedback.url}/dashboard?tz=Asia/Tokyo")
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "live"))
    assert_shown_in(times(browser), WINTER, "Asia/Tokyo")  # 23:05 GMT+9
