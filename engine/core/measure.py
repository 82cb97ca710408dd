"""Measurement: from a month of rows to an exact attainment per objective.

Pure functions of an objective, the rows of its service and the window it is measured
over (a month, a quarter, or the part of one in which the contract is active).
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
   rest counts as downtime (or, under ``over_allowance: counts_all``, all of it counts
   once the period's maintenance passes the allowance).  Excluded time wins over downtime
   at the same instant, and overlapping time counts once.
4. Counted downtime is measured in the ``count`` mode (units of whole days are the
   contract's calendar days, as long as they really are); ``from_period`` also removes the
   excluded time from the period.  Incidents that name an ``impact`` weigh their time by
   it, the highest impact counting where counted incidents overlap.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from .intervals import Span, clip, first_part, intersect, subtract, total, union
from .model import Incident, RequestCount, Ticket, TicketPause
from .money import round_fraction
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
    impact: Decimal | None = None
    """the share of the service the incident affected, when it was less than all of it"""


@dataclass(frozen=True)
class MeasureMore:
    """A measure's figures under the terms of INTERFACE.md section 6."""

    outages: tuple["Outage", ...] = ()
    window: Window | None = None


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
    more: "MeasureMore | None" = None
    """what the terms of INTERFACE.md 6.1 and 6.2 add (one field: a measure is made for every
    objective of every contract, and most have none of it)"""

    @property
    def outages(self) -> tuple["Outage", ...]:
        """the counted outages, for objectives credited per outage or tiered on outages"""
        return self.more.outages if self.more is not None else ()

    @property
    def window(self) -> Window | None:
        """the window measured, when it is not the period's (``period_basis: active``)"""
        return self.more.window if self.more is not None else None

    @cached_property
    def incidents(self) -> tuple[IncidentOutcome, ...]:
        return self.explain_incidents() if self.explain_incidents is not None else ()


def compared_attainment(objective: Objective, measure: Measure) -> Fraction:
    """The attainment the target and the tiers are compared with: exact, or rounded as
    ``attainment_rounding`` says (INTERFACE.md 6.1).

    >>> from engine.core.schema import Objective
    >>> o = Objective.model_validate({"id": "a", "service": "s", "metric": "availability", "target": "99.9",
    ...     "attainment_rounding": {"decimals": 1}, "credit": {"tiers": [{"below": "99.9", "credit": "10%"}]}})
    >>> compared_attainment(o, Measure("a", Metric.availability, Fraction(19970, 200), Fraction(1), Fraction(1)))
    Fraction(999, 10)
    """
    rounding = objective.attainment_rounding
    if rounding is None:
        return measure.attainment
    return Fraction(round_fraction(measure.attainment, rounding.decimals, rounding.mode))


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

_DAY = timedelta(days=1)


def _calendar_days(unit: timedelta) -> int:
    """How many calendar days a unit is made of (INTERFACE.md 6.1), or 0 for a unit of the clock.

    A unit of a day or a multiple of days is made of the contract's calendar days, midnight to
    midnight, whatever the clocks do; any other unit is a fixed length aligned on the period's start.
    """
    return unit // _DAY if unit >= _DAY and not unit % _DAY else 0


def _day_edges(window: Window, days: int) -> list[datetime]:
    """The instants at which units of ``days`` calendar days begin, from the window's start, and its end."""
    zone = ZoneInfo(window.zone)
    day = window.start.astimezone(zone).date()
    edges = [window.start]
    while True:
        day += timedelta(days=days)
        instant = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
        if instant >= window.end:
            edges.append(window.end)
            return edges
        edges.append(instant)


def _aligned_length(downtime: list[Span], mode: str, edges: list[datetime]) -> timedelta:
    """``touched`` or ``full`` on units given by their edges: calendar days, each as long as it really is."""
    counted: set[int] = set()
    for start, end in downtime:
        if mode == "touched":
            first = bisect_right(edges, start) - 1
            last = bisect_right(edges, end - _MICROSECOND) - 1
        else:  # full: the units that lie entirely inside the stretch
            first = bisect_left(edges, start)
            last = bisect_right(edges, end) - 2
        counted.update(range(max(first, 0), min(last, len(edges) - 2) + 1))
    return sum((edges[k + 1] - edges[k] for k in counted), timedelta(0))


def _counted_length(downtime: list[Span], mode: str, unit: timedelta, window: Window) -> timedelta:
    if mode == "exact":
        return total(downtime)
    if mode == "whole":
        return sum(((end - start) // unit * unit for start, end in downtime), timedelta(0))
    days = _calendar_days(unit)
    if days:
        return _aligned_length(downtime, mode, _day_edges(window, days))
    tick = timedelta(microseconds=1)
    final = (window.end - window.start - tick) // unit
    if mode == "full":
        # Only units of the clock (aligned on the period's start) that downtime covers
        # entirely count; the last unit ends at the period's end.  Downtime is disjoint and
        # never touches itself, so a unit is covered by one stretch or not at all.
        length = timedelta(0)
        for start, end in downtime:
            first = -(-(start - window.start) // unit)
            last = (end - window.start) // unit  # units before this one end by ``end``
            if end == window.end:
                last = final + 1
            if last > first:
                length += (last - first) * unit
                if last > final:  # the final unit, cut by the period's end
                    length -= unit - (window.end - (window.start + final * unit))
        return length
    # touched: every unit of the clock (aligned on the period's start, local midnight on
    # the 1st) that downtime touches counts whole, and counts once.  Downtime is sorted
    # and disjoint, so the touched units form runs that only the previous run can meet;
    # counting runs, not units, keeps a month-long outage as cheap as a short one.
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
    if runs[-1][1] >= final:
        length -= unit - (window.end - (window.start + final * unit))
    return length


@dataclass(frozen=True)
class Outage:
    """A counted outage (INTERFACE.md 6.2): a merged stretch of outage, after ``min_duration``,
    that counted downtime in the period, whole (not cut to the period)."""

    start: datetime
    end: datetime
    counted_minutes: Fraction
    """the downtime it counted inside the period (weighted by impact, when incidents give one)"""
    ends_in_period: bool
    """it ends after the period's start and at or before its end"""

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def _weights(incidents: list[Incident], stretches: list[Span]) -> list[tuple[datetime, datetime, Fraction]]:
    """Stretches of time with the highest impact of the incidents that count there (INTERFACE.md 6.1).

    Disjoint and sorted; time no such incident covers is not listed.  Only incidents that can
    count take part: outages inside the stretches that passed ``min_duration``, and maintenance.
    """
    events: list[tuple[datetime, int, Fraction]] = []
    for incident in incidents:
        if incident.cause is not Cause.maintenance and not any(s <= incident.start and incident.end <= e
                                                               for s, e in stretches):
            continue
        impact = HUNDRED if incident.impact is None else Fraction(incident.impact)
        events.append((incident.start, 1, impact))
        events.append((incident.end, -1, impact))
    events.sort(key=lambda e: (e[0], e[1]))
    pieces: list[tuple[datetime, datetime, Fraction]] = []
    active: dict[Fraction, int] = {}
    previous = None
    for moment, step, impact in events:
        if previous is not None and moment > previous and active:
            highest = max(active)
            if pieces and pieces[-1][1] == previous and pieces[-1][2] == highest:
                pieces[-1] = (pieces[-1][0], moment, highest)
            else:
                pieces.append((previous, moment, highest))
        active[impact] = active.get(impact, 0) + step
        if not active[impact]:
            del active[impact]
        previous = moment
    return pieces


def _weighted_minutes(downtime: list[Span], weights: list[tuple[datetime, datetime, Fraction]]) -> Fraction:
    """The integral of the impact over the downtime, in minutes."""
    counted = Fraction(0)
    j = 0
    for start, end in downtime:
        while j < len(weights) and weights[j][1] <= start:
            j += 1
        k = j
        while k < len(weights) and weights[k][0] < end:
            lo, hi = max(start, weights[k][0]), min(end, weights[k][1])
            if lo < hi:
                counted += minutes(hi - lo) * weights[k][2] / HUNDRED
            k += 1
    return counted


def measure_availability(objective: Objective, incidents: Iterable[Incident], window: Window) -> Measure:
    exclusions = objective.exclusions or Exclusions()
    counting = objective.counting
    maintenance = exclusions.maintenance
    excluded_causes = set(exclusions.causes)

    by_cause: list[Span] = []
    planned: list[Span] = []
    outages: list[Span] = []
    kinds: list[tuple[Incident, str]] = []
    partial = False
    for incident in incidents:
        span = (incident.start, incident.end)
        if incident.impact is not None:
            partial = True
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
    if partial and counting.count != "exact":
        line = next(i.line for i, _ in kinds if i.impact is not None)
        raise PartialImpactError(objective.id, counting.count, line)

    stretches = union(outages)
    long_enough = [s for s in stretches if s[1] - s[0] >= counting.min_duration]
    too_short = [s for s in stretches if s[1] - s[0] < counting.min_duration]

    lo, hi = window.start, window.end
    excluded_by_cause = clip(union(by_cause), lo, hi)
    eligible = subtract(clip(union(planned), lo, hi), excluded_by_cause)
    if maintenance is not None and maintenance.max_per_period is not None:
        if maintenance.over_allowance == "counts_all" and total(eligible) > maintenance.max_per_period:
            allowed, over_allowance = [], eligible
        else:
            allowed, over_allowance = first_part(eligible, maintenance.max_per_period)
    else:
        allowed, over_allowance = eligible, []
    excluded = union(excluded_by_cause + allowed)
    downtime = subtract(union(clip(long_enough, lo, hi) + over_allowance), excluded)

    weights = _weights([i for i, kind in kinds if kind != "cause"], long_enough) if partial else None
    if weights is not None:
        counted = _weighted_minutes(downtime, weights)
    else:
        counted = minutes(_counted_length(downtime, counting.count, counting.unit, window))
    excluded_total = minutes(total(excluded))
    period = window.minutes
    base = period - excluded_total if exclusions.excluded_time == "from_period" else period

    counted_outages: tuple[Outage, ...] | None = None
    if objective.counts_outages:
        counted_outages = _counted_outages(union(long_enough + over_allowance), downtime, weights, window)

    return Measure(
        objective=objective.id, metric=objective.metric,
        attainment=attainment_of(counted, base),
        period_minutes=period, base_minutes=base,
        downtime_minutes=counted, excluded_minutes=excluded_total,
        figures={} if counted_outages is None else {
            "counted_outages": sum(1 for outage in counted_outages if outage.counted_minutes)},
        explain_incidents=lambda: _outcomes(kinds, window, downtime, excluded, allowed, over_allowance, too_short,
                                            weights),
        more=MeasureMore(outages=counted_outages) if counted_outages is not None else None,
    )


def _counted_outages(stretches: list[Span], downtime: list[Span],
                     weights: list[tuple[datetime, datetime, Fraction]] | None, window: Window) -> tuple[Outage, ...]:
    """The merged outage stretches (whole), in order of start, that counted downtime inside the
    period, or that began before it and end in it (an outage is credited by its length in the
    period in which it ends, whatever this period counted of it)."""
    result = []
    for start, end in stretches:
        inside = intersect(downtime, [(start, end)])
        counted = (_weighted_minutes(inside, weights) if weights is not None else minutes(total(inside))) \
            if inside else Fraction(0)
        ends_in_period = window.start < end <= window.end
        if counted or (ends_in_period and start < window.start):
            result.append(Outage(start, end, counted, ends_in_period))
    return tuple(result)


class PartialImpactError(ValueError):
    """An incident with an impact below 100 under an objective that does not count ``exact``."""

    def __init__(self, objective: str, count: str, line: int) -> None:
        super().__init__(f"the incident has an impact below 100, but objective {objective} counts downtime "
                         f"{count}; only count: exact weighs downtime by its impact")
        self.line = line


def _outcomes(kinds: list[tuple[Incident, str]], window: Window, downtime: list[Span], excluded: list[Span],
              allowed: list[Span], over_allowance: list[Span], too_short: list[Span],
              weights: list[tuple[datetime, datetime, Fraction]] | None = None) -> tuple[IncidentOutcome, ...]:
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
    - With incidents of partial impact (``weights``), the downtime credited is weighed by
      the highest impact at each instant, so the incidents' parts add up to the downtime.
    """
    lo, hi = _micros(window.start), _micros(window.end)
    if weights is not None:
        # The downtime cut where the impact changes, each piece with its impact.
        split, factors = [], []
        for start, end in downtime:
            for w_start, w_end, impact in weights:
                a, b = max(start, w_start), min(end, w_end)
                if a < b:
                    split.append((a, b))
                    factors.append(impact)
        pieces = _Stretches(split, factors)
    else:
        pieces = _Stretches(downtime)
    downtime, excluded = pieces, _Stretches(excluded)
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
                                            counted_minutes=zero, excluded_minutes=zero, impact=incident.impact))
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
            counted_minutes=(counted / MICROSECONDS_PER_MINUTE if type(counted) is Fraction
                             else Fraction(counted, MICROSECONDS_PER_MINUTE)) if counted else zero,
            excluded_minutes=Fraction(excluded_part, MICROSECONDS_PER_MINUTE) if excluded_part else zero,
            impact=incident.impact,
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
    """Sorted, disjoint intervals in microseconds, asked how much of ``[start, end)`` they cover.

    With ``weights`` (one fraction per interval: the impact over 100), the covered time is weighed.
    """

    __slots__ = ("spans", "ends", "weights")

    def __init__(self, spans: list[Span], weights: list[Fraction] | None = None) -> None:
        self.spans = _micro_spans(spans)
        self.ends = [end for _, end in self.spans]
        self.weights = weights

    def overlap(self, start: int, end: int) -> int | Fraction:
        """Microseconds of ``[start, end)`` inside the intervals (0 when ``start >= end``)."""
        if start >= end or not self.spans:
            return 0
        length = 0
        spans, weights = self.spans, self.weights
        # The first interval that ends after ``start``; the ones before it cannot overlap.
        for index in range(bisect_right(self.ends, start), len(spans)):
            span_start, span_end = spans[index]
            if span_start >= end:
                break
            part = min(span_end, end) - max(span_start, start)
            length += part if weights is None else part * weights[index] / HUNDRED
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
    """Attainment from per-interval error rates; an interval with no row or no requests is 0 %.

    ``ratio`` sums every row of the period instead; ``min_requests`` treats an interval with
    fewer requests as 0 %, and ``min_consecutive`` keeps only runs of that many intervals above
    the threshold, a run crossing the period's start or end judged on its whole length.
    """
    settings = objective.error_rate
    assert settings is not None
    step = settings.interval
    count = -(-window.length // step)  # the last interval may be shorter; it still is one
    runs = settings.min_consecutive
    buckets: dict[int, list[int]] = {}
    for row in rows:
        if window.start <= row.interval_start < window.end:
            bucket = buckets.setdefault((row.interval_start - window.start) // step, [0, 0])
        elif runs is not None:
            # Outside the period, for runs that cross its edges: before it on its own grid,
            # after it on the next period's (which starts where this one ends).
            moment = row.interval_start
            index = ((moment - window.start) // step if moment < window.start
                     else count + (moment - window.end) // step)
            bucket = buckets.setdefault(index, [0, 0])
        else:
            continue
        bucket[0] += row.requests
        bucket[1] += row.errors
    inside = buckets if runs is None else {i: b for i, b in buckets.items() if 0 <= i < count}
    total_requests = sum(b[0] for b in inside.values())
    total_errors = sum(b[1] for b in inside.values())
    period = window.minutes
    figures: dict[str, object] = {"intervals": count, "requests": total_requests, "errors": total_errors}
    if settings.mode == "ratio":
        figures["error_intervals"] = sum(1 for b in inside.values() if b[1])
        attainment = HUNDRED * (1 - Fraction(total_errors, total_requests)) if total_requests else HUNDRED
        return Measure(objective=objective.id, metric=objective.metric, attainment=attainment,
                       period_minutes=period, base_minutes=period, figures=figures)
    fewest = settings.min_requests or 0
    if settings.mode == "average":
        rates = [(errors, requests) for requests, errors in inside.values() if errors and requests >= fewest]
        mean_rate = HUNDRED * _exact_sum(rates) / count
        figures["error_intervals"] = len(rates)
        return Measure(objective=objective.id, metric=objective.metric, attainment=HUNDRED - mean_rate,
                       period_minutes=period, base_minutes=period, figures=figures)
    threshold = Fraction(settings.threshold)
    down = sorted(index for index, (requests, errors) in buckets.items()
                  if requests and requests >= fewest and Fraction(100 * errors, requests) > threshold)
    if runs is not None:
        down = [i for i in long_runs(down, runs) if 0 <= i < count]
    figures["error_intervals"] = len(down)
    downtime = sum((min(step, window.end - (window.start + i * step)) for i in down), timedelta(0))
    return Measure(objective=objective.id, metric=objective.metric,
                   attainment=HUNDRED * (1 - Fraction(len(down), count)),
                   period_minutes=period, base_minutes=period, downtime_minutes=minutes(downtime),
                   figures=figures)


def long_runs(indexes: list[int], shortest: int) -> list[int]:
    """The sorted interval indexes that lie in runs of at least ``shortest`` consecutive ones.

    >>> long_runs([1, 2, 3, 5, 6, 9], 2)
    [1, 2, 3, 5, 6]
    """
    kept: list[int] = []
    run: list[int] = []
    for index in indexes:
        if run and index != run[-1] + 1:
            if len(run) >= shortest:
                kept += run
            run = []
        run.append(index)
    if len(run) >= shortest:
        kept += run
    return kept


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
