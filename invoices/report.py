"""The monthly SLA performance report of one contract, as HTML or plain text.

One page in the customer's language (the catalogs of ``render``; a locale without one
gets English labels with its own number and date formats, laid out left to right): each
objective, called as the documents call it, with its target, the measured figure (shown as
there) and the result, the indicators of ``invoices.indicators``, the documents issued for
the period, and a chart of the month.  Everything comes from one evaluation
record, plus, when the caller has them, the documents issued for the period (every
revision's, not only the latest record's) and the rule set, which words the ticket
objectives' terms ("P1 tickets: first response within 1 h, business hours") that the
record only names.

The chart is inline SVG with no script.  Its upper panel is the month as day columns,
each as long as that day really was in the contract's time zone (a Paris 25 October has
25 hours, so its column is an hour longer), with each incident drawn in its day at its
hour: counted downtime, excluded maintenance and other excluded time in their own
colours.  The lower panel is the counted downtime accumulating over the month against a
horizontal line at the downtime the target allows.  A threshold error-rate objective gets
the same chart, its intervals above the threshold drawn as stretches of downtime.  Positions are worked out exactly
(``Fraction``) from the recorded instants and written with two decimals; this module
computes geometry, the templates draw it, so every label goes through the autoescaping
HTML environment and the catalogs.  Rendering is pure: the same record gives the same
bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from engine.core.intervals import union
from engine.core.measure import long_runs
from engine.core.money import plain
from engine.core.period import Period, Window, minutes
from invoices.indicators import Availability, Incident, Indicators, indicators

from .formats import ReportFormats, direction, language_of, shown_attainment, weekend
from .present import record_titles, wording
from .render import FORMATS, template

HOUR = Fraction(60)  # minutes


# --- the chart ----------------------------------------------------------------------------------------

WIDTH = 940
LEFT, RIGHT = 46, 934          # the plot's x range: y labels on the left
DAYS_TOP = 22                  # top of the day columns, under the day numbers
HOUR_PX = Fraction(15, 2)      # one hour of a day column
GAP = 34                       # between the two panels
LINE_HEIGHT = 140              # the cumulative-downtime panel
LABEL_ROOM = 250               # the width a line's label may need
LABEL_HEIGHT = 12              # a label's height above its baseline (10 px text), with a margin
LABEL_BELOW = 13               # a label under a line: its baseline this far below it
LABEL_DESCENT = 3              # what a label reaches below its baseline
MIN_MARK = Fraction(3)         # the shortest incident still shows
INSET = Fraction(3, 2)         # marks sit inside their day column

# Drawn in this order, so counted downtime is on top of anything it overlaps, and an incident
# that did not count (drawn as an outline) still shows inside the excluded time that swallowed it.
CATEGORIES = ("excluded", "maintenance", "not_counted", "downtime")


def px(value: Fraction | int) -> str:
    """A coordinate with at most two decimals, the same for the same value on every run."""
    return plain(Fraction(value), 2)


@dataclass(frozen=True)
class Box:
    x: str
    y: str
    width: str
    height: str


@dataclass(frozen=True)
class DayColumn:
    day: date
    box: Box
    label_x: str
    weekend: bool
    hours: Fraction
    """the day's real length in hours: 23, 24 or 25 across a clock change"""


@dataclass(frozen=True)
class Mark:
    """One incident (or stretch of error intervals), in the day columns it covers."""

    category: str
    """downtime | maintenance | excluded | not_counted"""
    incident: "Incident | ErrorStretch"
    boxes: tuple[Box, ...]

    @property
    def intervals(self) -> int:
        """for stretches of error intervals: how many intervals (0 for an incident)"""
        return getattr(self.incident, "intervals", 0)


@dataclass(frozen=True)
class Tick:
    at: str
    value: Fraction


@dataclass(frozen=True)
class Chart:
    objective: str
    service: str
    metric: str
    threshold: Decimal | None
    width: int
    height: str
    left: int
    right: int
    days_top: int
    days_bottom: str
    """the bottom of the longest day column"""
    hour_ticks: tuple[Tick, ...]
    days: tuple[DayColumn, ...]
    marks: tuple[Mark, ...]
    line_top: str
    line_bottom: str
    minute_ticks: tuple[Tick, ...]
    line: str
    """the cumulative counted downtime, as polyline points"""
    area: str
    allowance: Fraction | None
    allowance_y: str | None
    total: Fraction
    total_y: str
    allowance_label: tuple[str, str, str] | None
    """x, text-anchor and y of the allowance's label"""
    total_label_y: str
    crossing: tuple[str, str] | None
    """where the counted downtime passes the allowance"""
    crossed_on: date | None
    long_days: tuple[DayColumn, ...]
    """days that are not 24 hours long"""
    strip: str
    """the text version: one character per day"""

    def categories(self) -> list[str]:
        present = {m.category for m in self.marks}
        return [c for c in reversed(CATEGORIES) if c in present]


def category_of(status: str, counted: Fraction) -> str:
    if counted > 0:
        return "downtime"
    if status == "excluded_maintenance":
        return "maintenance"
    if status == "excluded_cause":
        return "excluded"
    return "not_counted"


def _midnights(first: date, last: date, zone: ZoneInfo) -> list[datetime]:
    """Local midnight of every day from ``first`` to ``last`` and of the day after, as UTC instants."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 2)]
    return [datetime.combine(d, time(0), zone).astimezone(timezone.utc) for d in days]


def _nice_step(top: Fraction) -> Fraction:
    """A 1-2-5 step that cuts ``top`` into at most four intervals."""
    magnitude = Fraction(1, 100)
    while True:
        for factor in (1, 2, 5):
            step = magnitude * factor
            if top / step <= 4:
                return step
        magnitude *= 10


def _cumulative(counted: list[tuple[Fraction, Fraction, Fraction]], at: Fraction) -> Fraction:
    """Counted downtime by ``at`` (minutes since the period began), each incident's part
    accruing evenly over its time inside the period."""
    total = Fraction(0)
    for start, end, amount in counted:
        if at >= end:
            total += amount
        elif at > start:
            total += amount * (at - start) / (end - start)
    return total


@dataclass(frozen=True)
class Timeline:
    """What a chart draws: one objective's stretches of time over the month, and its downtime budget."""

    objective: str
    service: str
    metric: str
    incidents: tuple[Incident, ...]
    downtime_minutes: Fraction
    allowance_minutes: Fraction | None
    threshold: Decimal | None = None
    """error-rate objectives: the rate above which an interval is down"""

    @classmethod
    def of(cls, availability: Availability) -> "Timeline":
        return cls(availability.objective, availability.service, "availability", availability.incidents,
                   availability.downtime_minutes, availability.allowance_minutes)


@dataclass(frozen=True)
class ErrorStretch(Incident):
    """Consecutive intervals above an error-rate threshold, drawn like an incident."""

    intervals: int = 0


def error_timeline(record: dict[str, Any], objective: dict[str, Any], rule_set: Any, window: Window) -> Timeline | None:
    """The intervals a threshold error-rate objective counted as down, merged into stretches.

    The record holds the request rows but not the objective's interval and threshold, so this
    needs the rule set; the intervals are found as ``measure_error_rate`` finds them (rows summed
    per interval from the period's start, down when errors / requests is strictly above the
    threshold, with at least ``min_requests`` requests, in a run of at least ``min_consecutive``)
    and must come to the recorded count, else no chart is drawn rather than a wrong one.
    """
    settings = next((o.error_rate for o in (rule_set.objectives if rule_set is not None else ())
                     if o.id == objective["id"]), None)
    if settings is None or settings.mode != "threshold" or objective.get("target") is None:
        return None
    step, threshold = settings.interval, Fraction(settings.threshold)
    count = -(-window.length // step)
    runs, fewest = settings.min_consecutive, settings.min_requests or 0
    buckets: dict[int, list[int]] = {}
    for row in record["inputs"]["requests"]:
        if row["service"] != objective["service"]:
            continue
        start = datetime.fromisoformat(row["interval_start"])
        if window.start <= start < window.end:
            index = (start - window.start) // step
        elif runs is not None:
            # Outside the period, for runs that cross its edges (min_consecutive), as measured.
            index = (start - window.start) // step if start < window.start else count + (start - window.end) // step
        else:
            continue
        bucket = buckets.setdefault(index, [0, 0])
        bucket[0] += row["requests"]
        bucket[1] += row["errors"]
    indexes = sorted(i for i, (requests, errors) in buckets.items()
                     if requests and requests >= fewest and Fraction(100 * errors, requests) > threshold)
    if runs is not None:
        indexes = [i for i in long_runs(indexes, runs) if 0 <= i < count]
    down = [(window.start + i * step, min(window.start + (i + 1) * step, window.end)) for i in indexes]
    downtime = sum((minutes(end - start) for start, end in down), Fraction(0))
    if len(down) != objective["error_intervals"] or downtime != Fraction(Decimal(objective["downtime_minutes"])):
        return None
    stretches = []
    for start, end in union(down):
        count = sum(1 for s, e in down if start <= s and e <= end)
        stretches.append(ErrorStretch(0, start, end, "errors", "above_threshold", minutes(end - start), Fraction(0),
                                      intervals=count))
    base = Fraction(Decimal(objective.get("base_minutes", objective["period_minutes"])))
    allowance = (100 - Fraction(Decimal(objective["target"]))) / 100 * base
    return Timeline(objective["id"], objective["service"], "error_rate", tuple(stretches), downtime, allowance,
                    Decimal(settings.threshold))


def chart(timeline: Timeline, window: Window, period: Period, zone_name: str, locale: str) -> Chart:
    """The month (or, for a quarterly rule set, the quarter) of one objective's timeline, as
    geometry for the templates: one column per day of the window."""
    zone = ZoneInfo(zone_name)
    span = minutes(window.length)
    plot = Fraction(RIGHT - LEFT)

    def x(moment: datetime) -> Fraction:
        return LEFT + plot * minutes(moment - window.start) / span

    first_day = window.start.astimezone(zone).date()
    last_day = (window.end - timedelta(microseconds=1)).astimezone(zone).date()
    midnights = _midnights(first_day, last_day, zone)
    weekend_days = weekend(locale)
    columns = []
    for index, (begins, ends) in enumerate(zip(midnights, midnights[1:])):
        day = first_day + timedelta(days=index)
        hours = minutes(ends - begins) / HOUR
        left, right = x(begins), x(ends)
        # A one-pixel gutter between columns keeps the days apart.
        columns.append(DayColumn(day, Box(px(left + Fraction(1, 2)), px(DAYS_TOP), px(right - left - 1),
                                          px(hours * HOUR_PX)),
                                 px((left + right) / 2), day.weekday() in weekend_days, hours))
    longest = max(c.hours for c in columns)
    days_bottom = DAYS_TOP + longest * HOUR_PX

    marks = []
    for incident in timeline.incidents:
        start, end = max(incident.start, window.start), min(incident.end, window.end)
        boxes = []
        for column, begins, ends in zip(columns, midnights, midnights[1:]):
            lo, hi = max(start, begins), min(end, ends)
            if lo >= hi:
                continue
            bottom_of_day = DAYS_TOP + column.hours * HOUR_PX
            top = DAYS_TOP + minutes(lo - begins) / HOUR * HOUR_PX
            height = max(minutes(hi - lo) / HOUR * HOUR_PX, MIN_MARK)
            top = min(top, bottom_of_day - height)
            left, right = x(begins), x(ends)
            boxes.append(Box(px(left + INSET), px(top), px(right - left - 2 * INSET), px(height)))
        marks.append(Mark(category_of(incident.status, incident.counted_minutes), incident, tuple(boxes)))
    marks.sort(key=lambda m: CATEGORIES.index(m.category))

    # The lower panel: counted downtime over the month against the allowance.
    total = timeline.downtime_minutes
    allowance = timeline.allowance_minutes
    # Each incident's exact part accrues over its time in the period.  Under ``whole`` and
    # ``touched`` counting the recorded downtime is not the sum of those parts (whole units
    # are counted per merged stretch), so the parts are scaled to end at the recorded figure:
    # the line must land where the evaluation, and the credit note, say it does.
    parts = [i for i in timeline.incidents if i.counted_minutes > 0]
    exact = sum((i.counted_minutes for i in parts), Fraction(0))
    counted = [(minutes(max(i.start, window.start) - window.start), minutes(min(i.end, window.end) - window.start),
                i.counted_minutes * total / exact) for i in parts]
    # A tenth of headroom above the higher of the two lines, rounded up to a 1-2-5 step.
    reach = max(total, allowance or 0) * Fraction(11, 10) or Fraction(1)
    step = _nice_step(reach)
    top_value = step * -(-reach // step)
    line_top = days_bottom + GAP
    line_bottom = line_top + LINE_HEIGHT

    def y(value: Fraction) -> Fraction:
        return line_bottom - LINE_HEIGHT * value / top_value

    breaks = sorted({Fraction(0), span} | {c[0] for c in counted} | {c[1] for c in counted})
    points = [(LEFT + plot * at / span, y(_cumulative(counted, at))) for at in breaks]
    line = " ".join(f"{px(a)},{px(b)}" for a, b in points)
    area = f"{px(LEFT)},{px(line_bottom)} {line} {px(RIGHT)},{px(line_bottom)}"
    crossing = crossed_on = crossing_x = None
    if allowance is not None and _cumulative(counted, span) > allowance:
        for low, high in zip(breaks, breaks[1:]):
            before, after = _cumulative(counted, low), _cumulative(counted, high)
            if before <= allowance < after:
                at = low + (allowance - before) / (after - before) * (high - low)
                crossing_x = LEFT + plot * at / span
                crossing = (px(crossing_x), px(y(allowance)))
                moment = window.start + timedelta(microseconds=int(at * 60_000_000))
                crossed_on = moment.astimezone(zone).date()
                break
    # Labels never cross the downtime line, which only rises: the total sits above the line's
    # end (below it when the allowance runs just above); the allowance is labelled at the right
    # end, on the side of its line that the downtime line has left free there, or at the left
    # end, above it, when the downtime passes it too late for the label to fit after.  Under
    # the allowance there may be no room (an allowance of 4 minutes in a panel of 3,000): then
    # above it, where the downtime line runs higher all along the label, else under the panel.
    total_label = y(total) - 6
    if allowance is not None and total <= allowance and y(total) - y(allowance) < 18:
        total_label = y(total) + 14
    allowance_label = None
    bottom = line_bottom + 8
    if allowance is not None:
        line_under_label = y(_cumulative(counted, span * (RIGHT - LABEL_ROOM - LEFT) / plot))
        if total <= allowance:
            allowance_label = (RIGHT - 6, "end", y(allowance) - 5)
        elif crossing_x is not None and crossing_x > RIGHT - LABEL_ROOM:
            allowance_label = (LEFT + 6, "start", y(allowance) - 5)
        elif y(allowance) + LABEL_BELOW <= line_bottom - LABEL_DESCENT:
            allowance_label = (RIGHT - 6, "end", y(allowance) + LABEL_BELOW)
        elif line_under_label <= y(allowance) - 5 - LABEL_HEIGHT:
            allowance_label = (RIGHT - 6, "end", y(allowance) - 5)
        else:
            allowance_label = (RIGHT - 6, "end", line_bottom + LABEL_BELOW)
            bottom = line_bottom + LABEL_BELOW + LABEL_DESCENT + 2
    ticks = []
    value = Fraction(0)
    while value <= top_value:
        ticks.append(Tick(px(y(value)), value))
        value += step

    strip = "".join(_day_symbol(c.day, marks, zone) for c in columns)
    return Chart(
        objective=timeline.objective, service=timeline.service, metric=timeline.metric, threshold=timeline.threshold,
        width=WIDTH,
        height=px(bottom), left=LEFT, right=RIGHT, days_top=DAYS_TOP, days_bottom=px(days_bottom),
        hour_ticks=tuple(Tick(px(DAYS_TOP + h * HOUR_PX), Fraction(h)) for h in (0, 6, 12, 18, 24)),
        days=tuple(columns), marks=tuple(marks), line_top=px(line_top), line_bottom=px(line_bottom),
        minute_ticks=tuple(ticks), line=line, area=area, allowance=allowance,
        allowance_y=px(y(allowance)) if allowance is not None else None, total=total, total_y=px(y(total)),
        allowance_label=(px(allowance_label[0]), allowance_label[1], px(allowance_label[2]))
        if allowance_label else None,
        total_label_y=px(total_label),
        crossing=crossing, crossed_on=crossed_on, long_days=tuple(c for c in columns if c.hours != 24),
        strip=strip,
    )


# The text chart's characters, the most telling first: a day shows its first category found.
SYMBOLS = {"downtime": "#", "maintenance": "m", "excluded": "x", "not_counted": "-"}


def _day_symbol(day: date, marks: list[Mark], zone: ZoneInfo) -> str:
    """The text chart's character for a day: its most serious incident, or a dot."""
    found = [m.category for m in marks
             if m.incident.start.astimezone(zone).date() <= day
             <= (m.incident.end - timedelta(microseconds=1)).astimezone(zone).date()]
    for category in SYMBOLS:
        if category in found:
            return SYMBOLS[category]
    return "."


def ruler(days: int) -> str:
    """Day numbers over the text chart: 1, then every fifth day, each ending above its day.

    >>> ruler(31)
    '1   5   10   15   20   25   30'
    """
    text = "1"
    for day in range(5, days + 1, 5):
        text += str(day).rjust(day - len(text))
    return text


# --- the report ---------------------------------------------------------------------------------------

def documents_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents an evaluation record issued, as the report lists them."""
    return [{"number": d["number"], "kind": d["kind"], "gross_total": d["gross_total"], "issue_date": None}
            for d in record.get("documents", [])]


def ticket_terms(rule_set: Any, objective_id: str) -> dict[str, Any] | None:
    """What a ticket objective promises, from its rule set: priority, target time, clock."""
    if rule_set is None:
        return None
    for objective in rule_set.objectives:
        if objective.id == objective_id and objective.target_time is not None:
            return {"priority": objective.priority, "target_time": objective.target_time, "clock": objective.clock}
    return None


def render_report(record: dict[str, Any], format: str = "html", locale: str | None = None,
                  documents: Sequence[dict[str, Any]] | None = None, rule_set: Any = None) -> str:
    """The monthly report of the record's contract and period, in ``locale`` (default: the customer's).

    ``documents`` are the documents issued for the contract and period (dicts with
    ``number``, ``kind``, ``gross_total`` and ``issue_date``), by default those of the
    record itself; ``rule_set`` (the record's, from the store) words the ticket objectives.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be html or txt, not {format!r}")
    contract = record["inputs"]["contract"]
    locale = locale or contract["customer"]["locale"]
    language = language_of(locale)
    figures: Indicators = indicators(record)
    period = Period.parse(record["period"])
    evaluation = record["result"]["evaluation"]
    timelines = [Timeline.of(a) for a in figures.availability]
    timelines += [t for t in (error_timeline(record, o, rule_set, figures.window) for o in evaluation["objectives"]
                              if o["metric"] == "error_rate") if t is not None]
    charts = [chart(t, figures.window, period, figures.timezone, locale) for t in timelines]
    terms = {o["id"]: ticket_terms(rule_set, o["id"]) for o in evaluation["objectives"]}
    # Objectives are called as the documents call them, and their attainment shown as there.
    words, named = wording(language, format == "html"), record_titles(evaluation)
    return template(f"report.{format}.j2", language, html=format == "html").render(
        record=record, contract=contract, evaluation=evaluation, figures=figures, charts=charts, terms=terms,
        documents=list(documents) if documents is not None else documents_of(record),
        period=period, days_in_period=figures.window.days(), quarter="assessed_from" in evaluation,
        f=ReportFormats(locale, contract["currency"], contract["timezone"]),
        titles={key: words.objective(title) for key, title in named.items()},
        headings={key: words.objective(title, heading=True) for key, title in named.items()},
        measured={o["id"]: shown_attainment(o["attainment"], o["target"], o["met"]) for o in evaluation["objectives"]},
        lang=language, direction=direction(language),
        ruler=ruler, symbols=SYMBOLS,
    )


def report_name(contract: str, period: str, format: str) -> str:
    """The file a report is written to: ``C-1001-2026-10-report.html``."""
    return f"{contract}-{period}-report.{format}"


def documents_from_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Stored document rows (``engine.tables.DocumentRow``) as ``render_report`` lists them."""
    return [{"number": r.number, "kind": r.kind, "gross_total": r.gross_total, "issue_date": r.issue_date}
            for r in rows]
