"""Intake killed (SIGKILL) while writing an import answered at once: once restarted, its status
says failed, naming the last line written, instead of `running` forever; re-importing the
whole file then captures every row, the rows written before making no duplicate lead."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.waiting import wait_for

ROWS = 3000
HEADER = "Email,First Name,Company,Employees,Industry,Country"
BODY = (
    HEADER + "\n" + "".join(f"guest{i}@trade-fair.io,G{i},Fair,12,Retail,GB\n" for i in range(ROWS))
)
CSV = {"content-type": "text/csv", "prefer": "respond-async"}


async def _status(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    r = await http.get(url)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_an_import_whose_intake_was_killed_ends_failed_at_its_line(
    start_service: Callable[..., Awaitable[Any]], http: httpx.AsyncClient
) -> None:
    env = {"LEADLOOP_IMPORT_BATCH_ROWS": "2", "LEADLOOP_IMPORT_STALE_AFTER_S": "1"}
    intake = await start_service("intake", env)
    r = await http.post(f"{intake.url}/v1/imports", content=BODY, headers=CSV)
    assert r.status_code == 202, r.text
    url = f"{intake.url}{r.headers['location']}"

    async def writing() -> bool:
        return bool((await _status(http, url))["rows_read"] > 0)

    await wait_for(writing, what="the import's first batch")
    intake.kill9()
    await intake.restart()
    seen: dict[str, Any] = {}

    async def failed() -> bool:
        seen.update(await _status(http, url))
        return bool(seen["state"] != "running")

    await wait_for(failed, what="the import to be failed")
    assert seen["state"] == "failed", seen
    line = re.search(r"the rows through line (\d+) were written", seen["failure"])
    assert line, seen["failure"]
    assert int(line.group(1)) == seen["rows_read"] + 1 <= ROWS
    again = await http.post(f"{intake.url}/v1/imports", content=BODY, headers=CSV)
    url = f"{intake.url}{again.headers['location']}"
    await wait_for(failed, what="the re-import to finish", timeout_s=180)
    assert (seen["state"], seen["rows_accepted"]) == ("finished", ROWS), seen
    assert seen["new_leads"] == ROWS - (int(line.group(1)) - 1)  # the header is line 1
