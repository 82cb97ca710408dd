"""Business time: how much of a ticket's life counts against its target, and when it falls due.

Response and resolution objectives (INTERFACE.md section 1) hold each ticket to a
``target_time`` measured on a clock: ``24x7`` (real time) or one of the rule set's
``calendars``, whose opening hours are wall-clock times in the calendar's time zone, with
public holidays and extra ``closed`` dates closed all day. Time spent waiting on the customer
(``ticket_pauses.csv``) never counts, however the pauses overlap each other or closed hours.

``clock.elapsed(created, responded, pauses)`` is the business time a ticket used;
``clock.add(created, target_time, pauses)`` is the instant it falls due. Both are exact to the
microsecond and agree: ``elapsed(start, add(start, x)) == x``.

What "open" means across clock changes: the office is open at an instant when the wall clock
of the calendar's zone shows a date and time inside one of that day's opening intervals.
A wall time skipped when the clocks go forward is never open, and an hour shown twice when
they go back is open both times. So on Europe/Paris's 29 March 2026 an opening of 01:00-04:00
is 2 h of real time and on 25 October 2026 it is 4 h. In zoneinfo's terms, an interval
boundary inside a repeated hour is taken at ``fold=0`` for the stretch before the change and at
``fold=1`` for the stretch after it, and a boundary inside a skipped hour moves to the instant
of the change; an interval lying wholly in a skipped hour has no open time.

The clocks walk opening stretches day by day, each day's stretches being worked out once per
clock and kept, so a ticket costs a few dictionary look-ups per day it spans.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Sequence
from zoneinfo import ZoneInfo

import holidays as public_holidays

from .canonical import EPOCH, MICROSECOND, from_micros, to_micros
from .intervals import union
from .schema import Calendar

Pause = tuple[datetime, datetime]

UTC = timezone.utc
EPOCH_DAY = EPOCH.date().toordinal()
HOUR = 3_600_000_000
DAY = 24 * HOUR

# A calendar that has opening hours yet stays closed this many days in a row (every
# opening lost to holidays, closed dates or skipped clock hours) would make a deadline
# unreachable; saying so beats looping for ever.
LONGEST_CLOSURE_DAYS = 1000


def _instant(moment: datetime, what: str) -> int:
    """Microseconds since 1970-01-01 UTC: exact, and cheap to compare and add."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} {moment.isoformat()} has no UTC offset; business time needs an instant")
    return to_micros(moment)



def _waiting(pauses: Sequence[Pause], after: int, before: int | None = None) -> list[tuple[int, int]]:
    """The time waiting on the customer within [after, before), merged so none counts twice."""
    spans = []
    for start, end in pauses:
        begins = max(_instant(start, "the pause start"), after)
        ends = _instant(end, "the pause end")
        if before is not None:
            ends = min(ends, before)
        if begins < ends:
            spans.append((begins, ends))
    return union(spans)


@lru_cache(maxsize=None)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[int]:
    """Day numbers (date ordinals) of one year's public holidays, observed days included."""
    return frozenset(day.toordinal()
                     for day in public_holidays.country_holidays(country, subdiv=subdivision, years=year))


def _since_midnight(moment: time | None) -> int:
    if moment is None:  # an opening that runs to 24:00
        return DAY
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + moment.microsecond


class BusinessClock:
    """Business time on one calendar: its opening hours, public holidays and closed days.

    Build it with ``BusinessClock.of(calendar)``, which hands back the same clock (and so the
    same remembered days) for calendars with the same content.
    """

    _clocks: dict[tuple, "BusinessClock"] = {}

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.zone = ZoneInfo(calendar.timezone)
        self.week = tuple(tuple((_since_midnight(opens), _since_midnight(closes)) for opens, closes in day)
                          for day in calendar.opening())
        country, _, subdivision = (calendar.holidays or "").partition("-")
        self.holiday_country = country or None
        self.holiday_subdivision = subdivision or None
        self.closed_days = frozenset(day.toordinal() for day in calendar.closed)
        self._days: dict[int, tuple[tuple[tuple[int, int], ...], int]] = {}

    @classmethod
    def of(cls, calendar: Calendar) -> "BusinessClock":
        """The clock of ``calendar``, made once per distinct calendar content."""
        key = (calendar.timezone, tuple(calendar.hours.items()), calendar.holidays, calendar.closed)
        clock = cls._clocks.get(key)
        if clock is None:
            clock = cls._clocks[key] = cls(calendar)
        return clock

    def __repr__(self) -> str:
        return f"BusinessClock({self.calendar!r})"

    # --- the two questions -------------------------------------------------------------------

    def elapsed(self, start: datetime, end: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
        """The business time from ``start`` to ``end``, less the open time spent in ``pauses``.

        An ``end`` at or before ``start`` gives no time.
        """
        begins, ends = _instant(start, "the start"), _instant(end, "the end")
        if ends <= begins:
            return timedelta(0)
        used = self._open_between(begins, ends)
        for paused_from, paused_to in _waiting(pauses, begins, ends):
            used -= self._open_between(paused_from, paused_to)
        return timedelta(microseconds=used)

    def add(self, start: datetime, amount: timedelta, pauses: Sequence[Pause] = ()) -> datetime:
        """The first instant (in UTC) at which ``amount`` of business time has elapsed since ``start``.

        Closed time and pauses are skipped; a start in closed time counts from the next opening.
        A deadline that lands at the end of an opening interval is that end, not the next opening.
        """
        begins = _instant(start, "the start")
        needed = amount // MICROSECOND
        if needed < 0:
            raise ValueError(f"cannot add a negative amount of business time ({amount})")
        if needed == 0:
            return from_micros(begins)
        return from_micros(self._deadline(begins, needed, _waiting(pauses, begins)))

    # --- walking the opening stretches ---------------------------------------------------------

    def _open_between(self, begins: int, ends: int) -> int:
        """Open microseconds in [begins, ends)."""
        total = 0
        day, last = self._local_day(begins), self._local_day(ends)
        while day <= last:
            stretches, length = self._day(day)
            if stretches:
                if stretches[0][0] >= begins and stretches[-1][1] <= ends:
                    total += length
                else:
                    for opens, closes in stretches:
                        lo = opens if opens > begins else begins
                        hi = closes if closes < ends else ends
                        if lo < hi:
                            total += hi - lo
            day += 1
        return total

    def _deadline(self, begins: int, needed: int, waiting: list[tuple[int, int]]) -> int:
        if not any(self.week):
            raise ValueError(f"the calendar {self.calendar!r} has no opening hours, so nothing ever falls due")
        pause, pauses = 0, len(waiting)
        day = self._local_day(begins)
        closed_in_a_row = 0
        while True:
            stretches, length = self._day(day)
            day += 1
            if not stretches:
                closed_in_a_row += 1
                if closed_in_a_row > LONGEST_CLOSURE_DAYS:
                    raise ValueError(f"the calendar {self.calendar!r} stays closed for more than "
                                     f"{LONGEST_CLOSURE_DAYS} days in a row, so nothing falls due")
                continue
            closed_in_a_row = 0
            if (length < needed and stretches[0][0] >= begins
                    and (pause == pauses or waiting[pause][0] >= stretches[-1][1])):
                needed -= length
                continue
            for opens, closes in stretches:
                if closes <= begins:
                    continue
                counting = opens if opens > begins else begins
                while counting < closes:
                    while pause < pauses and waiting[pause][1] <= counting:
                        pause += 1
                    if pause < pauses and waiting[pause][0] <= counting:
                        counting = waiting[pause][1]
                        continue
                    until = closes if pause == pauses or waiting[pause][0] >= closes else waiting[pause][0]
                    if until - counting >= needed:
                        return counting + needed
                    needed -= until - counting
                    counting = until

    def _local_day(self, instant: int) -> int:
        """The date (as an ordinal) that the calendar's wall clock shows at ``instant``."""
        return from_micros(instant).astimezone(self.zone).toordinal()

    def _day(self, day: int) -> tuple[tuple[tuple[int, int], ...], int]:
        """A local day's open stretches as UTC instants, in order, and their total length."""
        known = self._days.get(day)
        if known is None:
            stretches = tuple(self._opening_stretches(day))
            known = self._days[day] = (stretches, sum(closes - opens for opens, closes in stretches))
        return known

    def _opening_stretches(self, day: int) -> list[tuple[int, int]]:
        if day in self.closed_days or self._is_public_holiday(day):
            return []
        hours = self.week[(day - 1) % 7]  # ordinal 1 (1 January of year 1) was a Monday
        if not hours:
            return []
        midnight = (day - EPOCH_DAY) * DAY  # the wall time 00:00 of that day, counted as if it were UTC
        pieces = []
        for opens, closes in hours:
            for since, until, offset in self._offsets_around(day):
                # The instants this offset governs whose wall time lies inside the interval.
                lo = max(midnight + opens - offset, since)
                hi = min(midnight + closes - offset, until)
                if lo < hi:
                    pieces.append((lo, hi))
        return union(pieces)

    def _is_public_holiday(self, day: int) -> bool:
        if self.holiday_country is None:
            return False
        year = date.fromordinal(day).year
        return day in _public_holidays(self.holiday_country, self.holiday_subdivision, year)

    def _offsets_around(self, day: int) -> list[tuple[int, int, int]]:
        """(since, until, UTC offset) for each stretch of one offset, covering every instant of ``day``.

        The window reaches a day beyond each side because offsets span -12 h to +14 h. Offsets
        are sampled hourly and each change is pinned to the microsecond by bisection; no zone
        changes its offset twice within an hour.
        """
        since = (day - EPOCH_DAY - 1) * DAY
        window_end = since + 3 * DAY
        offsets = []
        offset = self._offset_at(since)
        probe = since
        while probe < window_end:
            following = probe + HOUR
            new_offset = self._offset_at(following)
            if new_offset != offset:
                before, after = probe, following
                while after - before > 1:
                    middle = (before + after) // 2
                    if self._offset_at(middle) == offset:
                        before = middle
                    else:
                        after = middle
                offsets.append((since, after, offset))
                since, offset = after, new_offset
            probe = following
        offsets.append((since, window_end, offset))
        return offsets

    def _offset_at(self, instant: int) -> int:
        return from_micros(instant).astimezone(self.zone).utcoffset() // MICROSECOND


class _RoundTheClock(BusinessClock):
    """The ``24x7`` clock: real time, less pauses."""

    def __init__(self) -> None:
        self.calendar = None
        self.zone = UTC

    def __repr__(self) -> str:
        return "TWENTY_FOUR_SEVEN"

    def _open_between(self, begins: int, ends: int) -> int:
        return ends - begins

    def _deadline(self, begins: int, needed: int, waiting: list[tuple[int, int]]) -> int:
        counting = begins
        for paused_from, paused_to in waiting:
            if paused_from - counting >= needed:
                break
            if paused_from > counting:
                needed -= paused_from - counting
            counting = max(counting, paused_to)
        return counting + needed


TWENTY_FOUR_SEVEN = _RoundTheClock()
"""The clock of objectives with ``clock: 24x7`` (the default)."""
