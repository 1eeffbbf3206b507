"""assign_lead through the real registry: team rules, weighted round robin, the fallback
queues, the existing account's owner; the alert, its email and the SQL-to-alert time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadloop_events.lifecycle import LeadStageChanged
from leadloop_routing import metrics
from leadloop_routing.domain.errors import NoAgreement
from leadloop_routing.domain.model import Account

from ...factories import stage_changed
from .support import Routing, rep

ASSIGNED = "leadloop.lead.assigned.v1"


def sql(lead_id: str, **profile: object) -> LeadStageChanged:
    """An SQL for `lead_id`, its profile changed by `profile` (e.g. country="BR")."""
    event = stage_changed(lead_id)
    assert event.intelligence is not None
    changed = event.intelligence.profile.model_copy(update=profile)
    intelligence = event.intelligence.model_copy(update={"profile": changed})
    return event.model_copy(update={"intelligence": intelligence})


async def test_an_sql_from_germany_goes_to_dach_by_weighted_round_robin() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice", weight=2), rep("rep-bob"))
    for i in range(6):
        await routing.send(sql(f"lead-{i}"))
    owners = [a["owner_rep_id"] for a in routing.uow.sent(ASSIGNED)]
    assert owners == ["rep-alice", "rep-bob", "rep-alice"] * 2
    first = routing.uow.sent(ASSIGNED)[0]
    assert first["team"] == "dach" and first["business"] == "new"
    assert first["owner_email"] == "rep-alice@northwind.example"
    assert first["owner_name"] == "Alice"  # the dashboard shows reps by name (#14.16)
    assert first["agreement_version"] == "2026-11"
    stored = (await routing.repo.assignments_of("lead-0"))[0]
    assert stored.status == "open" and stored.timer_due_at == stored.sla_deadline
    assert stored.decision.path[0] == "team dach matched"
    assert {e.dedupe_key.split(":")[0] for e in routing.repo.emails.values()} == {"assigned"}
    assert len(routing.repo.emails) == 6


async def test_the_sql_to_alert_time_is_measured_from_the_committed_alert() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    await routing.send(sql("lead-ACME-DENTAL"))
    timed = [(h, v) for h, _, v in routing.uow.measured if h is metrics.SQL_TO_ALERT]
    assert len(timed) == 1 and timed[0][1] >= 0


async def test_a_lead_no_team_takes_waits_in_the_global_fallback_queue() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    await routing.send(sql("lead-BRAZIL", country="BR"))
    alert = routing.uow.sent(ASSIGNED)[0]
    assert alert["owner_rep_id"] is None and alert["team"] == "unassigned"
    stored = (await routing.repo.assignments_of("lead-BRAZIL"))[0]
    assert (stored.status, stored.queue, stored.timer_due_at) == ("queued", "sdr-queue", None)
    assert not routing.repo.emails


async def test_a_team_with_nobody_available_uses_its_own_fallback_queue() -> None:
    routing = Routing()
    await routing.start(rep("rep-ellen", "enterprise", active=False))
    await routing.send(sql("lead-GLOBEX", company_size=5000))
    stored = (await routing.repo.assignments_of("lead-GLOBEX"))[0]
    assert (stored.team, stored.queue, stored.rep_id) == ("enterprise", "enterprise-queue", None)
    assert [(s.rep_id, s.reason) for s in stored.decision.skipped] == [("rep-ellen", "inactive")]


async def test_an_existing_customer_goes_to_the_account_owner() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"), rep("rep-carol", "nordics"))
    await routing.repo.save_account(
        Account("acme-dental.com", "ACME Dental", "rep-carol"), datetime.now(UTC)
    )
    await routing.send(sql("lead-ACME-DENTAL"))
    alert = routing.uow.sent(ASSIGNED)[0]
    assert (alert["owner_rep_id"], alert["business"], alert["team"]) == (
        "rep-carol",
        "existing",
        "nordics",
    )


async def test_a_stage_other_than_sql_assigns_nothing() -> None:
    routing = Routing()
    await routing.start(rep("rep-alice"))
    await routing.send(stage_changed("lead-1", "lead", "mql"))
    assert not routing.repo.assignments and not routing.uow.sent(ASSIGNED)


async def test_an_sql_before_any_agreement_fails_so_the_consumer_retries() -> None:
    routing = Routing()
    await routing.repo.save_rep(rep("rep-alice"), datetime.now(UTC))
    with pytest.raises(NoAgreement):
        await routing.send(sql("lead-1"))
    assert not routing.repo.assignments
