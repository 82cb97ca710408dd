"""Error-rate measurement in average and threshold modes, figures by hand."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction as F

from engine.core.measure import measure_error_rate
from engine.core.model import RequestCount
from engine.core.period import Period
from tests.conftest import at, objective

SEPTEMBER = Period(2026, 9).window("UTC")  # 43,200 min = 8,640 five-minute intervals


def errors_objective(mode="average", threshold=None, interval="5m"):
    block = {"mode": mode, "interval": interval}
    if threshold is not None:
        block["threshold"] = threshold
    return objective(id="api-errors", service="storage", metric="error_rate", error_rate=block)


def rows(*cells):
    """(start, requests, errors) triples as rows, numbered from line 2."""
    return [RequestCount(at(start), requests, errors, line) for line, (start, requests, errors) in enumerate(cells, 2)]


def nth_interval(n: int, minutes: int = 5) -> str:
    return (SEPTEMBER.start + timedelta(minutes=minutes * n)).isoformat()


def test_average_over_every_interval_of_the_month_missing_rows_count_zero():
    m = measure_error_rate(errors_objective(), rows(("2026-09-01T00:00:00Z", 1000, 100),   # 10 %
                                                    ("2026-09-01T00:05:00Z", 200, 0),
                                                    ("2026-09-01T00:10:00Z", 0, 0)), SEPTEMBER)
    # mean rate = 10 % / 8,640 intervals
    assert m.attainment == 100 - F(10, 8640)
    assert m.figures == {"intervals": 8640, "requests": 1200, "errors": 100, "error_intervals": 1}


def test_average_exactly_at_99_9():
    # 8 intervals at 100 % and one at 64 %: 864 / 8,640 = 0.1 % -> exactly 99.9.
    cells = [(nth_interval(i), 50, 50) for i in range(8)] + [(nth_interval(8), 100, 64)]
    assert measure_error_rate(errors_objective(), rows(*cells), SEPTEMBER).attainment == F(999, 10)


def test_minute_rows_are_summed_into_their_five_minute_interval():
    # 10 + 30 errors of 200 requests in the interval 10:00-10:05 = 20 %.
    m = measure_error_rate(errors_objective(), rows(("2026-09-01T10:00:00Z", 100, 10),
                                                    ("2026-09-01T10:01:00Z", 100, 30)), SEPTEMBER)
    assert m.attainment == 100 - F(20, 8640)


def test_rows_outside_the_period_are_ignored():
    m = measure_error_rate(errors_objective(), rows(("2026-08-31T23:55:00Z", 10, 10),
                                                    ("2026-10-01T00:00:00Z", 10, 10)), SEPTEMBER)
    assert m.attainment == 100


def test_threshold_mode_is_strictly_above():
    m = measure_error_rate(errors_objective("threshold", "5"), rows(
        ("2026-09-01T00:00:00Z", 1000, 50),    # exactly 5 %: not above
        ("2026-09-01T00:05:00Z", 10000, 501),  # 5.01 %: a downtime interval
        ("2026-09-01T00:10:00Z", 10, 10),      # 100 %
        ("2026-09-01T00:15:00Z", 0, 0),        # no requests: 0 %
    ), SEPTEMBER)
    assert m.figures["error_intervals"] == 2
    assert m.attainment == 100 * (1 - F(2, 8640))
    assert m.downtime_minutes == 10


def test_intervals_of_a_dst_month():
    october = Period(2026, 10).window("Europe/Paris")  # 44,700 min = 8,940 intervals
    m = measure_error_rate(errors_objective(), rows(("2026-10-25T02:30:00+01:00", 10, 1)), october)
    assert m.figures["intervals"] == 8940
    assert m.attainment == 100 - F(10, 8940)


def test_hourly_intervals():
    m = measure_error_rate(errors_objective(interval="1h"), rows(("2026-09-03T07:00:00Z", 4, 1)), SEPTEMBER)
    assert m.figures["intervals"] == 720
    assert m.attainment == 100 - F(25, 720)
