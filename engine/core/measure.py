"""Measurement: from a month of rows to an exact attainment per objective.

Pure functions of an objective, the rows of its service and the period's window.
Attainment is a ``Fraction`` in percent, so 43.2 minutes of downtime in a 30-day month
is exactly 99.9, and the tiers compare that exact value.

Availability, step by step (the choices are written down in README.md):

1. Incidents are sorted into excluded causes, announced maintenance (eligible for
   exclusion when announced at least ``min_notice`` ahead) and outages (everything else,
   including maintenance announced too late).
2. Outages are merged; a merged stretch shorter than ``min_duration`` (judged on its
   whole length, even the part outside the period) does not count.
3. Everything is clipped to the period.  Time covered by an excluded cause is excluded;
   announced maintenance is excluded chronologically up to ``max_per_period`` and the
   rest counts as downtime.  Excluded time wins over downtime at the same instant, and
   overlapping time counts once.
4. Counted downtime is measured in the ``count`` mode; ``from_period`` also removes the
   excluded time from the period.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from functools import cached_property
from typing import Callable, Iterable

from .intervals import Span, clip, first_part, subtract, total, union
from .model import Incident, RequestCount, Ticket, TicketPause
from .period import MICROSECONDS_PER_MINUTE, Window, minutes
from .schema import Cause, Exclusions, Metric, Objective

HUNDRED = Fraction(100)


@dataclass(frozen=True)
class IncidentOutcome:
    """What one incident did to the period: how much of it counted, how much was excluded, and why."""

    line: int
    start: datetime
    end: datetime
    cause: str
    status: str
    """counted | excluded_cause | excluded_maintenance | maintenance_over_allowance |
    maintenance_short_notice | too_short | within_excluded_time | overlapped | outside_period"""
    counted_minutes: Fraction
    excluded_minutes: Fraction


@dataclass(frozen=True)
class Measure:
    """The measured side of one objective for one period."""

    objective: str
    metric: Metric
    attainment: Fraction
    """exact, in percent"""
    period_minutes: Fraction
    """the whole period, in minutes"""
    base_minutes: Fraction
    """the period the attainment is taken over (less excluded time under from_period)"""
    downtime_minutes: Fraction | None = None
    """counted downtime, for metrics that have it"""
    excluded_minutes: Fraction | None = None
    figures: dict[str, object] = field(default_factory=dict)
    """metric-specific figures for the JSON (intervals, tickets, ...)"""
    explain_incidents: Callable[[], tuple[IncidentOutcome, ...]] | None = field(default=None, compare=False, repr=False)
    """works out each incident's part when first asked: records need it, evaluate's JSON does not"""
    tickets: tuple["TicketOutcome", ...] = ()

    @cached_property
    def incidents(self) -> tuple[IncidentOutcome, ...]:
        return self.explain_incidents() if self.explain_incidents is not None else ()


def attainment_of(downtime: Fraction, base: Fraction) -> Fraction:
    """100 x (1 - downtime / base); a period with nothing left to measure is fully met.

    >>> attainment_of(Fraction(216, 5), Fraction(43200))
    Fraction(999, 10)
    """
    if base <= 0:
        return HUNDRED
    # 100 (b - d) / b in one step: Fraction arithmetic normalises after every operation,
    # and this runs for every objective of every contract.
    d, b = downtime.numerator * base.denominator, base.numerator * downtime.denominator
    return Fraction(100 * (b - d), b)


# --- availability ---------------------------------------------------------------------------------

def _counted_length(downtime: list[Span], mode: str, unit: timedelta, window: Window) -> timedelta:
    if mode == "exact":
        return total(downtime)
    if mode == "whole":
        return sum(((end - start) // unit * unit for start, end in downtime), timedelta(0))
    # touched: every unit of the clock (aligned on the period's start, local midnight on
    # the 1st) that downtime touches counts whole, and counts once.  Downtime is sorted
    # and disjoint, so the touched units form runs that only the previous run can meet;
    # counting runs, not units, keeps a month-long outage as cheap as a short one.
    tick = timedelta(microseconds=1)
    runs: list[list[int]] = []  # [first, last] unit indexes, in order
    for start, end in downtime:
        first = (start - window.start) // unit
        last = (end - window.start - tick) // unit
        if runs and first <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], last)
        else:
            runs.append([first, last])
    if not runs:
        return timedelta(0)
    length = sum(last - first + 1 for first, last in runs) * unit
    # Only the unit holding the period's end can be cut short by it (a month of minutes
    # never is, an hour in a month with a half-hour clock change can be).
    final = (window.end - window.start - tick) // unit
    if runs[-1][1] >= final:
        length -= unit - (window.end - (window.start + final * unit))
    return length


def measure_availability(objective: Objective, incidents: Iterable[Incident], window: Window) -> Measure:
    exclusions = objective.exclusions or Exclusions()
    counting = objective.counting
    maintenance = exclusions.maintenance
    excluded_causes = set(exclusions.causes)

    by_cause: list[Span] = []
    planned: list[Span] = []
    outages: list[Span] = []
    kinds: list[tuple[Incident, str]] = []
    for incident in incidents:
        span = (incident.start, incident.end)
        if incident.cause in excluded_causes:
            by_cause.append(span)
            kinds.append((incident, "cause"))
        elif incident.cause is Cause.maintenance and maintenance is not None:
            if incident.announced_at is not None and incident.start - incident.announced_at >= maintenance.min_notice:
                planned.append(span)
                kinds.append((incident, "planned"))
            else:
                outages.append(span)
                kinds.append((incident, "short_notice"))
        else:
            outages.append(span)
            kinds.append((incident, "outage"))

    stretches = union(outages)
    long_enough = [s for s in stretches if s[1] - s[0] >= counting.min_duration]
    too_short = [s for s in stretches if s[1] - s[0] < counting.min_duration]

    lo, hi = window.start, window.end
    excluded_by_cause = clip(union(by_cause), lo, hi)
    eligible = subtract(clip(union(planned), lo, hi), excluded_by_cause)
    if maintenance is not None and maintenance.max_per_period is not None:
        allowed, over_allowance = first_part(eligible, maintenance.max_per_period)
    else:
        allowed, over_allowance = eligible, []
    excluded = union(excluded_by_cause + allowed)
    downtime = subtract(union(clip(long_enough, lo, hi) + over_allowance), excluded)

    counted = minutes(_counted_length(downtime, counting.count, counting.unit, window))
    excluded_total = minutes(total(excluded))
    period = window.minutes
    base = period - excluded_total if exclusions.excluded_time == "from_period" else period

    return Measure(
        objective=objective.id, metric=objective.metric,
        attainment=attainment_of(counted, base),
        period_minutes=period, base_minutes=base,
        downtime_minutes=counted, excluded_minutes=excluded_total,
        explain_incidents=lambda: _outcomes(kinds, window, downtime, excluded, allowed, over_allowance, too_short),
    )


def _outcomes(kinds: list[tuple[Incident, str]], window: Window, downtime: list[Span], excluded: list[Span],
              allowed: list[Span], over_allowance: list[Span], too_short: list[Span]) -> tuple[IncidentOutcome, ...]:
    """Each incident's part in the result; shared time is credited to the earliest incident.

    Worked out for every incident of every record the monthly run writes and every
    record replay checks, so it is kept to a few integer steps per incident:

    - Incidents are taken in order of start, so the time the incidents before this one
      cover, from this one's start on, is one stretch up to the latest end seen so far.
      The downtime credited to earlier incidents is that time's share of the downtime,
      so this incident's counted time is its downtime after that stretch: no set of
      attributed time has to be kept and subtracted.
    - Instants are integer microseconds and only lengths are needed, so each overlap
      with downtime or excluded time is a bisection and a sum; microseconds are exact,
      so the minutes are the same fractions ``minutes()`` gives.
    """
    lo, hi = _micros(window.start), _micros(window.end)
    downtime, excluded = _Stretches(downtime), _Stretches(excluded)
    over_allowance, too_short = _Stretches(over_allowance), _micro_spans(too_short)
    # In order of start, end and line; the index keeps tied incidents in their order and
    # lets the tuples be sorted as they are, all integers.
    order = sorted([(_micros(incident.start), _micros(incident.end), incident.line, index)
                    for index, (incident, _) in enumerate(kinds)])
    covered_until = lo  # the latest (clipped) end of the incidents before, or the period's start
    outcomes = []
    zero = _ZERO_MINUTES
    for start, end, line, index in order:
        incident, kind = kinds[index]
        if start >= hi or end <= lo:
            outcomes.append(IncidentOutcome(line=line, start=incident.start, end=incident.end,
                                            cause=incident.cause.value, status="outside_period",
                                            counted_minutes=zero, excluded_minutes=zero))
            continue
        inside_start, inside_end = max(start, lo), min(end, hi)
        counted = downtime.overlap(max(inside_start, covered_until), inside_end)
        covered_until = max(covered_until, inside_end)
        excluded_part = excluded.overlap(inside_start, inside_end)
        if kind == "cause":
            status = "excluded_cause"
        elif kind == "planned":
            over = over_allowance.overlap(inside_start, inside_end)
            status = "maintenance_over_allowance" if over else "excluded_maintenance"
        elif too_short and any(s[0] <= start and end <= s[1] for s in too_short):
            status = "too_short"
        elif kind == "short_notice":
            status = "maintenance_short_notice"
        elif counted:
            status = "counted"
        elif excluded_part:
            status = "within_excluded_time"
        else:
            status = "overlapped"
        outcomes.append(IncidentOutcome(
            line=line, start=incident.start, end=incident.end, cause=incident.cause.value, status=status,
            counted_minutes=Fraction(counted, MICROSECONDS_PER_MINUTE) if counted else zero,
            excluded_minutes=Fraction(excluded_part, MICROSECONDS_PER_MINUTE) if excluded_part else zero,
        ))
    return tuple(outcomes)


_ZERO_MINUTES = Fraction(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    """An instant as microseconds since 1970-01-01 UTC."""
    return (moment - _EPOCH) // _MICROSECOND


def _micro_spans(spans: list[Span]) -> list[tuple[int, int]]:
    return [(_micros(start), _micros(end)) for start, end in spans]


class _Stretches:
    """Sorted, disjoint intervals in microseconds, asked how much of ``[start, end)`` they cover."""

    __slots__ = ("spans", "ends")

    def __init__(self, spans: list[Span]) -> None:
        self.spans = _micro_spans(spans)
        self.ends = [end for _, end in self.spans]

    def overlap(self, start: int, end: int) -> int:
        """Microseconds of ``[start, end)`` inside the intervals (0 when ``start >= end``)."""
        if start >= end or not self.spans:
            return 0
        length = 0
        spans = self.spans
        # The first interval that ends after ``start``; the ones before it cannot overlap.
        for index in range(bisect_right(self.ends, start), len(spans)):
            span_start, span_end = spans[index]
            if span_start >= end:
                break
            length += min(span_end, end) - max(span_start, start)
        return length


# --- error rate ------------------------------------------------------------------------------------

def _exact_sum(fractions: list[tuple[int, int]]) -> Fraction:
    """Sum of numerator/denominator pairs, pairwise so that the big integers stay balanced."""
    if not fractions:
        return Fraction(0)
    pairs = fractions
    while len(pairs) > 1:
        merged = []
        for i in range(0, len(pairs) - 1, 2):
            (a, b), (c, d) = pairs[i], pairs[i + 1]
            merged.append((a * d + c * b, b * d))
        if len(pairs) % 2:
            merged.append(pairs[-1])
        pairs = merged
    return Fraction(*pairs[0])


def measure_error_rate(objective: Objective, rows: Iterable[RequestCount], window: Window) -> Measure:
    """Attainment from per-interval error rates; an interval with no row or no requests is 0 %."""
    settings = objective.error_rate
    assert settings is not None
    step = settings.interval
    count = -(-window.length // step)  # the last interval may be shorter; it still is one
    buckets: dict[int, list[int]] = {}
    for row in rows:
        if window.start <= row.interval_start < window.end:
            bucket = buckets.setdefault((row.interval_start - window.start) // step, [0, 0])
            bucket[0] += row.requests
            bucket[1] += row.errors
    total_requests = sum(b[0] for b in buckets.values())
    total_errors = sum(b[1] for b in buckets.values())
    period = window.minutes
    figures: dict[str, object] = {"intervals": count, "requests": total_requests, "errors": total_errors}
    if settings.mode == "average":
        rates = [(errors, requests) for requests, errors in buckets.values() if errors]
        mean_rate = HUNDRED * _exact_sum(rates) / count
        figures["error_intervals"] = len(rates)
        return Measure(objective=objective.id, metric=objective.metric, attainment=HUNDRED - mean_rate,
                       period_minutes=period, base_minutes=period, figures=figures)
    threshold = Fraction(settings.threshold)
    down = sorted(index for index, (requests, errors) in buckets.items()
                  if requests and Fraction(100 * errors, requests) > threshold)
    figures["error_intervals"] = len(down)
    downtime = sum((min(step, window.end - (window.start + i * step)) for i in down), timedelta(0))
    return Measure(objective=objective.id, metric=objective.metric,
                   attainment=HUNDRED * (1 - Fraction(len(down), count)),
                   period_minutes=period, base_minutes=period, downtime_minutes=minutes(downtime),
                   figures=figures)


# --- support tickets --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TicketOutcome:
    """How one ticket fared against its target in the period that judged it."""

    ticket: str
    priority: str
    created: datetime
    ended: datetime | None
    """the first response (response_time) or the resolution (resolution_time), if it came"""
    elapsed: timedelta
    """business time used: up to ``ended``, or up to the end of the period while still open"""
    status: str
    """within | late | open_late (still open, target passed) | carried (still open, target not yet passed)"""


def measure_tickets(objective: Objective, tickets: Iterable[Ticket], pauses: Callable[[str], Iterable[TicketPause]],
                    window: Window, clock) -> Measure:
    """The share of tickets that met their target, among those the period judges.

    A ticket is judged once: in the period in which it was created, unless at that
    period's end it is still open and its target has not passed; then in the first
    later period at whose end it is answered or its target has passed.  A ticket that
    meets its target exactly is within it.  A period that judges no ticket is met.
    """
    target = objective.target_time
    assert target is not None
    ending = "first_response" if objective.metric is Metric.response_time else "resolved"
    outcomes = []
    for ticket in sorted(tickets, key=lambda t: (t.created, t.ticket)):
        if ticket.created >= window.end or (objective.priority is not None and ticket.priority != objective.priority):
            continue
        ended = getattr(ticket, ending)
        waiting = [(p.start, p.end) for p in pauses(ticket.ticket)]
        if ticket.created < window.start:
            # Judged by an earlier period if it was decided by that period's end.
            if ended is not None and ended <= window.start:
                continue
            if clock.elapsed(ticket.created, window.start, waiting) > target:
                continue
        if ended is not None and ended <= window.end:
            used = clock.elapsed(ticket.created, ended, waiting)
            status = "within" if used <= target else "late"
        else:
            used = clock.elapsed(ticket.created, window.end, waiting)
            status = "open_late" if used > target else "carried"
        outcomes.append(TicketOutcome(ticket.ticket, ticket.priority, ticket.created, ended, used, status))
    judged = [o for o in outcomes if o.status != "carried"]
    within = sum(1 for o in judged if o.status == "within")
    period = window.minutes
    figures: dict[str, object] = {"tickets": len(judged), "tickets_within_target": within,
                                  "late_tickets": len(judged) - within,
                                  "carried_to_next_period": len(outcomes) - len(judged)}
    attainment = HUNDRED * Fraction(within, len(judged)) if judged else HUNDRED
    return Measure(objective=objective.id, metric=objective.metric, attainment=attainment, period_minutes=period,
                   base_minutes=period, figures=figures, tickets=tuple(outcomes))
