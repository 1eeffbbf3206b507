"""Working time: SLA deadlines count working minutes in a team's or rep's calendar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadloop_contract.values import time_zone

MAX_DAYS = 366


@dataclass(frozen=True)
class WorkingCalendar:
    """Working hours on working days in one time zone (Monday is 0)."""

    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(17, 0)
    workdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    holidays: frozenset[str] = frozenset()  # ISO dates, local

    def __post_init__(self) -> None:
        time_zone(self.timezone)  # an unknown zone fails here, not at the first deadline
        if self.start >= self.end:
            raise ValueError("working hours must start before they end")
        if not self.workdays:
            raise ValueError("a calendar needs at least one working day")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _works_on(self, local: datetime) -> bool:
        return local.weekday() in self.workdays and local.date().isoformat() not in self.holidays

    def is_working(self, at: datetime) -> bool:
        """Whether `at` falls inside working hours."""
        local = at.astimezone(self.zone)
        return self._works_on(local) and self.start <= local.time() < self.end

    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` working minutes after `start` (nights and weekends skipped)."""
        remaining = timedelta(minutes=minutes)
        local = start.astimezone(self.zone)
        for _ in range(MAX_DAYS * 2):
            day_start = datetime.combine(local.date(), self.start, self.zone)
            day_end = datetime.combine(local.date(), self.end, self.zone)
            if self._works_on(local) and local < day_end:
                begin = max(local, day_start)
                available = day_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
            next_day = local.date() + timedelta(days=1)
            local = datetime.combine(next_day, time(0, 0), self.zone)
        raise ValueError("no working time within a year")

    def working_minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes from `start` to `end` (0 if end is before start)."""
        if end <= start:
            return 0.0
        total = timedelta()
        local = start.astimezone(self.zone)
        stop = end.astimezone(self.zone)
        while local < stop:
            day_start = datetime.combine(local.date(), self.start, self.zone)
            day_end = datetime.combine(local.date(), self.end, self.zone)
            if self._works_on(local):
                begin, finish = max(local, day_start), min(stop, day_end)
                if finish > begin:
                    total += finish - begin
            local = datetime.combine(local.date() + timedelta(days=1), time(0, 0), self.zone)
        return total.total_seconds() / 60
