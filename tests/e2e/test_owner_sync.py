"""Issue #15, case 6, routing as a process with the fake HubSpot and Salesforce configured: its
periodic owner sync makes HubSpot's owners (teams through LEADLOOP_REPS_TEAM_MAP) and
Salesforce's users (LEADLOOP_REPS_DEFAULT_TEAM) reps, one rep for a person in both CRMs; an
owner archived in HubSpot and a user made inactive in Salesforce deactivate their reps (never
deleted); `leadloop reps sync --from salesforce --json` then finds nothing to change."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.vendors.hubspot import FakeHubSpot
from tests.vendors.salesforce import FakeSalesforce

from ..cli import leadloop
from ..waiting import wait_for
from .test_salesforce_loop import salesforce_settings

TEAM_MAP = {"Nordics Sales": "nordics", "DACH Sales": "dach"}


async def reps_by_id(http: httpx.AsyncClient, routing: Any) -> dict[str, dict[str, Any]]:
    """Every rep routing lists (inactive ones too)."""
    r = await http.get(f"{routing.url}/v1/reps", params={"limit": 100})
    assert r.status_code == 200, r.text
    assert r.json()["next"] is None
    return {rep["rep_id"]: rep for rep in r.json()["items"]}


def view(rep: dict[str, Any]) -> tuple[Any, ...]:
    """What the sync sets on a rep."""
    return (rep["name"], rep["email"], rep["teams"], rep["crm_ids"], rep["active"])


async def test_owners_and_users_become_reps_and_follow_their_crm(
    start_service: Callable[..., Awaitable[Any]],
    service_env: dict[str, str],
    http: httpx.AsyncClient,
    hubspot: FakeHubSpot,
    salesforce: FakeSalesforce,
) -> None:
    ana = hubspot.add_owner("ana@northwind.example", "Ana", "Berg", teams=("Nordics Sales",))
    bo = hubspot.add_owner("bo@northwind.example", "Bo", "Lund", teams=("Partners", "DACH Sales"))
    ana_user = salesforce.add_user("Ana Berg", "ANA@northwind.example")  # the same person
    cy = salesforce.add_user("Cy Dahl", "cy@northwind.example")
    settings = {
        "LEADLOOP_HUBSPOT_ACCESS_TOKEN": hubspot.token,
        "LEADLOOP_HUBSPOT_API_URL": hubspot.url,
        **salesforce_settings(salesforce),
        "LEADLOOP_REPS_TEAM_MAP": json.dumps(TEAM_MAP),
        "LEADLOOP_REPS_DEFAULT_TEAM": "inbound",
        "LEADLOOP_REPS_SYNC_INTERVAL_S": "0.5",
    }
    routing = await start_service("routing", settings)
    expected = {
        f"hubspot-{ana}": (
            "Ana Berg",
            "ana@northwind.example",
            ["nordics"],
            {"hubspot": ana, "salesforce": ana_user},
            True,
        ),
        f"hubspot-{bo}": ("Bo Lund", "bo@northwind.example", ["dach"], {"hubspot": bo}, True),
        f"salesforce-{cy}": (
            "Cy Dahl",
            "cy@northwind.example",
            ["inbound"],
            {"salesforce": cy},
            True,
        ),
    }

    async def synced() -> bool:
        reps = await reps_by_id(http, routing)
        return {rep_id: view(rep) for rep_id, rep in reps.items()} == expected

    async def listed() -> str:
        return json.dumps(await reps_by_id(http, routing), indent=1)

    await wait_for(synced, timeout_s=60, what="the owners as reps", detail=listed)

    # Bo's HubSpot user is deactivated (his owner archived); Cy leaves in Salesforce.
    next(o for o in hubspot.owners if o["id"] == bo)["archived"] = True
    salesforce.records["User"][cy]["IsActive"] = False
    for rep_id in (f"hubspot-{bo}", f"salesforce-{cy}"):
        expected[rep_id] = (*expected[rep_id][:4], False)
    await wait_for(synced, timeout_s=60, what="the two reps deactivated", detail=listed)

    # The CLI, against the same database and CRM, finds the reps already in sync.
    env = {**service_env, **settings}
    queries = len(salesforce.api_calls("GET", "/query"))
    code, out, err = await leadloop(env, "reps", "sync", "--from", "salesforce", "--json")
    assert code == 0, err
    assert json.loads(out) == {"created": [], "updated": [], "deactivated": [], "skipped": []}
    assert len(salesforce.api_calls("GET", "/query")) > queries  # it did read the users
    assert await synced()
