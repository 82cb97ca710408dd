"""Billing periods: calendar months in the contract's time zone.

A period is a month such as ``2026-10``.  Its window is local midnight on the 1st to
local midnight on the 1st of the next month, as instants, so a Paris October has
44,700 minutes (the clocks go back) and a Paris March 44,580.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo

from .errors import InputError

_PERIOD = re.compile(r"^([0-9]{4})-([0-9]{2})$")
MICROSECONDS_PER_MINUTE = 60_000_000


def minutes(span: timedelta) -> Fraction:
    """A duration in minutes, exactly.

    >>> minutes(timedelta(seconds=90))
    Fraction(3, 2)
    """
    return Fraction(span // timedelta(microseconds=1), MICROSECONDS_PER_MINUTE)


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month; where it starts and ends depends on a time zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Period":
        """Read ``YYYY-MM``, a month of the years 1900 to 9998 (whose instants exist in every zone).

        >>> Period.parse("2026-10")
        Period(year=2026, month=10)
        >>> Period.parse("9999-12")
        Traceback (most recent call last):
        ...
        engine.core.errors.InputError: field --period: the period's year must be from 1900 to 9998, not 9999.
        """
        match = _PERIOD.match(text or "")
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InputError(f"the period must be a month written YYYY-MM, not {text!r}", field="--period")
        year = int(match.group(1))
        if not 1900 <= year <= 9998:
            raise InputError(f"the period's year must be from 1900 to 9998, not {year}", field="--period")
        return cls(year, int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> "Period":
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> "Period":
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def last_day(self) -> date:
        return self.next.first_day - timedelta(days=1)

    def window(self, tz: str) -> "Window":
        """The period's instants in zone ``tz``, as a half-open UTC window.

        >>> w = Period(2026, 10).window("Europe/Paris")
        >>> w.start.isoformat(), w.minutes
        ('2026-09-30T22:00:00+00:00', Fraction(44700, 1))
        >>> Period(2026, 3).window("Europe/Paris").minutes, Period(2028, 2).window("UTC").minutes
        (Fraction(44580, 1), Fraction(41760, 1))
        """
        return _window(self, tz)


@lru_cache(maxsize=4096)
def _window(period: Period, tz: str) -> "Window":
    # A book has a few dozen zones and every contract asks for its window, often more
    # than once (100,000 contracts asked 200,000 times): the instants are worked out once.
    zone = ZoneInfo(tz)
    start = datetime.combine(period.first_day, datetime.min.time(), zone).astimezone(timezone.utc)
    end = datetime.combine(period.next.first_day, datetime.min.time(), zone).astimezone(timezone.utc)
    return Window(start, end)


@dataclass(frozen=True)
class Window:
    """A half-open stretch of time ``[start, end)`` between two UTC instants."""

    start: datetime
    end: datetime

    # Worked out once per window: a window is shared by every contract of its zone.
    @cached_property
    def length(self) -> timedelta:
        return self.end - self.start

    @cached_property
    def minutes(self) -> Fraction:
        return minutes(self.length)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return start < self.end and end > self.start
