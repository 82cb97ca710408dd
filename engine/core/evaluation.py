"""The evaluation of one contract for one period, and of a whole book.

``evaluate_contract`` is the pipeline of docs/DESIGN.md for one contract: measure every
objective of the services it takes, post one fact to the rule engine, price the fired
rules.  The result is an ``Evaluation`` value holding what was promised, what was
measured, which rules fired and what is owed.  ``evaluate_book`` does it for every
contract active in the period, after checking that each one has a rule-set version,
so that a bad book fails before any result exists.

A rule set with ``assessment: quarter`` measures its objectives over the quarter that ends
with the period, on three monthly fees; in the other months its contracts are evaluated for
late fees alone (``Assessment``).  A contract active on any day of such a quarter is
evaluated at its end, even if the quarter's last month is past the contract's end.

The clock is never read here: a caller that wants stage timings passes ``timer``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Callable, Iterable, Iterator, Protocol

from .errors import InputError
from .latefees import LateFees, late_fees
from .matching import CompiledRules, compile_rules, make_fact, matcher
from .measure import (
    Measure,
    MeasureMore,
    PartialImpactError,
    compared_attainment,
    measure_availability,
    measure_error_rate,
    measure_tickets,
)
from .model import Contract, Measurements
from .period import Period, Window, months_window
from .pricing import MONTH, Basis, Pricing, price
from .rates import RateBook
from .rulesets import RuleBook
from .schema import Metric, Objective, RuleSet

Timer = Callable[[str], AbstractContextManager]


def no_timer(stage: str) -> AbstractContextManager:
    return nullcontext()


@dataclass(frozen=True, eq=False)
class Assessment:
    """What a rule set's objectives are measured over for a period: the month, or a quarter."""

    first: Period
    last: Period
    window: Window
    """from local midnight on the first month's 1st to the end of the last month"""

    @property
    def months(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    @property
    def quarterly(self) -> bool:
        return self.months != 1

    @cached_property
    def basis(self) -> Basis:
        """The credit basis: as many monthly fees as months, and their calendar days for credits in days."""
        return Basis(self.months, self.window.days)


def assessment_of(rule_set: RuleSet, period: Period, tz: str) -> Assessment | None:
    """The month, or for ``assessment: quarter`` the quarter ending with ``period`` (None in its other months)."""
    if not rule_set.quarterly:
        return _month(period, tz)
    quarter = period.quarter(rule_set.fiscal_year_start)
    if quarter is None:
        return None
    return _months(quarter[0], quarter[1], tz)


@lru_cache(maxsize=4096)
def _month(period: Period, tz: str) -> Assessment:
    # The same few for every contract of a book: made once, as windows are.
    return Assessment(period, period, period.window(tz))


@lru_cache(maxsize=4096)
def _months(first: Period, last: Period, tz: str) -> Assessment:
    return Assessment(first, last, months_window(first, last, tz))


def evaluated_in(contract: Contract, period: Period, rule_set: RuleSet | None) -> bool:
    """Whether a contract is evaluated for the period: active in the month, or, under a quarterly
    rule set at a quarter's end, active on any day of the quarter."""
    if contract.active_in(period):
        return True
    if rule_set is None or not rule_set.quarterly:
        return False
    quarter = period.quarter(rule_set.fiscal_year_start)
    return quarter is not None and contract.start <= period.last_day and (
        contract.end is None or contract.end >= quarter[0].first_day)


@dataclass(frozen=True)
class Evaluation:
    """Everything decided for one contract and period, as a value."""

    contract: Contract
    period: Period
    window: Window
    rule_set: RuleSet
    measures: tuple[tuple[Objective, Measure], ...]
    fact: dict
    fired: frozenset[str]
    pricing: Pricing
    late_fees: LateFees | None = None
    """None when the rule set has no late_payment terms: the contract is never charged"""
    assessment: Assessment | None = None
    """what the objectives were measured over; None in a month that does not end a quarter"""

    @property
    def currency(self) -> str:
        return self.contract.currency


def clock_of(objective: Objective, rule_set: RuleSet):
    """The clock a ticket objective counts on: real time, or one of the rule set's calendars."""
    from .calendars import TWENTY_FOUR_SEVEN, BusinessClock

    return TWENTY_FOUR_SEVEN if objective.clock == "24x7" else BusinessClock.of(rule_set.calendars[objective.clock])


def measure(objective: Objective, contract: Contract, measurements: Measurements, window: Window,
            rule_set: RuleSet) -> Measure:
    """The attainment of one objective for one contract, over ``window`` (cut to the contract's
    active days under ``period_basis: active``)."""
    cut = objective.period_basis == "active"
    if cut:
        window = window.cut(contract.start, contract.end)
    if objective.metric is Metric.availability:
        try:
            measured = measure_availability(objective, measurements.incidents_of(contract.id, objective.service),
                                            window)
        except PartialImpactError as exc:
            raise InputError(str(exc), file=f"{measurements.folder}/incidents.csv" if measurements.folder else None,
                             line=exc.line, field="impact") from None
    elif objective.metric is Metric.error_rate:
        measured = measure_error_rate(objective, measurements.requests_of(contract.id, objective.service), window)
    else:
        measured = measure_tickets(objective, measurements.tickets_of(contract.id), measurements.pauses_of, window,
                                   clock_of(objective, rule_set))
    return replace(measured, more=replace(measured.more or MeasureMore(), window=window)) if cut else measured


class CompiledCache:
    """Rule sets compiled once per run, keyed by content."""

    def __init__(self) -> None:
        self._compiled: dict[str, CompiledRules] = {}

    def __call__(self, rule_set: RuleSet) -> CompiledRules:
        compiled = self._compiled.get(rule_set.sha256)
        if compiled is None:
            compiled = self._compiled[rule_set.sha256] = compile_rules(rule_set)
        return compiled


def evaluate_contract(contract: Contract, rule_set: RuleSet, measurements: Measurements, period: Period,
                      compiled: CompiledRules | None = None, timer: Timer = no_timer,
                      rates: RateBook | None = None) -> Evaluation:
    window = period.window(contract.timezone)
    assessed = _month(period, contract.timezone) if rule_set.assessment == "month" else \
        assessment_of(rule_set, period, contract.timezone)
    with timer("measure"):
        measures = () if assessed is None else tuple(
            (o, measure(o, contract, measurements, assessed.window, rule_set))
            for o in rule_set.objectives if contract.service(o.service) is not None)
    # The tiers and the target read the attainment as compared (rounded, when the objective says
    # so), and count-based tiers the count they are on.
    attainments: dict[str, Fraction] = {
        o.id: m.attainment if o.attainment_rounding is None else compared_attainment(o, m) for o, m in measures}
    with timer("match"):
        rules = compiled or compile_rules(rule_set)
        counts = {o.id: m.figures[COUNTED[o.credit.tiers_on]] for o, m in measures if o.credit.on_count} \
            if rules.counted else None
        fact = make_fact(rules, contract.id, attainments, counts)
        fired = matcher().match(rules, fact)
    with timer("price"):
        basis = assessed.basis if assessed is not None else MONTH
        pricing = price(contract, rule_set, {o.id: m for o, m in measures}, fired, basis)
    fees = None
    if rule_set.late_payment is not None:
        with timer("late fees"):
            fees = late_fees(contract, rule_set.late_payment, measurements.invoices_of(contract.id),
                             measurements.payments, period, rates, rule_set.rounding)
    return Evaluation(contract, period, window, rule_set, measures, fact, fired, pricing, fees, assessed)


COUNTED = {"late_tickets": "late_tickets", "outages": "counted_outages"}
"""the measured figure that count-based tiers (``tiers_on``) read"""


class Book(Protocol):
    """The contracts of a book, wherever they were read from, and how to point at one of them."""

    file: str
    """where the book was read from, for messages"""
    contracts: tuple[Contract, ...]

    def contract(self, contract_id: str) -> Contract | None: ...

    def error_at(self, contract_id: str, key: str, message: str) -> InputError:
        """An error about one key of one contract, at its place in the book."""


def contracts_to_evaluate(book: Book, period: Period, contract_id: str | None = None) -> list[Contract]:
    """The contracts active in the period (or the one asked for), in id order."""
    if contract_id is not None:
        contract = book.contract(contract_id)
        if contract is None:
            raise InputError(f"no contract {contract_id!r} in {book.file}", field="--contract")
        if not contract.active_in(period):
            raise InputError(f"contract {contract_id} is not active in {period}", field="--contract")
        return [contract]
    return sorted((c for c in book.contracts if c.active_in(period)), key=lambda c: c.id)


def resolve_rule_sets(rules: RuleBook, contracts: list[Contract], period: Period,
                      error: Callable[[str, str, str], InputError]) -> dict[str, RuleSet]:
    """The rule-set version of each contract for the period; a contract without one is an input error.

    ``error(contract_id, key, message)`` says where the contract came from.
    """
    chosen: dict[str, RuleSet] = {}
    for contract in contracts:
        rule_set = rules.for_period(contract.ruleset, period.first_day)
        if rule_set is None:
            if contract.ruleset not in rules.ids():
                known = ", ".join(rules.ids()) or "none"
                raise error(contract.id, "ruleset", f"no rule set {contract.ruleset!r} was loaded (loaded: {known})")
            raise error(contract.id, "ruleset",
                        f"no version of {contract.ruleset} applies on {period.first_day.isoformat()}")
        chosen[contract.id] = rule_set
    return chosen


def quarter_only_contracts(rules: RuleBook, contracts: Iterable[Contract], period: Period) -> dict[str, RuleSet]:
    """Contracts not active in the period but in the quarter it ends, under a quarterly rule set.

    Only a contract whose rule set has a version for the period can be one; any other is
    simply not evaluated (it is not active in the period).
    """
    found: dict[str, RuleSet] = {}
    if not any(item.rules.quarterly for item in rules.loaded):
        return found
    for contract in contracts:
        if contract.active_in(period) or contract.start > period.last_day:
            continue
        rule_set = rules.for_period(contract.ruleset, period.first_day)
        if rule_set is not None and evaluated_in(contract, period, rule_set):
            found[contract.id] = rule_set
    return found


def evaluate_book(rules: RuleBook, book: Book, measurements: Measurements, period: Period,
                  contract_id: str | None = None, timer: Timer = no_timer,
                  rates: RateBook | None = None) -> Iterator[Evaluation]:
    """Evaluate every active contract; all rule-set choices are checked before the first result."""
    named = book.contract(contract_id) if contract_id is not None else None
    candidates = book.contracts if contract_id is None else [named] if named is not None else []
    quarter_only = quarter_only_contracts(rules, candidates, period)
    if named is not None and named.id in quarter_only:
        contracts, chosen = [named], dict(quarter_only)
    else:
        contracts = contracts_to_evaluate(book, period, contract_id)
        chosen = resolve_rule_sets(rules, contracts, period, book.error_at)
        if quarter_only and contract_id is None:
            chosen.update(quarter_only)
            contracts = sorted(contracts + [c for c in book.contracts if c.id in quarter_only], key=lambda c: c.id)
    cache = CompiledCache()
    for contract in contracts:
        rule_set = chosen[contract.id]
        yield evaluate_contract(contract, rule_set, measurements, period, cache(rule_set), timer, rates)
