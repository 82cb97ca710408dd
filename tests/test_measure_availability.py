"""Availability measurement, with every figure worked out by hand in the test's comments."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction as F

import pytest

from engine.core.measure import measure_availability
from engine.core.period import Period
from tests.conftest import incident, objective

SEPTEMBER = Period(2026, 9).window("UTC")  # 30 days = 43,200 minutes
OCTOBER_UTC = Period(2026, 10).window("UTC")  # 31 days = 44,640 minutes


def measured(incidents, window=SEPTEMBER, **fields):
    return measure_availability(objective(**fields), incidents, window)


# --- periods ----------------------------------------------------------------------------------

@pytest.mark.parametrize("month, zone, minutes", [
    ((2026, 10), "Europe/Paris", 44_700),   # clocks go back on 25 October: 31 x 1440 + 60
    ((2026, 3), "Europe/Paris", 44_580),    # clocks go forward on 29 March: 31 x 1440 - 60
    ((2026, 10), "UTC", 44_640),
    ((2026, 2), "UTC", 40_320),             # 28 x 1440
    ((2028, 2), "UTC", 41_760),             # leap year: 29 x 1440
    ((2026, 11), "America/New_York", 43_260),  # DST ends 1 November: 30 x 1440 + 60
])
def test_period_lengths(month, zone, minutes):
    assert Period(*month).window(zone).minutes == minutes


def test_no_incidents_is_fully_available():
    m = measured([])
    assert (m.attainment, m.downtime_minutes, m.excluded_minutes) == (100, 0, 0)


# --- exactness ---------------------------------------------------------------------------------

def test_43_2_minutes_in_a_30_day_month_is_exactly_99_9():
    # 43.2 min = 43 min 12 s; 1 - 43.2 / 43,200 = 0.999 exactly.
    m = measured([incident("2026-09-10T10:00:00Z", "2026-09-10T10:43:12Z")])
    assert m.downtime_minutes == F(216, 5)
    assert m.attainment == F(999, 10)


def test_atlassian_published_example_60_minutes_in_30_days():
    # Atlassian's SLA: 60 minutes of downtime in a 30-day month is 99.86 %.
    m = measured([incident("2026-09-10T10:00:00Z", "2026-09-10T11:00:00Z")])
    assert m.attainment == F(100) * (1 - F(60, 43_200))
    # 100 x 43,140 / 43,200 = 99.8611...; the published figure rounds it half-up to 2 decimals,
    # in Decimal, never through a float.
    with localcontext() as context:
        context.prec = 28
        shown = (Decimal(m.attainment.numerator) / Decimal(m.attainment.denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert shown == Decimal("99.86")


# --- counting modes ------------------------------------------------------------------------------

ONE_59 = [incident("2026-09-10T10:00:30Z", "2026-09-10T10:02:29Z")]  # 1 min 59 s, over three clock minutes


@pytest.mark.parametrize("count, minutes", [
    ("exact", F(119, 60)),   # 119 s
    ("whole", F(1)),         # 1 min 59 s -> 1 whole minute
    ("touched", F(3)),       # touches 10:00, 10:01 and 10:02
])
def test_counting_modes(count, minutes):
    m = measured(ONE_59, downtime={"count": count, "unit": "1m"})
    assert m.downtime_minutes == minutes


def test_touched_counts_a_shared_clock_minute_once_and_whole_floors_each_outage():
    # Two 10 s outages inside the same clock minute.
    blips = [incident("2026-09-10T10:00:10Z", "2026-09-10T10:00:20Z"),
             incident("2026-09-10T10:00:40Z", "2026-09-10T10:00:50Z")]
    assert measured(blips, downtime={"count": "touched", "unit": "1m"}).downtime_minutes == 1
    assert measured(blips, downtime={"count": "whole", "unit": "1m"}).downtime_minutes == 0
    assert measured(blips, downtime={"count": "exact"}).downtime_minutes == F(1, 3)


def test_whole_counts_each_outage_separately():
    # 1 min 59 s twice -> 1 + 1 = 2 whole minutes, not floor(3 min 58 s) = 3.
    two = [incident("2026-09-10T10:00:00Z", "2026-09-10T10:01:59Z"),
           incident("2026-09-10T12:00:00Z", "2026-09-10T12:01:59Z")]
    assert measured(two, downtime={"count": "whole", "unit": "1m"}).downtime_minutes == 2


def test_touched_units_are_aligned_on_local_midnight_after_a_dst_change():
    # Paris, 26 October (UTC+1): 09:02-09:04 local lies in the 5-minute unit 09:00-09:05.
    window = Period(2026, 10).window("Europe/Paris")
    m = measure_availability(objective(downtime={"count": "touched", "unit": "5m"}),
                             [incident("2026-10-26T09:02:00+01:00", "2026-10-26T09:04:00+01:00")], window)
    assert m.downtime_minutes == 5


def test_touched_hour_at_the_period_edge_counts_in_both_months():
    crossing = [incident("2026-09-30T23:30:00Z", "2026-10-01T00:30:00Z")]
    fields = {"downtime": {"count": "touched", "unit": "1h"}}
    assert measured(crossing, SEPTEMBER, **fields).downtime_minutes == 60
    assert measured(crossing, OCTOBER_UTC, **fields).downtime_minutes == 60
    assert measured(crossing, SEPTEMBER).downtime_minutes == 30  # exact


def test_touched_unit_is_cut_at_the_end_of_the_period():
    # 7-minute units from 1 September 00:00: 43,200 = 6,171 x 7 + 3, so the last unit is 3 minutes.
    last = [incident("2026-09-30T23:58:00Z", "2026-09-30T23:59:00Z")]
    assert measured(last, downtime={"count": "touched", "unit": "7m"}).downtime_minutes == 3


# --- min_duration -----------------------------------------------------------------------------------

@pytest.mark.parametrize("end, minutes", [
    ("2026-09-10T10:04:59Z", 0),      # 4 min 59 s: shorter than 5 min, does not count
    ("2026-09-10T10:05:00Z", 5),      # exactly 5 min counts
    ("2026-09-10T10:05:01Z", F(301, 60)),
])
def test_min_duration_boundary(end, minutes):
    m = measured([incident("2026-09-10T10:00:00Z", end)], downtime={"min_duration": "5m"})
    assert m.downtime_minutes == minutes


def test_min_duration_judges_merged_outages():
    # 10:00-10:03 and 10:02-10:06 overlap into one 6-minute outage, which counts;
    # 12:00-12:03 and 12:03-12:04 touch into a 4-minute outage, which does not.
    rows = [incident("2026-09-10T10:00:00Z", "2026-09-10T10:03:00Z"),
            incident("2026-09-10T10:02:00Z", "2026-09-10T10:06:00Z"),
            incident("2026-09-10T12:00:00Z", "2026-09-10T12:03:00Z"),
            incident("2026-09-10T12:03:00Z", "2026-09-10T12:04:00Z")]
    m = measured(rows, downtime={"min_duration": "5m"})
    assert m.downtime_minutes == 6
    assert [o.status for o in m.incidents] == ["counted", "counted", "too_short", "too_short"]
    assert [o.counted_minutes for o in m.incidents] == [3, 3, 0, 0]  # 10:00-10:03, then 10:03-10:06


def test_min_duration_judges_touching_outages_as_one():
    # 14:00-14:03 and 14:03-14:06 are each too short for a 5-minute minimum, but they touch
    # (one ends as the other starts): one 6-minute outage, which counts.  Were touching
    # outages not merged, nothing would count.
    rows = [incident("2026-09-10T14:00:00Z", "2026-09-10T14:03:00Z"),
            incident("2026-09-10T14:03:00Z", "2026-09-10T14:06:00Z")]
    m = measured(rows, downtime={"min_duration": "5m"})
    assert m.downtime_minutes == 6
    assert [o.status for o in m.incidents] == ["counted", "counted"]
    assert [o.counted_minutes for o in m.incidents] == [3, 3]


def test_an_incident_inside_an_earlier_one_adds_nothing():
    rows = [incident("2026-09-10T10:00:00Z", "2026-09-10T11:00:00Z"),
            incident("2026-09-10T10:15:00Z", "2026-09-10T10:45:00Z")]
    m = measured(rows)
    assert m.downtime_minutes == 60
    assert [o.status for o in m.incidents] == ["counted", "overlapped"]


def test_min_duration_looks_past_the_period_edge():
    # 6 minutes from 23:57 on 30 September: in October only 3 minutes lie, and they count.
    rows = [incident("2026-09-30T23:57:00Z", "2026-10-01T00:03:00Z")]
    assert measured(rows, OCTOBER_UTC, downtime={"min_duration": "5m"}).downtime_minutes == 3


# --- overlaps, order, edges --------------------------------------------------------------------------

def test_overlapping_unsorted_and_period_crossing_incidents():
    rows = [incident("2026-10-05T10:30:00Z", "2026-10-05T11:30:00Z", line=3),
            incident("2026-09-30T23:00:00Z", "2026-10-01T01:00:00Z", line=4),   # 60 min inside October
            incident("2026-10-05T10:00:00Z", "2026-10-05T11:00:00Z", line=2),   # overlaps line 3 by 30 min
            incident("2026-11-01T00:00:00Z", "2026-11-01T02:00:00Z", line=5)]   # November: outside
    m = measured(rows, OCTOBER_UTC)
    # 10:00-11:30 = 90 min, plus 00:00-01:00 on the 1st = 60 min.
    assert m.downtime_minutes == 150
    assert m.attainment == F(100) * (1 - F(150, 44_640))
    by_line = {o.line: o for o in m.incidents}
    assert (by_line[4].counted_minutes, by_line[2].counted_minutes, by_line[3].counted_minutes) == (60, 60, 30)
    assert by_line[5].status == "outside_period"


def test_the_repeated_hour_of_the_dst_change_counts_as_one_real_hour():
    # 02:30 CEST to 02:30 CET on 25 October 2026 is one hour of real time.
    window = Period(2026, 10).window("Europe/Paris")
    m = measure_availability(objective(), [incident("2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00")], window)
    assert m.downtime_minutes == 60
    assert m.attainment == F(100) * (1 - F(60, 44_700))


def test_march_dst_month_in_paris():
    window = Period(2026, 3).window("Europe/Paris")
    m = measure_availability(objective(), [incident("2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00")], window)
    assert m.downtime_minutes == 60  # 01:30 CET to 03:30 CEST is one hour
    assert m.period_minutes == 44_580


def test_leap_february():
    window = Period(2028, 2).window("UTC")
    m = measure_availability(objective(), [incident("2028-02-29T00:00:00Z", "2028-03-01T01:00:00Z")], window)
    assert m.downtime_minutes == 1440
    assert m.attainment == F(100) * (1 - F(1440, 41_760))


# --- exclusions by cause ---------------------------------------------------------------------------

EXCLUDING = {"exclusions": {"causes": ["customer", "force_majeure"]}}


def test_excluded_causes_never_count_and_win_over_overlapping_outages():
    rows = [incident("2026-09-10T10:00:00Z", "2026-09-10T11:00:00Z"),
            incident("2026-09-10T10:30:00Z", "2026-09-10T11:30:00Z", "customer"),
            incident("2026-09-12T00:00:00Z", "2026-09-12T02:00:00Z", "force_majeure")]
    m = measured(rows, **EXCLUDING)
    assert m.downtime_minutes == 30     # 10:00-10:30
    assert m.excluded_minutes == 180    # 10:30-11:30 and two hours on the 12th
    assert [o.status for o in m.incidents] == ["counted", "excluded_cause", "excluded_cause"]


def test_a_cause_not_listed_counts():
    m = measured([incident("2026-09-10T10:00:00Z", "2026-09-10T10:30:00Z", "customer")])
    assert m.downtime_minutes == 30


@pytest.mark.parametrize("mode, base", [("from_downtime", 43_200), ("from_period", 43_140)])
def test_excluded_time_modes(mode, base):
    rows = [incident("2026-09-10T10:00:00Z", "2026-09-10T11:00:00Z"),
            incident("2026-09-11T10:00:00Z", "2026-09-11T11:00:00Z", "customer")]
    m = measured(rows, exclusions={"causes": ["customer"], "excluded_time": mode})
    assert (m.downtime_minutes, m.excluded_minutes, m.base_minutes) == (60, 60, base)
    assert m.attainment == F(100) * (1 - F(60, base))


# --- maintenance ----------------------------------------------------------------------------------------

MAINTENANCE = {"exclusions": {"causes": ["customer"], "maintenance": {"min_notice": "5d", "max_per_period": "4h"}}}


def maintenance(start: str, end: str, announced: str | None, line: int = 2):
    return incident(start, end, "maintenance", announced, line)


@pytest.mark.parametrize("announced, downtime, excluded, status", [
    ("2026-09-04T22:00:00Z", 0, 120, "excluded_maintenance"),        # 6 days ahead
    ("2026-09-05T22:00:00Z", 0, 120, "excluded_maintenance"),        # exactly 5 days ahead
    ("2026-09-05T22:00:01Z", 120, 0, "maintenance_short_notice"),    # one second short
    (None, 120, 0, "maintenance_short_notice"),                      # never announced
])
def test_maintenance_notice(announced, downtime, excluded, status):
    m = measured([maintenance("2026-09-10T22:00:00Z", "2026-09-11T00:00:00Z", announced)], **MAINTENANCE)
    assert (m.downtime_minutes, m.excluded_minutes) == (downtime, excluded)
    assert m.incidents[0].status == status


def test_maintenance_beyond_the_allowance_counts_in_time_order():
    # Two announced 3-hour windows; the allowance of 4 h covers the first and 1 h of the second.
    rows = [maintenance("2026-09-20T01:00:00Z", "2026-09-20T04:00:00Z", "2026-09-01T00:00:00Z", line=3),
            maintenance("2026-09-10T01:00:00Z", "2026-09-10T04:00:00Z", "2026-09-01T00:00:00Z", line=2)]
    m = measured(rows, **MAINTENANCE)
    assert (m.downtime_minutes, m.excluded_minutes) == (120, 240)
    assert {o.line: o.status for o in m.incidents} == {2: "excluded_maintenance", 3: "maintenance_over_allowance"}
    assert {o.line: o.counted_minutes for o in m.incidents} == {2: 0, 3: 120}


def test_maintenance_covered_by_an_excluded_cause_uses_no_allowance():
    # The customer's own outage covers the first hour of a 5-hour window; the remaining
    # 4 hours fit the allowance exactly, so nothing counts.
    rows = [incident("2026-09-10T01:00:00Z", "2026-09-10T02:00:00Z", "customer"),
            maintenance("2026-09-10T01:00:00Z", "2026-09-10T06:00:00Z", "2026-09-01T00:00:00Z")]
    m = measured(rows, **MAINTENANCE)
    assert (m.downtime_minutes, m.excluded_minutes) == (0, 300)


def test_without_a_maintenance_block_maintenance_counts():
    m = measured([maintenance("2026-09-10T22:00:00Z", "2026-09-10T23:00:00Z", "2026-09-01T00:00:00Z")])
    assert m.downtime_minutes == 60


def test_maintenance_listed_as_a_cause_is_always_excluded():
    m = measured([maintenance("2026-09-10T10:00:00Z", "2026-09-10T18:00:00Z", None)],
                 exclusions={"causes": ["maintenance"]})
    assert (m.downtime_minutes, m.excluded_minutes) == (0, 480)


def test_outage_during_excluded_maintenance_does_not_count():
    rows = [maintenance("2026-09-10T01:00:00Z", "2026-09-10T03:00:00Z", "2026-09-01T00:00:00Z"),
            incident("2026-09-10T02:00:00Z", "2026-09-10T04:00:00Z")]
    m = measured(rows, **MAINTENANCE)
    assert (m.downtime_minutes, m.excluded_minutes) == (60, 120)  # only 03:00-04:00 counts


def test_allowance_is_per_period():
    # 3 h at the end of September and 3 h at the start of October, one window:
    # each month sees 3 h, within its own 4 h allowance.
    rows = [maintenance("2026-09-30T21:00:00Z", "2026-10-01T03:00:00Z", "2026-09-01T00:00:00Z")]
    assert measured(rows, SEPTEMBER, **MAINTENANCE).excluded_minutes == 180
    assert measured(rows, OCTOBER_UTC, **MAINTENANCE).excluded_minutes == 180


# --- counting touched units, against counting them one by one ----------------------------------

def _touched_one_by_one(downtime, unit, window):
    """The plain definition: each unit of the clock that downtime touches, once, cut at the period's end."""
    from datetime import timedelta

    touched = set()
    for start, end in downtime:
        first = (start - window.start) // unit
        last = (end - window.start - timedelta(microseconds=1)) // unit
        touched.update(range(first, last + 1))
    return sum((min(unit, window.end - (window.start + i * unit)) for i in touched), timedelta(0))


@pytest.mark.parametrize("window", [
    OCTOBER_UTC,
    Period(2026, 10).window("Australia/Lord_Howe"),  # clocks go forward half an hour on 4 October
    Period(2026, 4).window("Australia/Lord_Howe"),   # and back half an hour on 5 April
])
def test_touched_units_are_counted_as_runs_exactly_as_one_by_one(window):
    from datetime import timedelta

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from engine.core.intervals import union
    from engine.core.measure import _counted_length

    length_us = window.length // timedelta(microseconds=1)
    spans = st.lists(st.tuples(st.integers(0, length_us - 1), st.integers(1, 3 * 3600 * 10**6)), max_size=12)
    units = st.sampled_from([timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1), timedelta(minutes=7)])

    @settings(max_examples=300, deadline=None)
    @given(spans, units)
    def check(raw, unit):
        tick = timedelta(microseconds=1)
        downtime = union((window.start + s * tick, min(window.end, window.start + (s + d) * tick)) for s, d in raw)
        assert _counted_length(downtime, "touched", unit, window) == _touched_one_by_one(downtime, unit, window)

    check()


def test_a_final_hour_cut_short_by_the_period_end_counts_only_its_part():
    # Lord Howe, October 2026: 31 days less half an hour = 44,610 minutes; an outage in the
    # last 10 minutes touches the final hour unit, which holds only 30 minutes of the period.
    from datetime import timedelta

    from engine.core.measure import _counted_length

    window = Period(2026, 10).window("Australia/Lord_Howe")
    assert window.minutes == 44_610
    last = [(window.end - timedelta(minutes=10), window.end)]
    assert _counted_length(last, "touched", timedelta(hours=1), window) == timedelta(minutes=30)
