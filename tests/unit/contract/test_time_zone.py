"""One time-zone type for the agreement's teams, routing's working hours and its calendar."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from leadloop_contract.agreement.routing import Team
from leadloop_contract.values import TimeZoneName, time_zone
from leadloop_routing.domain.calendar import WorkingCalendar
from leadloop_routing.entrypoints.schemas import WorkingHours


def test_an_iana_zone_is_kept_as_written() -> None:
    assert TypeAdapter(TimeZoneName).validate_python("Europe/Berlin") == "Europe/Berlin"
    assert time_zone("UTC") == "UTC"


@pytest.mark.parametrize("name", ["Mars/Base", "", "../etc/passwd"])
def test_an_unknown_zone_is_refused_by_name_everywhere(name: str) -> None:
    refused = f"unknown time zone {name!r}"
    with pytest.raises(ValueError, match=refused):
        time_zone(name)
    with pytest.raises(ValidationError, match=refused):
        Team(name="dach", timezone=name)
    with pytest.raises(ValidationError, match=refused):
        WorkingHours(timezone=name)
    with pytest.raises(ValueError, match=refused):
        WorkingCalendar(timezone=name)
