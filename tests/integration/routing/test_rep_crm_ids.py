"""Reps' CRM ids on Postgres: PUT and GET carry them, one rep per CRM owner (409), and the
repository finds a rep by CRM id (both Salesforce id forms) or by email in any case."""

from __future__ import annotations

from typing import Any

from leadloop_db.uow import Transactions
from leadloop_routing.adapters.uow import SqlUnitOfWork
from leadloop_routing.domain.model import Rep

from ...factories import ALWAYS
from .conftest import RoutingUnderTest

SF_15 = "0055e000001AbCd"
SF_18 = SF_15 + "EAA"


def body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Dora",
        "email": "Rep-Dora@Northwind.example",
        "teams": ["dach"],
        "working_hours": ALWAYS,
        **extra,
    }


async def test_put_and_get_carry_crm_ids_kept_when_absent_and_cleared_by_empty(
    routing: RoutingUnderTest,
) -> None:
    ids = {"hubspot": "41629779", "salesforce": SF_18}
    put = await routing.http.put("/v1/reps/rep-dora", json=body(crm_ids=ids))
    assert put.status_code == 200, put.text
    assert (put.json()["crm_ids"], put.json()["synced_from"]) == (ids, None)
    got = await routing.http.get("/v1/reps/rep-dora")
    assert got.json()["crm_ids"] == ids and got.headers["etag"] == put.headers["etag"]

    kept = await routing.http.put("/v1/reps/rep-dora", json=body(weight=3))
    assert kept.json()["crm_ids"] == ids and kept.json()["weight"] == 3
    cleared = await routing.http.put("/v1/reps/rep-dora", json=body(crm_ids={}))
    assert cleared.json()["crm_ids"] == {}
    listed = (await routing.http.get("/v1/reps")).json()["items"]
    assert {r["rep_id"]: r["crm_ids"] for r in listed}["rep-dora"] == {}


async def test_one_rep_per_crm_owner_and_bounded_crm_ids(routing: RoutingUnderTest) -> None:
    first = await routing.http.put("/v1/reps/rep-dora", json=body(crm_ids={"salesforce": SF_18}))
    assert first.status_code == 200, first.text
    # The 15-character form names the same Salesforce user.
    taken = await routing.http.put(
        "/v1/reps/rep-alice",
        json=body(email="rep-alice@northwind.example", crm_ids={"salesforce": SF_15}),
    )
    assert taken.status_code == 409, taken.text
    assert taken.json()["type"].endswith("/crm-id-taken") and "rep-dora" in taken.json()["detail"]
    for bad in ({"pipedrive": "1"}, {"hubspot": ""}, {"hubspot": "x" * 65}, {"hubspot": "1 2"}):
        refused = await routing.http.put("/v1/reps/rep-eve", json=body(crm_ids=bad))
        assert refused.status_code == 422, (bad, refused.text)


async def test_the_repository_finds_reps_by_crm_id_and_by_email(routing: RoutingUnderTest) -> None:
    ids = {"hubspot": "501", "salesforce": SF_15}
    assert (await routing.http.put("/v1/reps/rep-dora", json=body(crm_ids=ids))).status_code == 200
    runner: Transactions[SqlUnitOfWork] = routing.app.state.transactions

    async def lookups(uow: SqlUnitOfWork) -> list[Rep | None]:
        return [
            await uow.repo.rep_by_crm_id("hubspot", "501"),
            await uow.repo.rep_by_crm_id("salesforce", SF_18),
            await uow.repo.rep_by_crm_id("salesforce", SF_15),
            await uow.repo.rep_by_crm_id("hubspot", "502"),
            await uow.repo.rep_by_email("REP-DORA@northwind.EXAMPLE"),
            await uow.repo.rep_by_email("nobody@northwind.example"),
        ]

    found = await runner.run(lookups)
    assert [r.rep_id if r else None for r in found] == [
        "rep-dora",
        "rep-dora",
        "rep-dora",
        None,
        "rep-dora",
        None,
    ]
    assert found[0] is not None and found[0].crm_ids == ids
