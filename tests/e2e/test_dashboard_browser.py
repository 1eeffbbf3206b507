"""The dashboard in a real headless Chromium (Debian's chromium and chromium-driver): four
services as processes, demo traffic and a simulated CRM, sign in, the numbers on screen equal
the reports API, the page updates while events flow (no reload), and it fits a phone.
Screenshots go to the test's folder, and to $LEADLOOP_SCREENSHOTS when set (`make screenshot`)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadloop_cli import demo, demo_sales

from ..tools import require_tool
from ..waiting import wait_for
from .conftest import E2E_KEY


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chromium, chromedriver = require_tool("chromium"), require_tool("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1400,1900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def on_screen(driver: Any) -> dict[str, str]:
    """Every number the page shows with a data-metric name."""
    found: dict[str, str] = driver.execute_script(
        "const out = {};"
        "document.querySelectorAll('[data-metric]').forEach(e => {"
        "  out[e.getAttribute('data-metric')] = e.textContent.trim(); });"
        "return out;"
    )
    return found


def save(driver: Any, tmp_path: Path, name: str) -> None:
    shot = tmp_path / name
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000, "the screenshot is empty"
    target = os.environ.get("LEADLOOP_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / name)


async def test_dashboard_in_chromium_matches_the_reports(
    start_service: Callable[[str], Awaitable[Any]],
    http: httpx.AsyncClient,
    browser: Any,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    await start_service("scoring")
    routing = await start_service("routing")
    feedback = await start_service("feedback")
    intake = await start_service("intake")
    headers = {"authorization": f"Bearer {E2E_KEY}"}
    rng = random.Random(7)
    async with (
        httpx.AsyncClient(base_url=routing.url, headers=headers) as to_routing,
        httpx.AsyncClient(base_url=feedback.url, headers=headers) as to_feedback,
        httpx.AsyncClient(base_url=intake.url, headers=headers) as to_intake,
    ):
        await demo_sales.set_up(to_routing, to_feedback)
        sim = demo.Simulator(rng)
        lead_ids = []
        for _ in range(60):
            body = sim.form_fill()
            r = await to_intake.post("/v1/form-submissions", json=body)
            assert r.status_code == 202, r.text
            sim.remember(body)
            lead_ids.append(r.json()["lead_id"])
            r = await to_intake.post("/v1/activities", json=sim.activities())
            assert r.status_code == 202, r.text

        pipeline = demo_sales.Pipeline(pace=0)

        async def deals_closed() -> bool:
            await demo_sales.work(rng, lead_ids, to_routing, to_feedback, pipeline, sample=60)
            if sum(1 for s in pipeline.step.values() if s == 4) < 3:
                return False
            revenue = (await to_feedback.get("/v1/reports/revenue?group_by=source")).json()
            return any(g["won_revenue"] for g in revenue["groups"])

        await wait_for(deals_closed, timeout_s=120, what="the CRM to close deals and win one")

    month_ago = {"from": (datetime.now(UTC) - timedelta(days=30)).isoformat()}

    async def api_numbers() -> dict[str, str]:
        funnel = (await http.get(f"{feedback.url}/v1/reports/funnel", params=month_ago)).json()
        counts = funnel["groups"][0]["counts"]
        by_source = (
            await http.get(
                f"{feedback.url}/v1/reports/revenue",
                params={**month_ago, "group_by": "source"},
            )
        ).json()
        sla = (await http.get(f"{feedback.url}/v1/reports/sla")).json()
        numbers = {f"funnel.{stage}": str(n) for stage, n in counts.items()}
        numbers["kpi.won"] = f"{sum(g['won_revenue'] for g in by_source['groups']):,.0f}"
        share = sla["sales"]["overall"]["touched_within_sla"]
        numbers["sla.touched_within_sla"] = "n/a" if share is None else f"{share:.0%}"
        return numbers

    def sign_in() -> None:
        browser.get(f"{feedback.url}/dashboard")
        browser.find_element(By.ID, "api_key").send_keys(E2E_KEY)
        browser.find_element(By.ID, "sign-in").click()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "live"))

    await asyncio.to_thread(sign_in)
    assert "leadloop" in browser.title
    browser.execute_script("window.__loaded_once = true;")

    async def screen_matches_api() -> bool:
        expected = await api_numbers()
        shown = await asyncio.to_thread(on_screen, browser)
        # scoring makes won leads customers a moment after the deals: wait for them too
        settled = int(expected["funnel.customer"]) >= 1
        return settled and all(shown.get(k) == v for k, v in expected.items())

    await wait_for(screen_matches_api, timeout_s=60, what="the page to show the API's numbers")
    shown = on_screen(browser)
    assert int(shown["funnel.lead"]) == len(set(lead_ids))
    assert int(shown["funnel.customer"]) >= 1
    assert browser.find_elements(By.CSS_SELECTOR, "#panel-handoffs td")
    await asyncio.to_thread(save, browser, tmp_path, "dashboard.png")

    # more events flow: the page redraws itself without a reload
    before = int(shown["funnel.lead"])
    async with httpx.AsyncClient(base_url=intake.url, headers=headers) as to_intake:
        for i in range(3):
            person = {"email": f"new.person{i}@fresh-{rng.randrange(10**9)}.example"}
            r = await to_intake.post("/v1/form-submissions", json=person)
            assert r.status_code == 202, r.text

    async def redrawn() -> bool:
        shown = await asyncio.to_thread(on_screen, browser)
        return int(shown["funnel.lead"]) == before + 3

    await wait_for(redrawn, timeout_s=60, what="the dashboard to update live")
    assert browser.execute_script("return window.__loaded_once === true;"), "the page reloaded"

    # a phone: nothing wider than the screen
    browser.set_window_size(390, 844)
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
    )
    assert overflow <= 0, f"{overflow}px wider than a phone"
    await asyncio.to_thread(save, browser, tmp_path, "dashboard-phone.png")
