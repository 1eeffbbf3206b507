"""`leadloop reps sync --from hubspot|salesforce` (a real CLI process) and routing's periodic
sync, against the fake CRMs and a real database: reps created, followed, linked and
deactivated (never deleted)."""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from leadloop_db.engine import make_engine
from leadloop_db.uow import Transactions
from leadloop_routing.adapters.tables import outbox
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.config import Settings
from leadloop_routing.domain.commands import UpsertRep
from leadloop_routing.domain.model import Rep
from leadloop_routing.entrypoints.reps_sync import reps_sync_worker
from leadloop_routing.handlers import upsert_rep
from tests.vendors.hubspot import FakeHubSpot, serve_hubspot
from tests.vendors.salesforce import FakeSalesforce, serve_salesforce

from ...cli import leadloop
from ...waiting import wait_for

Runner = Transactions[SqlUnitOfWork]
TEAM_MAP = {"Nordics Sales": "nordics", "DACH Sales": "dach"}


@pytest.fixture
async def runner(database_url: str) -> AsyncIterator[Runner]:
    engine = make_engine(database_url, pool_size=2)
    yield Transactions(functools.partial(SqlUnitOfWork, engine, outbox, ""))
    await engine.dispose()


@pytest.fixture
async def hubspot() -> AsyncIterator[FakeHubSpot]:
    fake, stop = await serve_hubspot()
    yield fake
    await stop()


@pytest.fixture
async def salesforce() -> AsyncIterator[FakeSalesforce]:
    org, stop = await serve_salesforce()
    yield org
    await stop()


def admins_rep(rep_id: str, **fields: Any) -> Rep:
    return Rep(rep_id, rep_id.title(), f"{rep_id}@northwind.example", ("dach",), **fields)


async def seed(runner: Runner, *reps: Rep) -> None:
    for rep in reps:
        await runner.run(upsert_rep, UpsertRep(rep, datetime.now(UTC)))


async def reps_by_id(runner: Runner) -> dict[str, Rep]:
    async def read(uow: SqlUnitOfWork) -> list[Rep]:
        return await uow.repo.all_reps()

    return {r.rep_id: r for r in await runner.run(read)}


def cli_env(database_url: str, **settings: str) -> dict[str, str]:
    """This test's environment for the CLI: none of the caller's leadloop settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADLOOP_", "DATABASE_URL"))}
    return env | {"DATABASE_URL": database_url, "LEADLOOP_ENV": "test", **settings}


def hubspot_env(database_url: str, fake: FakeHubSpot) -> dict[str, str]:
    return cli_env(
        database_url,
        LEADLOOP_HUBSPOT_ACCESS_TOKEN=fake.token,
        LEADLOOP_HUBSPOT_API_URL=fake.url,
        LEADLOOP_REPS_TEAM_MAP=json.dumps(TEAM_MAP),
        LEADLOOP_REPS_DEFAULT_TEAM="inbound",
    )


async def test_reps_sync_from_hubspot_creates_follows_links_and_deactivates(
    database_url: str, runner: Runner, hubspot: FakeHubSpot
) -> None:
    ana = hubspot.add_owner("ana@northwind.example", "Ana", "Berg", teams=("Nordics Sales",))
    bo = hubspot.add_owner("bo@northwind.example", "Bo", "Lund", teams=("Partners",))
    hubspot.add_owner("REP-ALICE@northwind.example", "Alice", "Renamed")
    dan = hubspot.add_owner("rep-dan@northwind.example", "Dan", "Gone", archived=True)
    await seed(
        runner, admins_rep("rep-alice", weight=3), admins_rep("rep-dan", crm_ids={"hubspot": dan})
    )
    await seed(runner, admins_rep("rep-erin", crm_ids={"hubspot": "999"}), admins_rep("rep-fay"))
    env = hubspot_env(database_url, hubspot)

    code, out, err = await leadloop(env, "reps", "sync", "--from", "hubspot", "--json")
    assert code == 0, err
    changes = json.loads(out)
    assert [r["rep_id"] for r in changes["created"]] == [f"hubspot-{ana}", f"hubspot-{bo}"]
    assert [r["rep_id"] for r in changes["updated"]] == ["rep-alice"]
    assert sorted(r["rep_id"] for r in changes["deactivated"]) == ["rep-dan", "rep-erin"]
    reps = await reps_by_id(runner)
    made = reps[f"hubspot-{ana}"]
    assert (made.name, made.teams, made.synced_from) == ("Ana Berg", ("nordics",), "hubspot")
    assert reps[f"hubspot-{bo}"].teams == ("inbound",)
    alice = reps["rep-alice"]
    assert (alice.name, alice.weight, alice.synced_from) == ("Rep-Alice", 3, None)
    assert alice.crm_ids["hubspot"] not in (ana, bo, dan)
    # Deactivated, never deleted; an unlinked rep no owner matches is left alone.
    assert not reps["rep-dan"].active and not reps["rep-erin"].active
    assert reps["rep-fay"].active and reps["rep-fay"].crm_ids == {}

    # In HubSpot, Ana is archived and Bo renamed and moved to DACH: the reps follow.
    hubspot.owners[0]["archived"] = True
    hubspot.owners[1] |= {"lastName": "Holm", "teams": [{"id": "5", "name": "DACH Sales"}]}
    code, out, err = await leadloop(env, "reps", "sync", "--from", "hubspot")
    assert code == 0, err
    assert f"deactivated\thubspot-{ana}" in out and f"updated\thubspot-{bo}\tBo Holm" in out
    assert "1 updated, 1 deactivated" in err
    reps = await reps_by_id(runner)
    assert not reps[f"hubspot-{ana}"].active and reps[f"hubspot-{bo}"].teams == ("dach",)
    code, out, _ = await leadloop(env, "reps", "sync", "--from", "hubspot", "--json")
    assert json.loads(out) == {"created": [], "updated": [], "deactivated": [], "skipped": []}


async def test_reps_sync_from_salesforce_by_user_id_and_email(
    database_url: str, runner: Runner, salesforce: FakeSalesforce
) -> None:
    cy = salesforce.add_user("Cy Dahl", "cy@northwind.example")
    linked = salesforce.add_user("Dan Old", "rep-dan@northwind.example", active=False)
    salesforce.add_user("Alice", "rep-alice@northwind.example")
    # The admin typed Dan's 15-character id; the API answers the 18-character one.
    await seed(
        runner, admins_rep("rep-alice"), admins_rep("rep-dan", crm_ids={"salesforce": linked[:15]})
    )
    env = cli_env(
        database_url,
        LEADLOOP_SALESFORCE_INSTANCE_URL=salesforce.base_url,
        LEADLOOP_SALESFORCE_CLIENT_ID=salesforce.client_id,
        LEADLOOP_SALESFORCE_CLIENT_SECRET=salesforce.client_secret,
        LEADLOOP_REPS_DEFAULT_TEAM="inbound",
    )
    code, out, err = await leadloop(env, "reps", "sync", "--from", "salesforce", "--json")
    assert code == 0, err
    changes = json.loads(out)
    assert [r["rep_id"] for r in changes["created"]] == [f"salesforce-{cy}"]
    assert [r["rep_id"] for r in changes["updated"]] == ["rep-alice"]
    assert [r["rep_id"] for r in changes["deactivated"]] == ["rep-dan"]
    reps = await reps_by_id(runner)
    assert reps[f"salesforce-{cy}"].teams == ("inbound",)
    assert (
        reps["rep-alice"].crm_ids["salesforce"]
        == salesforce.find("User", Email="rep-alice@northwind.example")[0]["Id"]
    )
    assert reps["rep-dan"].crm_ids == {"salesforce": linked} and not reps["rep-dan"].active


async def test_reps_sync_says_in_one_line_what_is_missing_or_refused(
    database_url: str, hubspot: FakeHubSpot
) -> None:
    code, out, err = await leadloop(cli_env(database_url), "reps", "sync", "--from", "hubspot")
    assert code == 1 and out == ""
    assert err.strip().endswith("hubspot is not configured: set LEADLOOP_HUBSPOT_ACCESS_TOKEN")
    env = hubspot_env(database_url, hubspot)
    hubspot.expire_token()
    code, _, err = await leadloop(env, "reps", "sync", "--from", "hubspot")
    assert code == 1 and err.splitlines()[-1].startswith("leadloop: hubspot refused: ")
    assert "Traceback" not in err


async def test_the_periodic_sync_runs_every_configured_crm(
    database_url: str, runner: Runner, hubspot: FakeHubSpot
) -> None:
    ana = hubspot.add_owner("ana@northwind.example", "Ana", "Berg", teams=("Nordics Sales",))
    settings = Settings(
        database_url=database_url,
        hubspot_access_token=hubspot.token,
        hubspot_api_url=hubspot.url,
        reps_team_map=TEAM_MAP,
        reps_sync_interval_s=3600,
    )
    assert (
        reps_sync_worker(runner, settings.model_copy(update={"reps_sync_interval_s": 0}))[1] is None
    )
    assert reps_sync_worker(runner, Settings(database_url=database_url))[1] is None
    _, loop = reps_sync_worker(runner, settings)
    assert loop is not None
    task = asyncio.create_task(loop.run())

    async def synced() -> bool:
        return f"hubspot-{ana}" in await reps_by_id(runner)

    try:
        await wait_for(synced, what="the periodic sync's first round")
    finally:
        loop.stop()
        await task
    assert loop.steps == 1
