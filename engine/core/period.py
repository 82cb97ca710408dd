"""Billing periods: calendar months in the contract's time zone, and the quarters they end.

A period is a month such as ``2026-10``.  Its window is local midnight on the 1st to
local midnight on the 1st of the next month, as instants, so a Paris October has
44,700 minutes (the clocks go back) and a Paris March 44,580.  A rule set with
``assessment: quarter`` measures over the quarter that ends with the month run
(``Period.quarter``), counted from its ``fiscal_year_start``; ``Window.cut`` narrows a
window to the days on which a contract is active (``period_basis: active``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
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

    def quarter(self, fiscal_year_start: int = 1) -> tuple["Period", "Period"] | None:
        """The first and last month of the quarter that ends with this month, or None.

        Quarters count from ``fiscal_year_start``: with 2 they are Feb-Apr, May-Jul, Aug-Oct
        and Nov-Jan.

        >>> Period(2026, 4).quarter(2), Period(2026, 3).quarter(2)
        ((Period(year=2026, month=2), Period(year=2026, month=4)), None)
        >>> Period(2027, 1).quarter(2), Period(2026, 12).quarter()
        ((Period(year=2026, month=11), Period(year=2027, month=1)), (Period(year=2026, month=10), Period(year=2026, month=12)))
        """
        if (self.month - fiscal_year_start) % 3 != 2:
            return None
        return self.previous.previous, self

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
    return Window(start, end, tz)


def local_midnight(day: date, tz: str) -> datetime:
    """The instant a day begins in zone ``tz``, in UTC.

    >>> local_midnight(date(2026, 10, 25), "Europe/Paris").isoformat()
    '2026-10-24T22:00:00+00:00'
    """
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(timezone.utc)


@lru_cache(maxsize=4096)
def months_window(first: Period, last: Period, tz: str) -> "Window":
    """From local midnight on the 1st of ``first`` to the end of ``last``: a quarter's window.

    >>> months_window(Period(2026, 2), Period(2026, 4), "America/Los_Angeles").minutes
    Fraction(128100, 1)
    """
    return Window(first.window(tz).start, last.window(tz).end, tz)


@dataclass(frozen=True)
class Window:
    """A half-open stretch of time ``[start, end)`` between two UTC instants.

    ``zone`` is the time zone whose calendar days the window is made of: units of whole
    days are that zone's days (``count: touched`` and ``full``).
    """

    start: datetime
    end: datetime
    zone: str = "UTC"

    # Worked out once per window: a window is shared by every contract of its zone.
    @cached_property
    def length(self) -> timedelta:
        return self.end - self.start

    @cached_property
    def minutes(self) -> Fraction:
        return minutes(self.length)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return start < self.end and end > self.start

    def cut(self, first_day: date, last_day: date | None) -> "Window":
        """The part of the window from local midnight of ``first_day`` to the end of ``last_day``.

        >>> w = Period(2026, 6).window("America/New_York").cut(date(2026, 6, 16), None)
        >>> w.start.isoformat(), w.minutes
        ('2026-06-16T04:00:00+00:00', Fraction(21600, 1))
        """
        start = max(self.start, local_midnight(first_day, self.zone))
        end = self.end if last_day is None else min(self.end, local_midnight(last_day + timedelta(days=1), self.zone))
        return Window(start, max(start, end), self.zone)

    def days(self) -> int:
        """The calendar days the window spans in its zone (it starts and ends at local midnights).

        >>> Period(2026, 2).window("UTC").days(), months_window(Period(2026, 2), Period(2026, 4), "UTC").days()
        (28, 89)
        """
        zone = ZoneInfo(self.zone)
        return (self.end.astimezone(zone).date() - self.start.astimezone(zone).date()).days
