"""Business time on calendars and the 24x7 clock, with every figure worked out by hand.

Dates are in 2026: 3 April is a Friday, 6 April Easter Monday; clocks in Europe/Paris go
forward at 02:00 on Sunday 29 March (23-hour day) and back at 03:00 on Sunday 25 October
(25-hour day).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.calendars import TWENTY_FOUR_SEVEN, BusinessClock
from engine.core.schema import Calendar

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def clock(hours=None, zone="Europe/Paris", holidays=None, closed=()) -> BusinessClock:
    return BusinessClock.of(Calendar(timezone=zone, hours=hours or {"mon-fri": "09:00-17:00"},
                                     holidays=holidays, closed=closed))


def paris(day: int, month: int, hour: int = 0, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, fold=fold, tzinfo=PARIS)


def utc(day: int, month: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


OFFICE = clock()                                   # Mon-Fri 09:00-17:00 Paris, no holidays
OFFICE_FR = clock(holidays="FR")


def test_the_dates_used_here():
    assert paris(3, 4).strftime("%A") == "Friday"
    assert holidays.country_holidays("FR", years=2026).get(date(2026, 4, 6)) == "Easter Monday"
    assert paris(28, 3, 12).utcoffset() == H and paris(29, 3, 12).utcoffset() == 2 * H


# --- the brief's examples ---------------------------------------------------------------------------

def test_friday_afternoon_ticket_is_due_monday_noon():
    # Friday 16:00-17:00 is 1 h; Monday 09:00-12:00 the other 3 h.
    due = OFFICE.add(paris(3, 4, 16), 4 * H)
    assert due == paris(6, 4, 12)
    assert due.tzinfo is UTC and due == utc(6, 4, 10)
    assert OFFICE.elapsed(paris(3, 4, 16), due) == 4 * H


def test_easter_monday_pushes_it_to_tuesday_noon():
    assert OFFICE_FR.add(paris(3, 4, 16), 4 * H) == paris(7, 4, 12)
    assert OFFICE_FR.elapsed(paris(3, 4, 16), paris(7, 4, 12)) == 4 * H
    assert OFFICE_FR.elapsed(paris(6, 4, 0), paris(7, 4, 0)) == timedelta(0)


def test_whit_monday_too():
    # 22 May 2026 is a Friday, 25 May Whit Monday.
    assert OFFICE_FR.add(paris(22, 5, 16), 4 * H) == paris(26, 5, 12)


def test_split_hours_skip_lunch():
    split = clock({"mon-fri": "09:00-12:00, 13:00-17:00"})
    # 11:30-12:00 and 13:00-13:30.
    assert split.elapsed(paris(7, 4, 11, 30), paris(7, 4, 13, 30)) == H
    assert split.add(paris(7, 4, 11, 30), H) == paris(7, 4, 13, 30)
    # A deadline at the end of the morning is 12:00, not 13:00.
    assert split.add(paris(7, 4, 11, 30), 30 * MINUTE) == paris(7, 4, 12)


def test_start_in_closed_time_counts_from_the_next_opening():
    # Saturday 11 April 10:00: counting starts Monday 13 April 09:00.
    assert OFFICE.add(paris(11, 4, 10), H) == paris(13, 4, 10)
    assert OFFICE.add(paris(7, 4, 20), H) == paris(8, 4, 10)          # Tuesday evening
    assert OFFICE.add(paris(8, 4, 6), H) == paris(8, 4, 10)           # Wednesday early morning
    assert OFFICE.elapsed(paris(11, 4, 10), paris(13, 4, 10)) == H


def test_end_before_start_is_nothing():
    assert OFFICE.elapsed(paris(8, 4, 12), paris(8, 4, 10)) == timedelta(0)
    assert OFFICE.elapsed(paris(8, 4, 12), paris(8, 4, 12)) == timedelta(0)
    assert TWENTY_FOUR_SEVEN.elapsed(paris(8, 4, 12), paris(8, 4, 10)) == timedelta(0)


def test_microseconds_are_kept():
    start = paris(8, 4, 9, 0) + timedelta(microseconds=1)
    assert OFFICE.elapsed(start, paris(8, 4, 10)) == H - timedelta(microseconds=1)
    assert OFFICE.add(start, timedelta(microseconds=7)) == start + timedelta(microseconds=7)


def test_zero_amount_is_due_at_once():
    assert OFFICE.add(paris(11, 4, 10), timedelta(0)) == paris(11, 4, 10)


# --- pauses -----------------------------------------------------------------------------------------

def test_a_pause_over_the_weekend_removes_only_its_open_part():
    # Friday 10 April 14:00 to Monday 13 April 12:00 is 3 h + 3 h open. The pause from
    # Friday 16:00 to Monday 10:00 covers Friday 16-17 and Monday 09-10 of open time: 2 h.
    pause = [(paris(10, 4, 16), paris(13, 4, 10))]
    assert OFFICE.elapsed(paris(10, 4, 14), paris(13, 4, 12)) == 6 * H
    assert OFFICE.elapsed(paris(10, 4, 14), paris(13, 4, 12), pause) == 4 * H
    # The deadline: Friday 14-16 (2 h), then Monday 10-12 (2 h).
    assert OFFICE.add(paris(10, 4, 14), 4 * H, pause) == paris(13, 4, 12)


def test_overlapping_pauses_count_once():
    # Monday 13 April 09:00-17:00 is 8 h; the pauses cover 10:00-11:30 together, 1.5 h.
    pauses = [(paris(13, 4, 10), paris(13, 4, 11)), (paris(13, 4, 10, 30), paris(13, 4, 11, 30)),
              (paris(13, 4, 10, 45), paris(13, 4, 11))]
    assert OFFICE.elapsed(paris(13, 4, 9), paris(13, 4, 17), pauses) == timedelta(hours=6, minutes=30)
    assert OFFICE.add(paris(13, 4, 9), 2 * H, pauses) == paris(13, 4, 12, 30)
    assert TWENTY_FOUR_SEVEN.elapsed(paris(13, 4, 9), paris(13, 4, 17), pauses) == timedelta(hours=6, minutes=30)


def test_pauses_outside_the_ticket_change_nothing():
    pauses = [(paris(14, 4, 10), paris(14, 4, 11)), (paris(12, 4, 10), paris(13, 4, 8)),
              (paris(13, 4, 18), paris(13, 4, 17))]                     # the last one is backwards
    assert OFFICE.elapsed(paris(13, 4, 9), paris(13, 4, 17), pauses) == 8 * H
    assert OFFICE.add(paris(13, 4, 9), 8 * H, pauses) == paris(13, 4, 17)
    assert TWENTY_FOUR_SEVEN.elapsed(paris(13, 4, 9), paris(13, 4, 17), pauses) == 8 * H


def test_a_pause_begun_before_the_ticket_counts_from_its_start():
    pause = [(paris(13, 4, 8), paris(13, 4, 10))]
    assert OFFICE.elapsed(paris(13, 4, 9, 30), paris(13, 4, 12), pause) == 2 * H
    assert OFFICE.add(paris(13, 4, 9, 30), 2 * H, pause) == paris(13, 4, 12)


def test_a_pause_in_closed_time_only_changes_nothing():
    pause = [(paris(11, 4, 0), paris(13, 4, 9))]                        # the weekend
    assert OFFICE.add(paris(10, 4, 16), 4 * H, pause) == paris(13, 4, 12)


# --- daylight-saving changes ------------------------------------------------------------------------

def test_24x7_is_real_time_across_the_changes():
    assert TWENTY_FOUR_SEVEN.elapsed(paris(28, 3, 12), paris(29, 3, 12)) == 23 * H
    assert TWENTY_FOUR_SEVEN.elapsed(paris(24, 10, 12), paris(25, 10, 12)) == 25 * H
    # Saturday 22:00 CET + 8 h = Sunday 07:00 CEST.
    assert TWENTY_FOUR_SEVEN.add(paris(28, 3, 22), 8 * H) == paris(29, 3, 7)
    assert TWENTY_FOUR_SEVEN.add(paris(24, 10, 22), 8 * H) == paris(25, 10, 5)
    assert TWENTY_FOUR_SEVEN.add(paris(24, 10, 22), 8 * H).tzinfo is UTC
    # Less a pause of 1 h: Sunday 08:00.
    pause = [(paris(29, 3, 4), paris(29, 3, 5))]
    assert TWENTY_FOUR_SEVEN.add(paris(28, 3, 22), 8 * H, pause) == paris(29, 3, 8)
    assert TWENTY_FOUR_SEVEN.elapsed(paris(28, 3, 22), paris(29, 3, 8), pause) == 8 * H


def test_an_always_open_calendar_matches_real_time_across_the_changes():
    always = clock({"mon-sun": "00:00-24:00"})
    for start, end in [(paris(28, 3, 12), paris(29, 3, 12)), (paris(24, 10, 12), paris(25, 10, 12)),
                       (paris(27, 3), paris(31, 3, 6, 17))]:
        real = end.astimezone(UTC) - start.astimezone(UTC)   # not end - start: that is wall time
        assert always.elapsed(start, end) == TWENTY_FOUR_SEVEN.elapsed(start, end) == real
    assert TWENTY_FOUR_SEVEN.elapsed(paris(27, 3), paris(31, 3, 6, 17)) == timedelta(days=4, hours=5, minutes=17)
    assert always.add(paris(28, 3, 22), 8 * H) == paris(29, 3, 7)


def test_a_night_opening_on_the_change_nights():
    night = clock({"sun": "01:00-04:00"})
    # 29 March: 01:00-02:00 CET then 03:00-04:00 CEST, 2 h; 25 October: 01:00-03:00 CEST and
    # 02:00-04:00 CET, 4 h; an ordinary Sunday, 3 h.
    assert night.elapsed(paris(29, 3), paris(30, 3)) == 2 * H
    assert night.elapsed(paris(25, 10), paris(26, 10)) == 4 * H
    assert night.elapsed(paris(5, 4), paris(6, 4)) == 3 * H
    # 01:30 CET + 1 h: half an hour to 02:00, the clock jumps to 03:00, half an hour more.
    assert night.add(paris(29, 3, 1, 30), H) == paris(29, 3, 3, 30) == utc(29, 3, 1, 30)
    # The first 02:30 (CEST) + 1 h is the second 02:30 (CET).
    due = night.add(paris(25, 10, 2, 30, fold=0), H)
    assert due == utc(25, 10, 1, 30)
    assert due.astimezone(PARIS).fold == 1 and due.astimezone(PARIS).hour == 2
    # From 01:00 on 25 October: 01:00-03:00 CEST is 2 h, then the clock shows 02:00 again and
    # 02:00-03:00 CET is the third hour.
    assert night.add(paris(25, 10, 1), 3 * H) == paris(25, 10, 3) == utc(25, 10, 2)
    assert night.add(paris(25, 10, 1), 4 * H) == paris(25, 10, 4)


def test_opening_hours_inside_the_skipped_and_repeated_hours():
    # 02:15-02:45 never shows on the clock on 29 March, and shows twice on 25 October.
    inside = clock({"sun": "02:15-02:45"})
    assert inside.elapsed(paris(29, 3), paris(30, 3)) == timedelta(0)
    assert inside.elapsed(paris(25, 10), paris(26, 10)) == H
    assert inside.add(paris(28, 3, 12), 30 * MINUTE) == paris(5, 4, 2, 45)
    # 02:30-05:00: 03:00-05:00 CEST in March (2 h); in October 02:30-03:00 CEST and
    # 02:30-05:00 CET (3 h).
    late = clock({"sun": "02:30-05:00"})
    assert late.elapsed(paris(29, 3), paris(30, 3)) == 2 * H
    assert late.elapsed(paris(25, 10), paris(26, 10)) == 3 * H


def test_office_hours_ticket_over_the_change_weekend():
    # Friday 27 March 16:00 CET + 4 h: Monday 30 March 12:00 CEST; 67 h of real time.
    due = OFFICE.add(paris(27, 3, 16), 4 * H)
    assert due == paris(30, 3, 12) == utc(30, 3, 10)
    assert OFFICE.elapsed(paris(27, 3, 16), due) == 4 * H
    assert TWENTY_FOUR_SEVEN.elapsed(paris(27, 3, 16), due) == 67 * H
    assert OFFICE.add(paris(23, 10, 16), 4 * H) == paris(26, 10, 12) == utc(26, 10, 11)


def test_instants_in_any_offset():
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 4, 3, 10, tzinfo=new_york)                    # = Friday 16:00 Paris
    assert OFFICE.add(start, 4 * H) == paris(6, 4, 12)
    assert OFFICE.elapsed(start, datetime(2026, 4, 6, 6, tzinfo=new_york)) == 4 * H


# --- holidays and closed days ------------------------------------------------------------------------

def test_subdivision_holidays():
    # Tuesday 6 January 2026, Epiphany: a public holiday in Bavaria, not in Berlin.
    berlin = ZoneInfo("Europe/Berlin")
    day = (datetime(2026, 1, 6, tzinfo=berlin), datetime(2026, 1, 7, tzinfo=berlin))
    assert clock(zone="Europe/Berlin", holidays="DE-BY").elapsed(*day) == timedelta(0)
    assert clock(zone="Europe/Berlin", holidays="DE-BE").elapsed(*day) == 8 * H
    # Easter Monday is a bank holiday in England, not in Scotland.
    london = ZoneInfo("Europe/London")
    easter_monday = (datetime(2026, 4, 6, tzinfo=london), datetime(2026, 4, 7, tzinfo=london))
    assert clock(zone="Europe/London", holidays="GB-ENG").elapsed(*easter_monday) == timedelta(0)
    assert clock(zone="Europe/London", holidays="GB-SCT").elapsed(*easter_monday) == 8 * H
    # Thursday 2 April 16:00 London + 4 h: 1 h on Thursday; Good Friday and Easter Monday are
    # closed in England; 3 h on Tuesday 7 April.
    assert (clock(zone="Europe/London", holidays="GB-ENG").add(datetime(2026, 4, 2, 16, tzinfo=london), 4 * H)
            == datetime(2026, 4, 7, 12, tzinfo=london))


def test_holidays_of_the_years_needed():
    # From 31 December 2026 16:00: 1 January 2027 is New Year's Day, then the weekend.
    assert OFFICE_FR.add(datetime(2026, 12, 31, 16, tzinfo=PARIS), 4 * H) == datetime(2027, 1, 4, 12, tzinfo=PARIS)


def test_closed_dates():
    # Wednesday 23 December 16:00 + 2 h; Thursday 24 is closed, Friday 25 is Christmas.
    eve = clock(closed=(date(2026, 12, 24),))
    assert eve.elapsed(paris(24, 12), paris(25, 12)) == timedelta(0)
    assert eve.add(paris(23, 12, 16), 2 * H) == paris(25, 12, 10)
    eve_fr = clock(holidays="FR", closed=(date(2026, 12, 24),))
    assert eve_fr.add(paris(23, 12, 16), 2 * H) == paris(28, 12, 10)
    assert eve_fr.elapsed(paris(23, 12, 16), paris(28, 12, 10)) == 2 * H


# --- the clock itself ------------------------------------------------------------------------------

def test_one_clock_per_calendar_content():
    a = Calendar(timezone="Europe/Paris", hours={"mon-fri": "09:00-17:00"}, holidays="FR")
    b = Calendar(timezone="Europe/Paris", hours={"mon-fri": "09:00-17:00"}, holidays="FR")
    assert BusinessClock.of(a) is BusinessClock.of(b)
    assert BusinessClock.of(a) is not OFFICE


def test_bad_input():
    with pytest.raises(ValueError, match="no UTC offset"):
        OFFICE.elapsed(datetime(2026, 4, 8, 9), paris(8, 4, 10))
    with pytest.raises(ValueError, match="no UTC offset"):
        OFFICE.add(paris(8, 4, 9), H, [(datetime(2026, 4, 8, 9), paris(8, 4, 10))])
    with pytest.raises(ValueError, match="negative"):
        OFFICE.add(paris(8, 4, 9), -H)
    with pytest.raises(ValueError, match="no opening hours"):
        BusinessClock(Calendar(timezone="UTC", hours={})).add(paris(8, 4, 9), H)
    assert BusinessClock(Calendar(timezone="UTC", hours={})).elapsed(paris(8, 4, 9), paris(9, 4, 9)) == timedelta(0)


# --- properties -----------------------------------------------------------------------------------

CALENDARS = {
    "office": Calendar(timezone="Europe/Paris", hours={"mon-fri": "09:00-17:00"}, holidays="FR"),
    "split": Calendar(timezone="Europe/Paris",
                      hours={"mon-thu": "08:00-12:00, 13:00-18:00", "fri": "09:00-17:00",
                             "sat-sun": "00:30-03:30, 22:00-24:00"},
                      closed=(date(2026, 3, 27), date(2026, 10, 26))),
    "new-york": Calendar(timezone="America/New_York", hours={"mon-sun": "01:30-02:30, 23:00-24:00"},
                         holidays="US"),
    "lord-howe": Calendar(timezone="Australia/Lord_Howe",    # clocks move by 30 minutes
                          hours={"mon-fri": "00:00-02:15, 02:45-24:00", "sun": "01:45-02:10"}),
    "berlin": Calendar(timezone="Europe/Berlin", hours={"mon-fri": "07:00-19:00"}, holidays="DE-BY"),
}

# Windows holding the spring and autumn changes of all the zones above.
WINDOWS = [utc(1, 3), utc(20, 3), utc(1, 4), utc(28, 9), utc(20, 10), datetime(2026, 12, 20, tzinfo=UTC)]

calendars = st.sampled_from(sorted(CALENDARS))
starts = st.builds(lambda base, minutes, micro: base + timedelta(minutes=minutes, microseconds=micro),
                   st.sampled_from(WINDOWS), st.integers(0, 20 * 24 * 60), st.integers(0, 59_999_999))
amounts = st.builds(lambda micro: timedelta(microseconds=micro), st.integers(0, 60 * 3_600_000_000))
pauses_near = st.lists(st.tuples(st.integers(-2 * 24 * 60, 6 * 24 * 60), st.integers(0, 2 * 24 * 60)), max_size=4)


def as_pauses(start: datetime, spec) -> list[tuple[datetime, datetime]]:
    return [(start + timedelta(minutes=at), start + timedelta(minutes=at + length)) for at, length in spec]


@given(calendars, starts, amounts, pauses_near)
def test_add_and_elapsed_agree(name, start, amount, pause_spec):
    business = BusinessClock.of(CALENDARS[name])
    pauses = as_pauses(start, pause_spec)
    due = business.add(start, amount, pauses)
    assert due >= start
    assert business.elapsed(start, due, pauses) == amount
    if amount:
        # And it is the first such instant.
        assert business.elapsed(start, due - timedelta(microseconds=1), pauses) < amount


@given(calendars, starts, amounts, amounts)
def test_elapsed_adds_up(name, start, first, second):
    business = BusinessClock.of(CALENDARS[name])
    middle, end = start + first, start + first + second
    assert business.elapsed(start, end) == business.elapsed(start, middle) + business.elapsed(middle, end)


def open_minutes(calendar: Calendar, start: datetime, end: datetime, pauses) -> int:
    """Minute by minute: is the wall clock inside an opening interval, outside every pause?"""
    zone = ZoneInfo(calendar.timezone)
    week = calendar.opening()
    country, _, subdivision = (calendar.holidays or "").partition("-")
    public = holidays.country_holidays(country, subdiv=subdivision or None) if country else {}
    count = 0
    moment = start
    while moment < end:
        wall = moment.astimezone(zone)
        of_day = wall.time().replace(tzinfo=None, fold=0)
        is_open = (wall.date() not in calendar.closed and wall.date() not in public
                   and any(opens <= of_day and (closes is None or of_day < closes)
                           for opens, closes in week[wall.weekday()]))
        if is_open and not any(p_start <= moment < p_end for p_start, p_end in pauses):
            count += 1
        moment += MINUTE
    return count


@given(calendars, st.sampled_from(WINDOWS), st.integers(0, 20 * 24 * 60), st.integers(0, 3 * 24 * 60), pauses_near)
def test_elapsed_matches_counting_minutes_on_the_wall_clock(name, base, offset, length, pause_spec):
    # Every boundary here falls on a whole minute, so minute counting is exact.
    start = base + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    pauses = as_pauses(start, pause_spec)
    expected = open_minutes(CALENDARS[name], start, end, pauses)
    assert BusinessClock.of(CALENDARS[name]).elapsed(start, end, pauses) == expected * MINUTE


@given(starts, amounts, pauses_near)
def test_24x7_is_real_time_less_pauses(start, amount, pause_spec):
    pauses = as_pauses(start, pause_spec)
    end = start + amount
    paused = {minute for at, length in pause_spec for minute in range(max(at, 0), at + length)}
    # Pauses sit on whole minutes from the start; count the paused part minute by minute.
    whole, rest = divmod(amount, MINUTE)
    paused_time = sum(1 for minute in paused if minute < whole) * MINUTE
    if whole in paused:
        paused_time += rest
    assert TWENTY_FOUR_SEVEN.elapsed(start, end, pauses) == amount - paused_time
    assert TWENTY_FOUR_SEVEN.elapsed(start, end) == end - start
    due = TWENTY_FOUR_SEVEN.add(start, amount, pauses)
    assert TWENTY_FOUR_SEVEN.elapsed(start, due, pauses) == amount
    if amount:
        assert TWENTY_FOUR_SEVEN.elapsed(start, due - timedelta(microseconds=1), pauses) < amount


def test_24x7_add_across_the_changes_is_real_time():
    for start in (paris(28, 3, 23, 59), paris(25, 10, 2, 30), paris(25, 10, 2, 30, fold=1)):
        assert TWENTY_FOUR_SEVEN.add(start, 90 * MINUTE) == start.astimezone(UTC) + 90 * MINUTE


# Each zone's own 2026 changes: Paris and Berlin 29 March and 25 October, New York 8 March
# and 1 November, Lord Howe 5 April (back 30 minutes) and 4 October (forward 30 minutes).
CHANGES = {"office": (date(2026, 3, 29), date(2026, 10, 25)), "split": (date(2026, 3, 29), date(2026, 10, 25)),
           "berlin": (date(2026, 3, 29), date(2026, 10, 25)), "new-york": (date(2026, 3, 8), date(2026, 11, 1)),
           "lord-howe": (date(2026, 4, 5), date(2026, 10, 4))}


@pytest.mark.parametrize("name, change", [(name, day) for name, days in CHANGES.items() for day in days])
def test_every_hour_around_each_change_matches_the_wall_clock(name, change):
    # Not left to chance: the three days around each change, hour by hour, against minute counting.
    business = BusinessClock.of(CALENDARS[name])
    first = datetime.combine(change, datetime.min.time(), UTC) - timedelta(days=1)
    total = timedelta(0)
    for hour in range(72):
        start, end = first + hour * H, first + (hour + 1) * H
        got = business.elapsed(start, end)
        assert got == open_minutes(CALENDARS[name], start, end, ()) * MINUTE, start
        total += got
    assert business.elapsed(first, first + 72 * H) == total
    if total:
        assert business.elapsed(first, business.add(first, total)) == total
        assert business.add(first, total) <= first + 72 * H
