"""The evaluation of one contract for one period, and of a whole book.

``evaluate_contract`` is the pipeline of docs/DESIGN.md for one contract: measure every
objective of the services it takes, post one fact to the rule engine, price the fired
rules.  The result is an ``Evaluation`` value holding what was promised, what was
measured, which rules fired and what is owed.  ``evaluate_book`` does it for every
contract active in the period, after checking that each one has a rule-set version,
so that a bad book fails before any result exists.

The clock is never read here: a caller that wants stage timings passes ``timer``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator, Protocol

from .errors import InputError
from .latefees import LateFees, late_fees
from .matching import CompiledRules, compile_rules, make_fact, matcher
from .measure import Measure, measure_availability, measure_error_rate, measure_tickets
from .model import Contract, Measurements
from .period import Period, Window
from .pricing import Pricing, price
from .rates import RateBook
from .rulesets import RuleBook
from .schema import Metric, Objective, RuleSet

Timer = Callable[[str], AbstractContextManager]


def no_timer(stage: str) -> AbstractContextManager:
    return nullcontext()


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

    @property
    def currency(self) -> str:
        return self.contract.currency


def clock_of(objective: Objective, rule_set: RuleSet):
    """The clock a ticket objective counts on: real time, or one of the rule set's calendars."""
    from .calendars import TWENTY_FOUR_SEVEN, BusinessClock

    return TWENTY_FOUR_SEVEN if objective.clock == "24x7" else BusinessClock.of(rule_set.calendars[objective.clock])


def measure(objective: Objective, contract: Contract, measurements: Measurements, window: Window,
            rule_set: RuleSet) -> Measure:
    """The attainment of one objective for one contract."""
    if objective.metric is Metric.availability:
        return measure_availability(objective, measurements.incidents_of(contract.id, objective.service), window)
    if objective.metric is Metric.error_rate:
        return measure_error_rate(objective, measurements.requests_of(contract.id, objective.service), window)
    return measure_tickets(objective, measurements.tickets_of(contract.id), measurements.pauses_of, window,
                           clock_of(objective, rule_set))


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
    with timer("measure"):
        measures = tuple((o, measure(o, contract, measurements, window, rule_set))
                         for o in rule_set.objectives if contract.service(o.service) is not None)
    attainments: dict[str, Fraction] = {o.id: m.attainment for o, m in measures}
    with timer("match"):
        rules = compiled or compile_rules(rule_set)
        fact = make_fact(rules, contract.id, attainments)
        fired = matcher().match(rules, fact)
    with timer("price"):
        pricing = price(contract, rule_set, {o.id: m for o, m in measures}, fired)
    fees = None
    if rule_set.late_payment is not None:
        with timer("late fees"):
            fees = late_fees(contract, rule_set.late_payment, measurements.invoices_of(contract.id),
                             measurements.payments, period, rates, rule_set.rounding)
    return Evaluation(contract, period, window, rule_set, measures, fact, fired, pricing, fees)


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


def evaluate_book(rules: RuleBook, book: Book, measurements: Measurements, period: Period,
                  contract_id: str | None = None, timer: Timer = no_timer,
                  rates: RateBook | None = None) -> Iterator[Evaluation]:
    """Evaluate every active contract; all rule-set choices are checked before the first result."""
    contracts = contracts_to_evaluate(book, period, contract_id)
    chosen = resolve_rule_sets(rules, contracts, period, book.error_at)
    cache = CompiledCache()
    for contract in contracts:
        rule_set = chosen[contract.id]
        yield evaluate_contract(contract, rule_set, measurements, period, cache(rule_set), timer, rates)
