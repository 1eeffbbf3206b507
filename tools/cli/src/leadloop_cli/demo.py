"""Traffic simulator: realistic B2B form fills and activity posted to intake until stopped.

Run by `leadloop dev --demo`, or on its own:
`python -m leadloop_cli.demo --intake-url http://127.0.0.1:8001 --api-key llk_...`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from leadloop_cli.demo_data import (
    ACTIVITIES,
    CAMPAIGNS,
    COMPANIES,
    FIRST_NAMES,
    FORMS,
    LAST_NAMES,
    MAX_PEOPLE,
    PAGES,
    PERSON_FIELDS,
    SOURCES,
    TITLES,
)
from leadloop_cli.demo_hours import explain_breaches
from leadloop_cli.demo_sales import run_sales


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


class Simulator:
    """Builds plausible payloads; remembers the people it made up so activity follows them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people: dict[str, dict[str, Any]] = {}  # by email, oldest first

    def person(self) -> dict[str, Any]:
        """A returning person one time in four, else someone new."""
        rng = self.rng
        if self.people and rng.random() < 0.25:
            return dict(rng.choice(list(self.people.values())))
        company = rng.choice(COMPANIES)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        freemail = rng.random() < 0.1
        domain = "gmail.com" if freemail else company.domain
        local = f"{first}.{last}".lower().replace("-", "")
        return {
            "email": f"{local}{rng.randint(1, 999)}@{domain}",
            "first_name": first,
            "last_name": last,
            "company": company.name,
            "job_title": pick(rng, TITLES),
            "company_size": company.size,
            "industry": company.industry,
            "country": company.country,
        }

    def remember(self, form_fill: dict[str, Any]) -> None:
        """An accepted form fill: this person may now show activity and come back."""
        self.people[form_fill["email"]] = {k: form_fill[k] for k in PERSON_FIELDS}
        if len(self.people) > MAX_PEOPLE:
            del self.people[next(iter(self.people))]

    def form_fill(self) -> dict[str, Any]:
        rng = self.rng
        source, campaign = pick(rng, SOURCES), rng.choice(CAMPAIGNS)
        form_id, path = rng.choice(FORMS)
        body = {
            **self.person(),
            "source": source,
            "campaign": campaign,
            "form_id": form_id,
            "page_url": f"https://www.leadloop.example{path}",
            "submitted_at": datetime.now(UTC).isoformat(),
            "consent": rng.random() < 0.8,
            "utm": {
                "source": source,
                "medium": "cpc" if source == "paid_search" else source,
                "campaign": campaign,
            },
            "fields": {"how_did_you_hear": rng.choice(["search", "colleague", "podcast", "event"])},
        }
        if rng.random() < 0.3:
            body["phone"] = f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
        return body

    def activities(self) -> dict[str, Any]:
        """A small batch of activity for people who already filled a form."""
        rng = self.rng
        now = datetime.now(UTC)
        items = []
        for _ in range(rng.randint(1, 5)):
            kind = pick(rng, ACTIVITIES)
            item: dict[str, Any] = {
                "email": rng.choice(list(self.people)),
                "type": kind,
                "occurred_at": (now - timedelta(seconds=rng.randint(0, 600))).isoformat(),
            }
            if kind in ("page_view", "pricing_page_view"):
                page = "/pricing" if kind == "pricing_page_view" else rng.choice(PAGES)
                item["url"] = f"https://www.leadloop.example{page}"
            elif kind in ("email_open", "email_click", "content_download"):
                item["campaign"] = rng.choice(CAMPAIGNS)
                item["asset"] = "pipeline-playbook.pdf" if kind == "content_download" else None
            items.append({k: v for k, v in item.items() if v is not None})
        return {"activities": items}


async def run(
    url: str,
    api_key: str,
    rate: float,
    count: int,
    seed: int | None,
    routing_url: str | None = None,
    feedback_url: str | None = None,
) -> int:
    """Post at `rate` requests per second until stopped (or `count` requests); returns errors."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    traffic = Traffic(Simulator(random.Random(seed)))
    sales = None
    if routing_url and feedback_url:
        if (why := explain_breaches(datetime.now(UTC))) is not None:
            print(why, flush=True)
        sales = asyncio.create_task(
            run_sales(
                stop, random.Random(seed), traffic.lead_ids, routing_url, feedback_url, api_key
            )
        )
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10.0) as client:
        await traffic.post_until(stop, client, rate, count)
    stop.set()
    if sales is not None:
        await sales
    print("stopped: " + traffic.tally(), flush=True)
    return traffic.sent["errors"]


class Traffic:
    """The simulator's requests to intake, counted, and the lead ids intake answered."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.lead_ids: list[str] = []
        self.sent = {"form fills": 0, "activity batches": 0, "errors": 0}

    def tally(self) -> str:
        """What was sent so far, as one line."""
        return ", ".join(f"{n} {k}" for k, n in self.sent.items())

    async def post_until(
        self, stop: asyncio.Event, client: httpx.AsyncClient, rate: float, count: int
    ) -> None:
        """Post at `rate` per second until `stop` is set or `count` requests (0: no limit)."""
        last_report = time.monotonic()
        while not stop.is_set() and (count == 0 or sum(self.sent.values()) < count):
            if not await self.post_one(client):
                continue
            if time.monotonic() - last_report >= 10:
                last_report = time.monotonic()
                print(self.tally(), flush=True)
            await asyncio.sleep(self.sim.rng.expovariate(rate))

    async def post_one(self, client: httpx.AsyncClient) -> bool:
        """One form fill or activity batch; False when intake was unreachable (after a pause)."""
        sim = self.sim
        if not sim.people or sim.rng.random() < 0.35:
            kind, path, body = "form fills", "/v1/form-submissions", sim.form_fill()
        else:
            kind, path, body = "activity batches", "/v1/activities", sim.activities()
        try:
            key = {"Idempotency-Key": str(uuid.uuid4())}
            resp = await client.post(path, json=body, headers=key)
        except httpx.TransportError as exc:
            self.sent["errors"] += 1
            print(f"intake unreachable ({exc!r}); retrying", flush=True)
            await asyncio.sleep(1.0)
            return False
        if resp.status_code != 202:
            self.sent["errors"] += 1
            print(f"{path} answered {resp.status_code}: {resp.text[:500]}", flush=True)
            return True
        self.sent[kind] += 1
        if path == "/v1/form-submissions":
            sim.remember(body)
            self.lead_ids.append(resp.json()["lead_id"])
            del self.lead_ids[:-2000]
        return True


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m leadloop_cli.demo`."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument(
        "--intake-url", default=os.environ.get("LEADLOOP_DEMO_INTAKE_URL", "http://127.0.0.1:8001")
    )
    args.add_argument("--routing-url", default=os.environ.get("LEADLOOP_DEMO_ROUTING_URL"))
    args.add_argument("--feedback-url", default=os.environ.get("LEADLOOP_DEMO_FEEDBACK_URL"))
    args.add_argument("--api-key", default=os.environ.get("LEADLOOP_BOOTSTRAP_API_KEY"))
    args.add_argument("--rate", type=float, default=3.0, help="requests per second (average)")
    args.add_argument("--count", type=int, default=0, help="stop after N requests (0: never)")
    args.add_argument("--seed", type=int, default=None)
    ns = args.parse_args(argv)
    if not ns.api_key:
        print("an API key is needed: --api-key or LEADLOOP_BOOTSTRAP_API_KEY", file=sys.stderr)
        return 2
    print(f"posting demo traffic to {ns.intake_url} at about {ns.rate}/s", flush=True)
    errors = asyncio.run(
        run(ns.intake_url, ns.api_key, ns.rate, ns.count, ns.seed, ns.routing_url, ns.feedback_url)
    )
    return 1 if ns.count and errors else 0


if __name__ == "__main__":
    sys.exit(main())
