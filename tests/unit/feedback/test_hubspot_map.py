"""HubSpot notifications onto feedback's items: deals, engagements, contact statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from leadloop_connectors.hubspot import Deal as HubSpotDeal
from leadloop_connectors.hubspot import Engagement
from leadloop_events.intake import CrmNotificationReceived
from leadloop_feedback.domain.crm import Deal, StatusUpdate, Touch
from leadloop_feedback.domain.hubspot_map import HubSpotMapping, Planned, Skipped, needs_read, plan

AT = datetime.now(UTC) - timedelta(hours=2)
MAPPING = HubSpotMapping(currency="EUR")


def note(object_type: str, **fields: Any) -> CrmNotificationReceived:
    defaults = {"event_key": f"hubspot:62515:{object_type}:5101:1"}
    return CrmNotificationReceived(
        system="hubspot",
        subscription_type=f"{object_type}.propertyChange",
        object_type=object_type,
        object_id="5101",
        occurred_at=AT,
        **{**defaults, **fields},
    )


def deal(*, closed: bool, won: bool, currency: str | None = None) -> HubSpotDeal:
    return HubSpotDeal(
        "7301", "closedwon", "default", Decimal("24000"), currency, None, closed, won, ("5101",)
    )


@pytest.mark.parametrize(
    ("closed", "won", "stage"),
    [(True, True, "won"), (True, False, "lost"), (False, False, "created")],
)
def test_a_deal_is_won_lost_or_created(closed: bool, won: bool, stage: str) -> None:
    planned = plan(note("deal"), deal(closed=closed, won=won), MAPPING)
    assert isinstance(planned, Planned) and planned.contact_ids == ("5101",)
    item = planned.item("lead-1")
    assert isinstance(item, Deal)
    assert (item.stage, item.amount, item.currency, item.closed_at) == (
        stage,
        Decimal("24000"),
        "EUR",
        AT,
    )
    assert item.crm_event_id == f"hubspot:deal:7301:{stage}:24000:EUR:{AT.isoformat()}"


def test_notifications_about_one_fact_name_it_alike() -> None:
    """HubSpot sends one notification per property changed: each reads the same state."""
    creation, change = note("call"), note("call", event_key="hubspot:62515:call:5101:2")
    logged = Engagement("calls", "9", "77", AT, ("5101",))
    first, second = plan(creation, logged, MAPPING), plan(change, logged, MAPPING)
    assert isinstance(first, Planned) and isinstance(second, Planned)
    assert first.item("l").crm_event_id == second.item("l").crm_event_id == "hubspot:call:9"
    won = deal(closed=True, won=True)
    a, b = plan(note("deal"), won, MAPPING), plan(note("deal", event_key="k2"), won, MAPPING)
    assert isinstance(a, Planned) and isinstance(b, Planned)
    assert a.crm_event_id == b.crm_event_id
    created = plan(note("deal"), deal(closed=False, won=False), MAPPING)
    assert isinstance(created, Planned) and created.crm_event_id != a.crm_event_id


def test_a_deal_keeps_its_own_currency() -> None:
    planned = plan(note("deal"), deal(closed=True, won=True, currency="nok"), MAPPING)
    assert isinstance(planned, Planned)
    assert planned.item("lead-1").model_dump()["currency"] == "NOK"


@pytest.mark.parametrize(("kind", "outcome"), [("call", "attempted"), ("meeting", "connected")])
def test_an_engagement_is_a_touch_by_its_owner(kind: str, outcome: str) -> None:
    logged = Engagement(kind + "s", "9", "77", AT, ("5101",))
    assert needs_read(note(kind)) == kind
    planned = plan(note(kind), logged, MAPPING)
    assert isinstance(planned, Planned)
    item = planned.item("lead-1")
    assert isinstance(item, Touch)
    assert (item.channel, item.outcome, item.touched_at) == (kind, outcome, AT)
    assert item.crm_owner_id is not None and item.crm_owner_id.id == "77"


def test_an_engagement_without_an_owner_or_a_deleted_object_is_skipped() -> None:
    ownerless = plan(note("call"), Engagement("calls", "9", None, AT, ("5101",)), MAPPING)
    assert isinstance(ownerless, Skipped) and ownerless.code == "unknown_rep"
    gone = plan(note("deal"), None, MAPPING)
    assert isinstance(gone, Skipped) and gone.code == "gone"


@pytest.mark.parametrize(
    ("value", "status", "reason"),
    [
        ("IN_PROGRESS", "accepted", None),
        ("CONNECTED", "working", None),
        ("OPEN_DEAL", "opportunity", None),
        ("UNQUALIFIED", "unqualified", "bad_fit"),
        ("BAD_TIMING", "recycled", "wrong_timing"),
    ],
)
def test_a_lead_status_maps_onto_a_crm_status(value: str, status: str, reason: str | None) -> None:
    n = note("contact", property_name="hs_lead_status", property_value=value)
    assert needs_read(n) is None
    planned = plan(n, None, MAPPING)
    assert isinstance(planned, Planned) and planned.contact_ids == ("5101",)
    item = planned.item("lead-1")
    assert isinstance(item, StatusUpdate)
    assert (item.status, item.reason_code, item.changed_at) == (status, reason, AT)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("hs_lead_status", "NEW"),
        ("hs_lead_status", "OPEN"),
        ("hs_lead_status", "SOMETHING_CUSTOM"),
        ("lifecyclestage", "salesqualifiedlead"),
        ("hubspot_owner_id", "77"),
    ],
)
def test_unused_contact_changes_are_skipped(name: str, value: str) -> None:
    planned = plan(note("contact", property_name=name, property_value=value), None, MAPPING)
    assert isinstance(planned, Skipped) and planned.code == "skipped"


def test_the_user_map_extends_the_defaults() -> None:
    mapping = HubSpotMapping(statuses={"NURTURE": "recycled", "CONNECTED": None})
    nurture = note("contact", property_name="hs_lead_status", property_value="NURTURE")
    assert isinstance(plan(nurture, None, mapping), Planned)
    connected = note("contact", property_name="hs_lead_status", property_value="CONNECTED")
    assert isinstance(plan(connected, None, mapping), Skipped)
    opportunity = note("contact", property_name="lifecyclestage", property_value="opportunity")
    assert isinstance(plan(opportunity, None, mapping), Planned)
