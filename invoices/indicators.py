"""Monthly SLA indicators of one contract, worked out from one evaluation record.

The monthly report shows, beside each objective's target and result, the figures a
service manager reads: how fast tickets were answered and resolved, how many met their
targets, what was still open at the end of the month, and how available the service was.
``indicators(record)`` computes them from one evaluation record (``record["inputs"]``:
the contract's terms and the measurement rows the evaluation used; ``record["result"]``:
the evaluation JSON and each incident's and ticket's outcome), so a report can be
rebuilt from the audit trail years later and agrees with the credit note issued from the
same record.  It reads no database and no clock, and it computes nothing the record does
not hold: a record without tickets has no ticket indicators (``None``, not zeros), a rule
set without an availability objective has no availability indicators.  Every figure is
exact (``Fraction`` minutes, ``Decimal`` percentages as recorded); rounding for people
happens when the report is rendered.

How each indicator is computed (README.md, "Choices", says the same for users):

* The period is the calendar month in the contract's time zone, the half-open window
  from local midnight on the 1st to local midnight on the 1st of the next month, as the
  evaluation used it; for a quarterly rule set (``assessment: quarter``) it is the quarter
  the month ends, from its first month's 1st.  A ticket "answered in the period" got its first response after the
  window's start and at or before its end (the rule ``measure_tickets`` judges by).

* **First-response and resolution times.**  When the rule set has a ``response_time``
  (``resolution_time``) objective, the times are those of the tickets that objective judged
  in the period and that were answered (resolved) by its end, outcome ``within`` or
  ``late``: the business time on the objective's clock, pauses excluded, exactly as the
  record's outcomes give it (``elapsed_minutes``).  Only that objective's tickets count (its
  priority), so the figures match the promise they are read against.  A ticket still open
  has no time yet: it shows in the backlog and, once past its target, among the tickets
  outside their target.  Several such objectives (P1, P2, ...) give one set of figures
  each.  Without such an objective, but with tickets in the record (the rule set measures
  the other ticket metric), the times are real time less the time waiting on the customer
  (pauses merged, so overlapping pauses count once) for every ticket, whatever its
  priority, answered (resolved) in the period.
* **Average, median, 90th percentile.**  The average is the exact mean.  The median is the
  middle time, or the mean of the two middle times when there is an even number.  The
  90th percentile is the nearest-rank one: the ``ceil(0.9 x n)``-th smallest time, so it is
  always a real ticket's time and at least 90 % of the tickets took no longer.
* **Tickets within and outside their targets**, per ticket objective: the objective's own
  counts for the period (``tickets_within_target``; ``late_tickets``, which include tickets
  still open past their target), and those carried to the next period (open, target not
  yet passed).
* **Opened** is the number of tickets created in the period, **backlog** the number created
  before the period's end and not resolved by it, every priority.
* **Availability, downtime, excluded time**, per availability objective, are the
  evaluation's own figures (attainment as recorded, 6 decimals; counted and excluded
  minutes).  The **allowance** is the downtime the target allows: ``(100 - target) / 100``
  of the minutes the attainment is taken over (the period, less excluded time under
  ``from_period``); no target, no allowance.
* **Incidents** are the incident rows of the objective's service that reach into the
  period, whatever became of them (counted, excluded, too short, ...).  **Outages** are the
  stretches of time covered by incidents that counted downtime in the period, incidents
  that overlap or touch merged into one (two overlapping reports of one failure are one
  outage).  **Mean time to restore** is the mean length of the outages restored in the
  period (ending after its start and at or before its end), each taken whole, not clipped
  to the period: an outage that began on the last evening of the previous month and was
  restored in this one counts here with its full length, and in no other month; an outage
  still going at the end of the period counts in the month that restores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable

from engine.core.intervals import union
from engine.core.period import Period, Window, minutes, months_window

RESPONSE, RESOLUTION = "response_time", "resolution_time"
_ENDING = {RESPONSE: "first_response", RESOLUTION: "resolved"}


def _instant(text: str | None) -> datetime | None:
    """A recorded instant (fixed-width UTC text) as an aware datetime."""
    return datetime.fromisoformat(text) if text else None


def _exact(text: str | None) -> Fraction | None:
    """A recorded figure ("147.4") as an exact fraction; Decimal text converts without loss."""
    return None if text is None else Fraction(Decimal(text))


# --- statistics -------------------------------------------------------------------------------------

def mean(values: Iterable[Fraction]) -> Fraction | None:
    """The exact mean, or None for no values.

    >>> mean([Fraction(15), Fraction(45), Fraction(50)])
    Fraction(110, 3)
    """
    values = list(values)
    return sum(values, Fraction(0)) / len(values) if values else None


def median(values: Iterable[Fraction]) -> Fraction | None:
    """The middle value; with an even count, the mean of the two middle ones.

    >>> median([Fraction(3), Fraction(1), Fraction(2)]), median([Fraction(1), Fraction(4)])
    (Fraction(2, 1), Fraction(5, 2))
    """
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Iterable[Fraction], percent: int) -> Fraction | None:
    """The nearest-rank percentile: the ceil(percent/100 x n)-th smallest value.

    Always one of the values, never an interpolation, so "90 % of tickets took at most this"
    is literally true.

    >>> percentile([Fraction(v) for v in (15, 45, 45, 50, 55, 60, 70)], 90)
    Fraction(70, 1)
    >>> percentile([Fraction(v) for v in range(1, 11)], 90)
    Fraction(9, 1)
    """
    ordered = sorted(values)
    if not ordered:
        return None
    rank = -(-percent * len(ordered) // 100)  # ceil without floats
    return ordered[max(rank, 1) - 1]


# --- values -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TicketTimes:
    """First-response or resolution times of the tickets one basis counts, in minutes."""

    metric: str
    """response_time | resolution_time"""
    objective: str | None
    """the objective whose tickets and clock these are; None: real time less pauses, every ticket"""
    minutes: tuple[Fraction, ...]
    """one per ticket, smallest first"""

    @property
    def tickets(self) -> int:
        return len(self.minutes)

    @property
    def mean(self) -> Fraction | None:
        return mean(self.minutes)

    @property
    def median(self) -> Fraction | None:
        return median(self.minutes)

    @property
    def p90(self) -> Fraction | None:
        return percentile(self.minutes, 90)


@dataclass(frozen=True)
class TicketTargets:
    """How the tickets one objective judged in the period fared against its target."""

    objective: str
    metric: str
    within: int
    outside: int
    """late, including tickets still open past their target"""
    carried: int
    """still open at the period's end with the target not yet passed: judged next period"""


@dataclass(frozen=True)
class Tickets:
    opened: int
    """tickets created in the period"""
    backlog: int
    """tickets created before the period's end and not resolved by it"""
    response: tuple[TicketTimes, ...]
    resolution: tuple[TicketTimes, ...]
    targets: tuple[TicketTargets, ...]


@dataclass(frozen=True)
class Incident:
    """One incident row as the period saw it (the record's outcome)."""

    line: int
    start: datetime
    end: datetime
    cause: str
    status: str
    counted_minutes: Fraction
    excluded_minutes: Fraction


@dataclass(frozen=True)
class Outage:
    """A stretch of time covered by incidents that counted downtime; overlapping ones merged."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> Fraction:
        return minutes(self.end - self.start)


@dataclass(frozen=True)
class Availability:
    """One availability objective's figures for the period."""

    objective: str
    service: str
    target: Decimal | None
    attainment: Decimal
    """as recorded: rounded half-up to 6 decimals (tiers were matched on the exact value)"""
    met: bool
    period_minutes: Fraction
    base_minutes: Fraction
    """the minutes the attainment is taken over (the period, less excluded time under from_period)"""
    downtime_minutes: Fraction
    excluded_minutes: Fraction
    allowance_minutes: Fraction | None
    incidents: tuple[Incident, ...]
    """every incident reaching into the period, in the order the evaluation judged them"""
    outages: tuple[Outage, ...]
    restored: tuple[Outage, ...]
    """the outages restored in the period: the ones mean time to restore is taken over"""

    @property
    def mttr_minutes(self) -> Fraction | None:
        return mean(o.minutes for o in self.restored)


@dataclass(frozen=True)
class Indicators:
    contract: str
    period: str
    timezone: str
    window: Window
    availability: tuple[Availability, ...]
    tickets: Tickets | None
    """None when the record holds no tickets (the rule set measures none)"""


# --- computing them ---------------------------------------------------------------------------------

def indicators(record: dict[str, Any]) -> Indicators:
    """The indicators of the contract and period one evaluation record is about."""
    inputs, result = record["inputs"], record["result"]
    contract = inputs["contract"]
    window = assessed_window(record)
    objectives = result["evaluation"]["objectives"]
    outcomes = {o["objective"]: o for o in result["outcomes"]}
    availability = tuple(_availability(o, outcomes.get(o["id"], {}).get("incidents", []), window)
                         for o in objectives if o["metric"] == "availability")
    tickets = _tickets(inputs, objectives, outcomes, window) if "tickets" in inputs else None
    return Indicators(contract["id"], record["period"], contract["timezone"], window, availability, tickets)


def assessed_window(record: dict[str, Any]) -> Window:
    """The window a record's objectives were measured over: its month, or the quarter it ends
    for a quarterly rule set (INTERFACE.md 6.1), in the contract's time zone."""
    zone = record["inputs"]["contract"]["timezone"]
    evaluation = record["result"]["evaluation"]
    if "assessed_from" in evaluation:
        first = Period.parse(evaluation["assessed_from"][:7])
        last = Period.parse(evaluation["assessed_to"][:7])
        return months_window(first, last, zone)
    return Period.parse(record["period"]).window(zone)


def _availability(objective: dict, rows: list[dict], window: Window) -> Availability:
    incidents = tuple(Incident(r["line"], _instant(r["start"]), _instant(r["end"]), r["cause"], r["status"],
                               _exact(r["counted_minutes"]), _exact(r["excluded_minutes"]))
                      for r in rows if r["status"] != "outside_period")
    period = _exact(objective["period_minutes"])
    base = _exact(objective.get("base_minutes")) or period
    target = Decimal(objective["target"]) if objective.get("target") is not None else None
    allowance = (100 - Fraction(target)) / 100 * base if target is not None else None
    # An incident that counted nothing (excluded, too short, inside an earlier one) is no
    # outage; the ones that counted are merged as the evaluation merges outages.
    outages = tuple(Outage(start, end) for start, end in
                    union((i.start, i.end) for i in incidents if i.counted_minutes > 0))
    restored = tuple(o for o in outages if window.start < o.end <= window.end)
    return Availability(
        objective=objective["id"], service=objective["service"], target=target,
        attainment=Decimal(objective["attainment"]), met=objective["met"],
        period_minutes=period, base_minutes=base,
        downtime_minutes=_exact(objective.get("downtime_minutes", "0")),
        excluded_minutes=_exact(objective.get("excluded_minutes", "0")),
        allowance_minutes=allowance, incidents=incidents, outages=outages, restored=restored,
    )


def _tickets(inputs: dict, objectives: list[dict], outcomes: dict[str, dict], window: Window) -> Tickets:
    from engine.core.calendars import TWENTY_FOUR_SEVEN

    rows = [{**t, "created": _instant(t["created"]), "first_response": _instant(t["first_response"]),
             "resolved": _instant(t["resolved"])} for t in inputs["tickets"]]
    pauses: dict[str, list[tuple[datetime, datetime]]] = {}
    for pause in inputs.get("ticket_pauses", []):
        pauses.setdefault(pause["ticket"], []).append((_instant(pause["start"]), _instant(pause["end"])))

    def times(metric: str) -> tuple[TicketTimes, ...]:
        judged_by = [o for o in objectives if o["metric"] == metric]
        if judged_by:
            return tuple(TicketTimes(metric, o["id"], tuple(sorted(
                _exact(t["elapsed_minutes"]) for t in outcomes.get(o["id"], {}).get("tickets", [])
                if t["status"] in ("within", "late")))) for o in judged_by)
        ending = _ENDING[metric]
        # The 24x7 clock is real time less the merged pauses, the same arithmetic the
        # objectives use, so a 24x7 objective and this fallback can never disagree.
        return (TicketTimes(metric, None, tuple(sorted(
            minutes(TWENTY_FOUR_SEVEN.elapsed(t["created"], t[ending], pauses.get(t["ticket"], ())))
            for t in rows if t[ending] is not None and window.start < t[ending] <= window.end))),)

    targets = tuple(
        TicketTargets(o["id"], o["metric"], o["tickets_within_target"], o["late_tickets"],
                      o.get("carried_to_next_period", 0))
        for o in objectives if o["metric"] in (RESPONSE, RESOLUTION))
    return Tickets(
        opened=sum(1 for t in rows if window.start <= t["created"] < window.end),
        backlog=sum(1 for t in rows if t["created"] < window.end
                    and (t["resolved"] is None or t["resolved"] > window.end)),
        response=times(RESPONSE), resolution=times(RESOLUTION), targets=targets,
    )
