"""A point in time as the HTTP edges take it: naive means UTC, an offset is converted to UTC,
and it lies after 1970 (earlier is a typo, and periods reaching back before year 1 cannot
even be computed)."""

from __future__ import annotations

from datetime import UTC, datetime
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
