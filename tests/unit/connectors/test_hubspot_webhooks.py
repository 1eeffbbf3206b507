"""The Webhooks API's event arrays: parsed into typed events, bad shapes refused by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from leadloop_connectors.hubspot import destination, is_event_array, parse_events

# The documented example payload (https://developers.hubspot.com/docs/api/webhooks).
DOCUMENTED = [
    {
        "objectId": 1246965,
        "propertyName": "lifecyclestage",
        "propertyValue": "subscriber",
        "changeSource": "ACADEMY",
        "eventId": 3816279340,
        "subscriptionId": 25,
        "portalId": 33,
        "appId": 1160452,
        "occurredAt": 1462216307945,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
    },
    {
        "objectId": 1246978,
        "changeSource": "IMPORT",
        "eventId": 3816279480,
        "subscriptionId": 22,
        "portalId": 33,
        "appId": 1160452,
        "occurredAt": 1462216307945,
        "subscriptionType": "contact.creation",
        "attemptNumber": 1,
    },
]


def test_the_documented_example_parses() -> None:
    change, created = parse_events(json.dumps(DOCUMENTED).encode())
    assert (change.object_type, change.action, change.object_id) == (
        "contact",
        "propertyChange",
        "1246965",
    )
    assert (change.property_name, change.property_value) == ("lifecyclestage", "subscriber")
    assert change.occurred_at == datetime(2016, 5, 2, 19, 11, 47, 945000, tzinfo=UTC)
    assert (created.action, created.attempt_number, created.portal_id) == ("creation", 1, 33)
    assert created.property_name is None
    assert change.key != created.key


def test_generic_object_events_name_their_type_by_object_type_id() -> None:
    call = {**DOCUMENTED[1], "subscriptionType": "object.creation", "objectTypeId": "0-48"}
    (event,) = parse_events([call])
    assert (event.object_type, event.action) == ("call", "creation")
    assert destination(event) == "feedback"


@pytest.mark.parametrize(
    ("subscription", "prop", "where"),
    [
        ("contact.creation", None, "intake"),
        ("contact.propertyChange", "utm_campaign", "intake"),
        ("contact.privacyDeletion", None, "intake"),
        ("contact.propertyChange", "hs_lead_status", "feedback"),
        ("contact.propertyChange", "lifecyclestage", "feedback"),
        ("deal.creation", None, "feedback"),
        ("deal.propertyChange", "dealstage", "feedback"),
        ("company.creation", None, "ignored"),
        ("contact.deletion", None, "ignored"),
    ],
)
def test_each_event_has_one_destination(subscription: str, prop: str | None, where: str) -> None:
    raw = {**DOCUMENTED[1], "subscriptionType": subscription, "propertyName": prop}
    assert destination(parse_events([raw])[0]) == where


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "not JSON"),
        (b'{"objectId": 1}', "JSON array"),
        (json.dumps([1]).encode(), "event 0: each event must be a JSON object"),
        (json.dumps([{**DOCUMENTED[0], "objectId": "abc"}]).encode(), "'objectId'"),
        (json.dumps([{**DOCUMENTED[0], "objectId": None}]).encode(), "'objectId' is missing"),
        (json.dumps([{**DOCUMENTED[0], "occurredAt": True}]).encode(), "'occurredAt'"),
        (
            json.dumps([{**DOCUMENTED[0], "subscriptionType": "contact"}]).encode(),
            "subscriptionType",
        ),
        (
            json.dumps([{**DOCUMENTED[0], "subscriptionType": "object.creation"}]).encode(),
            "objectTypeId",
        ),
        (json.dumps([{**DOCUMENTED[0], "propertyValue": {"x": 1}}]).encode(), "'propertyValue'"),
        (json.dumps([DOCUMENTED[0]] * 101).encode(), "at most 100"),
    ],
)
def test_bad_shapes_are_refused_by_name(body: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_events(body)


def test_an_event_array_is_told_from_a_workflow_webhook() -> None:
    payload: dict[str, Any] = {"email": "ana@acme.com"}
    assert is_event_array(b'  [{"objectId": 1}]')
    assert not is_event_array(json.dumps(payload).encode())
