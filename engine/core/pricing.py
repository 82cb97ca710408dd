"""Pricing: from measured attainments and fired rules to service credits, in money.

An objective pays only when it is missed: below its target, or, without a target,
when a tier applies (tiers) or downtime was counted (per-unit and downtime-share
forms).  Each objective's credit is computed exactly and rounded once to the
currency's minor unit under the rule set's rounding mode; the contract's total is the
sum of those rounded credits, cut to the cap (itself rounded once) when it exceeds it.
A total below ``minimum_credit`` is not issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Mapping

from .matching import missed_rule, tier_rule
from .measure import Measure
from .model import Contract
from .money import Money
from .schema import Objective, RuleSet

HUNDRED = Fraction(100)
_NOTHING = Fraction(0)


@dataclass(frozen=True)
class CreditLine:
    """The credit of one objective: what applied, on which fee, and the rounded amount."""

    objective: str
    service: str
    met: bool
    form: str
    """tiers | per_unit | downtime_share | per_breach"""
    tier: int | None
    credit_percent: Fraction
    """the share of the fee credited, exact, in percent (0 for per_breach)"""
    fee: Decimal
    """the service's monthly fee: the basis of the credit"""
    amount: Money
    units: Fraction | None = None
    """per_unit: the (whole or prorated) units of downtime; per_breach: late tickets"""


@dataclass(frozen=True)
class Pricing:
    """The credits of one contract and period."""

    lines: tuple[CreditLine, ...]
    subtotal: Money
    """sum of the rounded credits of the objectives"""
    cap: Money | None
    """the cap as an amount, when the rule set has one"""
    cap_applied: bool
    total: Money
    minimum: Money | None
    status: str
    """issued | below_minimum | none"""


def is_missed(objective: Objective, measure: Measure, fired: frozenset[str]) -> bool:
    if objective.target is not None:
        return missed_rule(objective.id) in fired
    form = objective.credit.form
    if form == "tiers":
        return any(tier_rule(objective.id, i) in fired for i in range(len(objective.credit.tiers or ())))
    if form == "per_breach":
        return bool(measure.figures.get("late_tickets"))
    return bool(measure.downtime_minutes)


def price_objective(objective: Objective, measure: Measure, fired: frozenset[str],
                    contract: Contract, rule_set: RuleSet) -> CreditLine:
    fee = contract.service(objective.service).monthly_fee  # type: ignore[union-attr]
    currency, mode = contract.currency, rule_set.rounding
    credit = objective.credit
    missed = is_missed(objective, measure, fired)
    if not missed:  # most objectives of most contracts: nothing to work out
        return CreditLine(objective=objective.id, service=objective.service, met=True, form=credit.form, tier=None,
                          credit_percent=_NOTHING, fee=fee, amount=Money.zero(currency))
    tier = None
    percent = Fraction(0)
    units = None
    exact = Fraction(0)
    if credit.tiers is not None:
        tier = next((i for i in range(len(credit.tiers)) if tier_rule(objective.id, i) in fired), None)
        if tier is not None:
            percent = Fraction(credit.tiers[tier].credit)
            exact = Fraction(fee) * percent / HUNDRED
    elif credit.per_unit is not None:
        per_unit = credit.per_unit
        downtime = measure.downtime_minutes or Fraction(0)
        units = downtime / Fraction(int(per_unit.every.total_seconds()), 60)
        if per_unit.count == "whole":
            units = Fraction(units.numerator // units.denominator)
        percent = units * Fraction(per_unit.credit)
        exact = Fraction(fee) * percent / HUNDRED
    elif credit.downtime_share is not None:
        downtime = measure.downtime_minutes or Fraction(0)
        share = Fraction(credit.downtime_share.multiple) * downtime / measure.base_minutes if measure.base_minutes else Fraction(0)
        percent = share * HUNDRED
        exact = Fraction(fee) * share
    elif credit.per_breach is not None:
        units = Fraction(int(measure.figures.get("late_tickets", 0)))
        exact = units * Fraction(credit.per_breach)
    return CreditLine(
        objective=objective.id, service=objective.service, met=False, form=credit.form, tier=tier,
        credit_percent=percent, fee=fee, amount=Money.round(exact, currency, mode), units=units,
    )


@lru_cache(maxsize=1024)
def _rounded(amount: Decimal, currency: str, mode) -> Money:
    """A rule set's fixed amount in a currency: the same few for every contract."""
    return Money.round(amount, currency, mode)


def price(contract: Contract, rule_set: RuleSet, measures: Mapping[str, Measure], fired: frozenset[str]) -> Pricing:
    """Credits per objective, the cap across them, and whether the total is issued."""
    currency, mode = contract.currency, rule_set.rounding
    lines = tuple(price_objective(o, measures[o.id], fired, contract, rule_set)
                  for o in rule_set.objectives if o.id in measures)
    subtotal = Money.zero(currency)
    for line in lines:
        subtotal = subtotal + line.amount
    cap = None
    if rule_set.cap is not None:
        cap = Money.round(Fraction(contract.monthly_fees) * Fraction(rule_set.cap) / HUNDRED, currency, mode)
    cap_applied = cap is not None and subtotal.amount > cap.amount
    total = cap if cap_applied and cap is not None else subtotal
    minimum = _rounded(rule_set.minimum_credit, currency, mode) if rule_set.minimum_credit is not None else None
    if total.amount == 0:
        status = "none"
    elif rule_set.minimum_credit is not None and total.amount < rule_set.minimum_credit:
        status = "below_minimum"
    else:
        status = "issued"
    return Pricing(lines, subtotal, cap, cap_applied, total, minimum, status)
