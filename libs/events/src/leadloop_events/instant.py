"""A point in time as the HTTP edges take it: naive means UTC, an offset is converted to UTC,
and it lies after 1970 (earlier is a typo, and periods reaching back before year 1 cannot
even be computed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a time without an offset is taken as UTC."""
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+00:01 has no UTC time
        raise ValueError("the time is out of range once converted to UTC") from exc
    if utc < EARLIEST:
        raise ValueError("the time must be after 1970-01-01T00:00:00Z")
    return utc


Instant = Annotated[datetime, AfterValidator(as_utc)]


MAX_FUTURE_SKEW = timedelta(minutes=15)
"""How far ahead of this server's clock a reported time may be (other systems' clocks drift)."""


def not_in_future(value: datetime) -> datetime:
    """`value` in UTC, refused when it lies more than MAX_FUTURE_SKEW after now."""
    utc = as_utc(value)
    if utc > datetime.now(UTC) + MAX_FUTURE_SKEW:
        raise ValueError("the time lies in the future (more than 15 minutes after now)")
    return utc


PastInstant = Annotated[datetime, AfterValidator(not_in_future)]
"""An Instant that has happened: a time some system reports an event at."""
