"""Rule-set versions: choosing the version for a period, and checking tiers.

A ``RuleBook`` holds every version of every rule set and refuses two versions of one
rule set that apply on the same day.  ``check_tiers`` is what ``slabill rules check`` adds to the
schema: it finds attainments that no tier covers (a gap, e.g. exactly 99.0) and
attainments that two tiers cover (an overlap, where the first tier silently wins).
``check_french_floor`` flags a late-payment rate below the French L441-10 floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Callable, Iterable, Mapping

from .errors import InputError, RateMissingError
from .model import Contract, Incident, Measurements
from .rates import RateBook, RateTable
from .schema import Metric, Objective, RuleSet, Tier


@dataclass(frozen=True)
class LoadedRuleSet:
    """A validated rule set and where it came from (for messages only, never for audit)."""

    rules: RuleSet
    file: str
    line_of: Callable[[tuple[str | int, ...]], int | None] | None = field(default=None, compare=False)
    """the line of a key in the file, when the rule set was read from one"""

    def error_at(self, key: str, message: str) -> InputError:
        line = self.line_of((key,)) if self.line_of is not None else None
        return InputError(message, file=self.file, line=line, field=key)


class RuleBook:
    """Every loaded version of every rule set, and the choice of version per period."""

    def __init__(self, loaded: list[LoadedRuleSet]) -> None:
        self.loaded = loaded
        self._versions: dict[str, list[LoadedRuleSet]] = {}
        for item in loaded:
            versions = self._versions.setdefault(item.rules.ruleset, [])
            for other in versions:
                if other.rules.version == item.rules.version:
                    if other.rules.sha256 == item.rules.sha256:
                        continue
                    raise item.error_at("version", f"version {item.rules.version} of {item.rules.ruleset} "
                                        f"is also defined, differently, in {other.file}; give changed rules a new version")
                clash = _first_common_day(other.rules, item.rules)
                if clash is not None:
                    raise item.error_at(
                        "effective_from",
                        f"versions {other.rules.version} ({other.file}) and {item.rules.version} of "
                        f"{item.rules.ruleset} both apply on {clash.isoformat()}")
            if not any(v.rules.sha256 == item.rules.sha256 for v in versions):
                versions.append(item)

    def ids(self) -> list[str]:
        return sorted(self._versions)

    def versions(self, ruleset: str) -> list[RuleSet]:
        """Every loaded version of a rule set."""
        return [item.rules for item in self._versions.get(ruleset, ())]

    def for_period(self, ruleset: str, first_day: date) -> RuleSet | None:
        """The version whose effective range contains the period's first day, if any."""
        for item in self._versions.get(ruleset, ()):
            if item.rules.applies_on(first_day):
                return item.rules
        return None


def _first_common_day(a: RuleSet, b: RuleSet) -> date | None:
    start = max(a.effective_from, b.effective_from)
    ends = [d for d in (a.effective_until, b.effective_until) if d is not None]
    end = min(ends) if ends else None
    return start if end is None or start <= end else None


def check_partial_impacts(rules: RuleBook, contracts: Mapping[str, Contract], measurements: Measurements) -> None:
    """An incident with an impact below 100 is a bad row where an objective that measures its
    service does not count ``exact`` (INTERFACE.md 6.1): checked when a book is loaded, so that
    the store never holds a row no run could evaluate.

    Every version of the contract's rule set in force on a day the incident touches is asked.
    """
    check_partial_impact_rows(rules, contracts, ((key, incident) for key, incidents in measurements.incidents.items()
                                                 for incident in incidents), f"{measurements.folder}/incidents.csv")


def check_partial_impact_rows(rules: RuleBook, contracts, incidents: Iterable[tuple[tuple[str, str], Incident]],
                              file: str) -> None:
    """``check_partial_impacts`` for some rows of ``file``; ``contracts.get(id)`` needs only a ``ruleset``."""
    for (contract_id, service), incident in incidents:
        if incident.impact is None:
            continue
        contract = contracts.get(contract_id)
        if contract is None:
            continue
        for rule_set in rules.versions(contract.ruleset):
            if not (rule_set.applies_on(incident.start.date()) or rule_set.applies_on(incident.end.date())):
                continue
            for objective in rule_set.objectives:
                if (objective.service == service and objective.metric is Metric.availability
                        and objective.counting.count != "exact"):
                    raise InputError(
                        f"the incident has an impact below 100, but objective {objective.id} of "
                        f"{rule_set.ruleset} {rule_set.version} counts downtime {objective.counting.count}; "
                        "only count: exact weighs downtime by its impact",
                        file=file, line=incident.line, field="impact")


# --- tier coverage ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TierFinding:
    """Something about an objective's tiers that is probably a mistake."""

    objective: str
    kind: str  # "gap", "overlap" or "above_target"
    message: str


def _covers(tier: Tier, x: Fraction) -> bool:
    return all({
        "below": x < Fraction(v), "at_most": x <= Fraction(v),
        "above": x > Fraction(v), "at_least": x >= Fraction(v),
    }[kind] for kind, v in tier.bounds())


def _show(x: Fraction, points: dict[Fraction, Decimal]) -> str:
    return str(points.get(x, Decimal(x.numerator) / Decimal(x.denominator)))


def _describe_range(start: tuple[Fraction, bool], end: tuple[Fraction, bool], points: dict[Fraction, Decimal]) -> str:
    (a, a_in), (b, b_in) = start, end
    if a == b:
        return f"exactly {_show(a, points)}"
    low = f"{_show(a, points)} ({'included' if a_in else 'excluded'})"
    high = f"{_show(b, points)} ({'included' if b_in else 'excluded'})"
    return f"from {low} to {high}"


def check_tiers(objective: Objective) -> list[TierFinding]:
    """Gaps below the promised attainment, overlaps between tiers, and tiers at or above the target.

    >>> from engine.core.schema import Objective
    >>> o = Objective.model_validate({"id": "a", "service": "s", "metric": "availability", "target": "99.9",
    ...     "credit": {"tiers": [{"below": "99.9", "above": "99.0", "credit": "10%"},
    ...                          {"below": "99.0", "credit": "25%"}]}})
    >>> [f.message for f in check_tiers(o)]
    ['nothing covers exactly 99.0']
    """
    tiers = objective.credit.tiers
    if not tiers:
        return []
    if objective.credit.on_count:
        return check_count_tiers(objective)
    promised = objective.promised
    points: dict[Fraction, Decimal] = {Fraction(0): Decimal(0), Fraction(100): Decimal(100)}
    for tier in tiers:
        for _, value in tier.bounds():
            points.setdefault(Fraction(value), value)
    if promised is not None:
        points.setdefault(Fraction(promised), promised)
    ordered = sorted(p for p in points if 0 <= p <= 100)
    # Pieces alternate: the point p0, the open stretch (p0, p1), the point p1, ...
    pieces: list[tuple[tuple[Fraction, bool], tuple[Fraction, bool], Fraction]] = []
    for i, p in enumerate(ordered):
        pieces.append(((p, True), (p, True), p))
        if i + 1 < len(ordered):
            q = ordered[i + 1]
            pieces.append(((p, False), (q, False), (p + q) / 2))
    top = Fraction(promised) if promised is not None else None
    findings: list[TierFinding] = []

    def flush(kind: str, run: list, label: str) -> None:
        if run:
            where = _describe_range(run[0][0], run[-1][1], points)
            findings.append(TierFinding(objective.id, kind, label.format(where=where)))

    gap_run: list = []
    overlap_runs: dict[tuple[int, ...], list] = {}
    above_runs: dict[int, list] = {}
    for start, end, probe in pieces:
        covering = tuple(i for i, tier in enumerate(tiers) if _covers(tier, probe))
        # Without a promised attainment there is no range that must be covered.
        in_domain = top is not None and probe < top
        if in_domain and not covering:
            gap_run.append((start, end))
        else:
            flush("gap", gap_run, "nothing covers {where}")
            gap_run = []
        for key, run in list(overlap_runs.items()):
            if key != covering:
                flush("overlap", run, f"tiers {' and '.join(map(str, key))} both cover {{where}}; the first one wins")
                del overlap_runs[key]
        if len(covering) > 1:
            overlap_runs.setdefault(covering, []).append((start, end))
        for i in list(above_runs):
            if i not in covering or in_domain:
                flush("above_target", above_runs.pop(i),
                      f"tier {i} gives a credit although the target {promised} is met, {{where}}")
        if top is not None and not in_domain:
            for i in covering:
                above_runs.setdefault(i, []).append((start, end))
    flush("gap", gap_run, "nothing covers {where}")
    for key, run in overlap_runs.items():
        flush("overlap", run, f"tiers {' and '.join(map(str, key))} both cover {{where}}; the first one wins")
    for i, run in above_runs.items():
        flush("above_target", run, f"tier {i} gives a credit although the target {promised} is met, {{where}}")
    return findings


COUNTED_NOUNS = {"late_tickets": ("late ticket", "late tickets"), "outages": ("outage", "outages")}


def check_count_tiers(objective: Objective) -> list[TierFinding]:
    """Gaps and overlaps of tiers on a whole count (``tiers_on``), read on whole numbers.

    Every count from 1 up should be covered once: a count nothing covers earns nothing (a
    gap), a count two tiers cover is paid by the first (an overlap), and a tier that covers 0
    credits a month in which nothing happened.  Counts are integers, so ``at_most: 2`` and
    ``at_least: 3`` leave no gap.

    >>> from engine.core.schema import Objective
    >>> o = Objective.model_validate({"id": "s", "service": "x", "metric": "response_time", "target_time": "1h",
    ...     "credit": {"tiers_on": "late_tickets", "tiers": [{"at_least": "1", "at_most": "2", "credit": "5%"},
    ...                {"at_least": "4", "credit": "10%"}]}})
    >>> [f.message for f in check_count_tiers(o)]
    ['nothing covers 3 late tickets']
    """
    tiers = objective.credit.tiers or ()
    one, many = COUNTED_NOUNS[objective.credit.tiers_on]
    # Which tiers hold changes only at ceil(b) and floor(b) + 1 of a bound b: between those
    # points every count is covered alike, and above the last one every count is.
    points = {0, 1}
    for tier in tiers:
        for _, value in tier.bounds():
            bound = Fraction(value)
            for point in (math.ceil(bound), math.floor(bound) + 1):
                if point >= 0:
                    points.add(point)
    ordered = sorted(points)
    runs: list[tuple[int, int | None, tuple[int, ...]]] = []  # first, last (None: and more), covering
    for index, first in enumerate(ordered):
        last = ordered[index + 1] - 1 if index + 1 < len(ordered) else None
        covering = tuple(i for i, tier in enumerate(tiers) if _covers(tier, Fraction(first)))
        if runs and runs[-1][2] == covering and runs[-1][1] == first - 1:
            runs[-1] = (runs[-1][0], last, covering)
        else:
            runs.append((first, last, covering))

    def where(first: int, last: int | None) -> str:
        if last is None:
            return f"{first} or more {many}"
        if first == last:
            return f"{first} {one if first == 1 else many}"
        return f"{first} to {last} {many}"

    findings = []
    for first, last, covering in runs:
        if first == 0:
            for i in covering:
                findings.append(TierFinding(objective.id, "zero_count",
                                            f"tier {i} gives a credit for 0 {many}"))
            if last == 0:
                continue
            first = 1
        if not covering:
            findings.append(TierFinding(objective.id, "gap", f"nothing covers {where(first, last)}"))
        elif len(covering) > 1:
            findings.append(TierFinding(objective.id, "overlap", f"tiers {' and '.join(map(str, covering))} both "
                                        f"cover {where(first, last)}; the first one wins"))
    return findings


def _half_year(day: date) -> date:
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def _half_label(half: date) -> str:
    return f"{half.year} H{1 if half.month == 1 else 2}"


def check_french_floor(rule_set: RuleSet, rates: "RateBook | None") -> list[TierFinding]:
    """A late-payment rate below 3 x the French legal rate (Code de commerce L441-10).

    The floor binds contracts under French law; slabill flags it and never clamps the rate.
    A ``contractual`` rate is judged in every half-year of the rule set's range that the
    legal-rate table covers.  A regime whose rate comes from a table (fr, eu, de, uk) is
    judged only when ``margin_points`` overrides the statutory margin (the statutory
    margins are well above the floor), on the rate in force in the half-year of
    ``effective_from``: the reference rate of that half-year (for uk, of the 31 December
    or 30 June before it) plus the margin.  Half-years the tables do not cover are not
    judged.
    """
    terms = rule_set.late_payment
    legal = rates.tables.get("fr-taux-legal") if rates is not None else None
    if terms is None or legal is None:
        return []
    if terms.regime == "contractual":
        return _contractual_floor(rule_set, terms.annual_rate, legal)
    if terms.margin_points is None:
        return []
    from .latefees import REGIMES, uk_reference_date

    name, _, how = REGIMES[terms.regime]
    half = _half_year(rule_set.effective_from)
    on = uk_reference_date(half) if how == "fixed" else half
    try:
        reference = rates.table(name).in_force(on).rate
        legal_rate = legal.in_force(half).rate
    except RateMissingError:
        return []
    rate = reference + terms.margin_points
    floor = 3 * legal_rate
    if rate >= floor:
        return []
    label = _half_label(half)
    return [TierFinding("late_payment", "french_floor",
                        f"the {terms.regime} rate in {label} ({name} {reference} % on {on.isoformat()} + "
                        f"margin_points {terms.margin_points}) is {rate} %, below the L441-10 floor for contracts "
                        f"under French law (3 x the legal rate): {label}: 3 x {legal_rate} = {floor} %")]


def _contractual_floor(rule_set: RuleSet, annual_rate: Decimal, legal: RateTable) -> list[TierFinding]:
    start = max(rule_set.effective_from, legal.values[0].since)
    end = min(rule_set.effective_until or legal.known_until, legal.known_until)
    below = []
    half = _half_year(start)
    while half <= end:
        legal_rate = legal.in_force(max(half, start)).rate
        floor = 3 * legal_rate
        if annual_rate < floor:
            below.append(f"{_half_label(half)}: 3 x {legal_rate} = {floor} %")
        half = date(half.year + (half.month == 7), 7 if half.month == 1 else 1, 1)
    if not below:
        return []
    return [TierFinding("late_payment", "french_floor",
                        f"the contractual rate {annual_rate} % is below the L441-10 floor for contracts under "
                        f"French law (3 x the legal rate): {'; '.join(below)}")]
