"""The owner sync's decision: owners matched by CRM id then email, new owners as reps in mapped
teams, the sync's own reps followed, the admin's never renamed, removed owners deactivated."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from leadloop_db.uow import Transactions
from leadloop_routing.domain.commands import SyncReps, UpsertRep
from leadloop_routing.domain.errors import CrmIdTaken
from leadloop_routing.domain.reps_sync import CrmOwner, TeamMapping, plan_reps_sync
from leadloop_routing.handlers import upsert_rep
from leadloop_routing.handlers.reps_sync import sync_reps

from .fakes import FakeTransactions
from .support import rep

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TEAMS = TeamMapping({"Nordics Sales": "nordics", "DACH Sales": "dach"}, default="inbound")


def owner(owner_id: str, name: str, *teams: str, active: bool = True) -> CrmOwner:
    return CrmOwner(owner_id, f"{name.lower()}@northwind.example", name.title(), active, teams)


def test_a_new_owner_becomes_a_rep_in_its_mapped_teams_marked_as_synced() -> None:
    plan = plan_reps_sync(
        "hubspot", [owner("41629779", "ana", "Nordics Sales", "Partners")], [], TEAMS
    )
    (made,) = plan.created
    assert made.rep_id == "hubspot-41629779"
    assert (made.name, made.email, made.teams) == ("Ana", "ana@northwind.example", ("nordics",))
    assert (made.crm_ids, made.synced_from, made.active) == (
        {"hubspot": "41629779"},
        "hubspot",
        True,
    )


def test_an_unmapped_owner_gets_the_default_team_or_is_skipped_with_the_reason() -> None:
    defaulted = plan_reps_sync("hubspot", [owner("7", "bo", "Partners")], [], TEAMS)
    assert defaulted.created[0].teams == ("inbound",)
    plan = plan_reps_sync("hubspot", [owner("7", "bo", "Partners")], [], TeamMapping())
    assert plan.created == () and plan.skipped[0].owner_id == "7"
    assert (
        "Partners" in plan.skipped[0].reason and "LEADLOOP_REPS_TEAM_MAP" in plan.skipped[0].reason
    )


def test_an_owner_matches_an_admins_rep_by_email_which_is_linked_but_never_renamed() -> None:
    alice = rep("rep-alice", "dach", weight=3)
    found = CrmOwner(
        "501", "REP-ALICE@northwind.example", "Alice Renamed", True, ("Nordics Sales",)
    )
    plan = plan_reps_sync("hubspot", [found], [alice], TEAMS)
    (linked,) = plan.updated
    assert linked == dataclasses.replace(alice, crm_ids={"hubspot": "501"})
    assert plan.created == plan.deactivated == ()


def test_a_synced_rep_follows_its_owner_by_id_even_when_the_email_changed() -> None:
    (made,) = plan_reps_sync("hubspot", [owner("9", "cy", "DACH Sales")], [], TEAMS).created
    moved = CrmOwner("9", "cy.new@northwind.example", "Cy Berg", True, ("Nordics Sales",))
    (followed,) = plan_reps_sync("hubspot", [moved], [made], TEAMS).updated
    assert (followed.rep_id, followed.name, followed.email) == (
        "hubspot-9",
        "Cy Berg",
        "cy.new@northwind.example",
    )
    assert followed.teams == ("nordics",)
    assert plan_reps_sync("hubspot", [moved], [followed], TEAMS).changed == ()


def test_archived_inactive_and_removed_owners_deactivate_their_reps_never_delete() -> None:
    archived = rep("rep-alice", crm_ids={"hubspot": "1"})
    removed = rep("rep-bob", crm_ids={"hubspot": "2"})
    unlinked = rep("rep-dora")
    plan = plan_reps_sync(
        "hubspot", [owner("1", "rep-alice", active=False)], [archived, removed, unlinked], TEAMS
    )
    assert {r.rep_id: r.active for r in plan.deactivated} == {"rep-alice": False, "rep-bob": False}
    assert plan.created == plan.updated == ()


def test_an_archived_owner_never_takes_a_rep_by_email_nor_becomes_one() -> None:
    alice = rep("rep-alice")
    plan = plan_reps_sync("hubspot", [owner("3", "rep-alice", active=False)], [alice], TEAMS)
    assert plan.changed == ()


def test_the_active_owner_claims_the_email_before_an_archived_one_with_the_same_email() -> None:
    alice = rep("rep-alice")
    owners = [owner("old", "rep-alice", active=False), owner("new", "rep-alice")]
    (linked,) = plan_reps_sync("hubspot", owners, [alice], TEAMS).updated
    assert linked.crm_ids == {"hubspot": "new"} and linked.active


def test_a_reactivated_owner_reactivates_a_synced_rep_but_not_an_admins() -> None:
    synced = rep("hubspot-5", active=False, crm_ids={"hubspot": "5"}, synced_from="hubspot")
    admins = rep("rep-alice", active=False, crm_ids={"hubspot": "6"})
    plan = plan_reps_sync(
        "hubspot", [owner("5", "eve"), owner("6", "rep-alice")], [synced, admins], TEAMS
    )
    assert [r.rep_id for r in plan.updated] == ["hubspot-5"] and plan.updated[0].active


def test_salesforce_ids_match_in_15_and_18_character_forms_and_keep_other_crms() -> None:
    alice = rep("rep-alice", crm_ids={"hubspot": "77", "salesforce": "005000000000001"})
    user = CrmOwner("005000000000001AAA", "rep-alice@northwind.example", "Alice", False)
    (ended,) = plan_reps_sync("salesforce", [user], [alice], TEAMS).deactivated
    assert ended.crm_ids == {"hubspot": "77", "salesforce": "005000000000001AAA"}


def test_another_crms_sync_only_links_a_rep_the_first_one_created() -> None:
    synced = rep("hubspot-5", crm_ids={"hubspot": "5"}, synced_from="hubspot")
    user = CrmOwner("005000000000009AAA", synced.email, "Someone Else", True)
    (linked,) = plan_reps_sync("salesforce", [user], [synced], TEAMS).updated
    assert (linked.name, linked.synced_from) == (synced.name, "hubspot")
    assert linked.crm_ids["salesforce"] == "005000000000009AAA"


def test_an_owner_whose_rep_id_is_taken_by_an_unlinked_rep_is_skipped() -> None:
    squatter = dataclasses.replace(rep("hubspot-8"), email="someone@else.example")
    plan = plan_reps_sync("hubspot", [owner("8", "fay")], [squatter], TEAMS)
    assert plan.created == () and "hubspot-8" in plan.skipped[0].reason


async def test_the_handler_saves_the_plan_and_a_second_run_changes_nothing() -> None:
    uow = FakeTransactions()
    uow.repo.reps["rep-alice"] = rep("rep-alice")
    runner = Transactions(lambda: uow)
    command = SyncReps("hubspot", (owner("1", "rep-alice"), owner("2", "gus")), TEAMS, AT)
    first = await runner.run(sync_reps, command)
    assert [r.rep_id for r in first.changed] == ["hubspot-2", "rep-alice"]
    assert uow.repo.reps["rep-alice"].crm_ids == {"hubspot": "1"}
    assert uow.repo.reps["hubspot-2"].synced_from == "hubspot"
    assert (await runner.run(sync_reps, command)).changed == ()


async def test_an_admin_put_keeps_or_replaces_crm_ids_and_refuses_another_reps() -> None:
    uow = FakeTransactions()
    runner = Transactions(lambda: uow)
    await runner.run(upsert_rep, UpsertRep(rep("rep-alice", crm_ids={"hubspot": "1"}), AT))
    kept = await runner.run(
        upsert_rep, UpsertRep(rep("rep-alice", weight=2), AT, keep_crm_ids=True)
    )
    assert kept.crm_ids == {"hubspot": "1"} and kept.weight == 2
    with pytest.raises(CrmIdTaken, match="rep-alice"):
        await runner.run(upsert_rep, UpsertRep(rep("rep-bob", crm_ids={"hubspot": "1"}), AT))
    cleared = await runner.run(upsert_rep, UpsertRep(rep("rep-alice"), AT))
    assert cleared.crm_ids == {}
