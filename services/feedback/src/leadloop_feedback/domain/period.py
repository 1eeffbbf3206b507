"""The period and the filters a report is asked for."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

AVERAGE_MONTH_DAYS = 30.4375


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def before(self) -> Period:
        """The period of the same length that ends where this one starts."""
        return Period(self.start - (self.end - self.start), self.start)

    def as_dict(self) -> dict[str, datetime]:
        return {"start": self.start, "end": self.end}


def last_days(days: float, end: datetime | None = None) -> Period:
    """The `days` up to `end` (default: now)."""
    end = end or datetime.now(UTC)
    return Period(end - timedelta(days=days), end)


def month_of(moment: datetime) -> Period:
    """The calendar month (UTC) holding `moment`."""
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = calendar.monthrange(start.year, start.month)[1]
    return Period(start, start + timedelta(days=days))


@dataclass(frozen=True)
class Filters:
    """Narrow a report: leads by source or campaign, hand-offs by team or rep."""

    source: str | None = None
    campaign: str | None = None
    team: str | None = None
    rep_id: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


NO_FILTERS = Filters()
