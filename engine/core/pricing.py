"""Pricing: from measured attainments and fired rules to service credits, in money.

An objective pays only when it is missed: below its target, or, without a target,
when a tier applies (tiers), downtime was counted (per-unit and downtime-share forms) or
an outage earns (per-outage).  Each objective's credit is computed exactly and rounded
once to the currency's minor unit under the rule set's rounding mode (a per-outage
credit rounds each outage's credit once, and adds them); the contract's total is the sum
of those rounded credits, the largest of each ``group`` only, cut to the cap (itself
rounded once) when it exceeds it.  A total below ``minimum_credit`` is not issued.

The credit basis is the service's monthly fee, three of them for a quarter.  A credit
written in days (``"3d"``) is that many days of the basis: basis x days / the calendar
days of the month (or quarter).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Mapping

from .matching import missed_rule, tier_rule
from .measure import Measure
from .model import Contract
from .money import Money
from .quantities import Days
from .schema import Objective, RuleSet

HUNDRED = Fraction(100)
_NOTHING = Fraction(0)


@dataclass(frozen=True)
class OutageCredit:
    """What one counted outage earned (``per_outage``)."""

    start: datetime
    end: datetime
    """the whole outage, not cut to the period"""
    counted_minutes: Fraction
    """its counted downtime inside the period"""
    credit: Money
    tier: int | None = None
    """per_outage tiers: the tier it earned"""
    capped: bool = False
    """per_outage multiple: the credit was cut to the cap per outage"""


@dataclass(frozen=True)
class CreditLine:
    """The credit of one objective: what applied, on which fee, and the rounded amount."""

    objective: str
    service: str
    met: bool
    form: str
    """tiers | per_unit | downtime_share | per_outage | per_breach"""
    tier: int | None
    credit_percent: Fraction
    """the share of the fee credited, exact, in percent (0 for per_breach)"""
    fee: Decimal
    """the credit basis: the service's monthly fee (three of them for a quarter)"""
    amount: Money
    units: Fraction | None = None
    """per_unit: the (whole, prorated or started) units of downtime; per_breach: late tickets"""
    more: "CreditMore | None" = None
    """what the terms of INTERFACE.md 6.2 add (one field: a line is made for every objective of
    every contract, and most have none of it)"""

    @property
    def in_total(self) -> bool | None:
        """grouped objectives: whether this credit is the group's one in the total (None: not grouped)"""
        return self.more.in_total if self.more is not None else None

    @property
    def outages(self) -> tuple[OutageCredit, ...]:
        """per_outage: the outages that earn in this period, in order of start"""
        return self.more.outages if self.more is not None else ()

    @property
    def beyond_minutes(self) -> Fraction | None:
        """beyond_allowance: the counted downtime beyond the allowance, the part that earns"""
        return self.more.beyond_minutes if self.more is not None else None

    @property
    def credit_days(self) -> Decimal | None:
        """the credit as written, when it is days of the fee (a tier's, or each unit's)"""
        return self.more.credit_days if self.more is not None else None


@dataclass(frozen=True)
class CreditMore:
    """A credit line's figures under the terms of INTERFACE.md 6.2."""

    in_total: bool | None = None
    outages: tuple[OutageCredit, ...] = ()
    beyond_minutes: Fraction | None = None
    credit_days: Decimal | None = None


@dataclass(frozen=True)
class Pricing:
    """The credits of one contract and period."""

    lines: tuple[CreditLine, ...]
    subtotal: Money
    """sum of the rounded credits of the objectives (of each group, the largest only)"""
    cap: Money | None
    """the cap as an amount, when the rule set has one"""
    cap_applied: bool
    total: Money
    minimum: Money | None
    status: str
    """issued | below_minimum | none"""


@dataclass(frozen=True)
class Basis:
    """What a credit is taken on: how many monthly fees, and the calendar days they cover."""

    months: int = 1
    days: Callable[[], int] | None = None
    """the calendar days of the month or quarter, worked out when a credit in days asks"""


MONTH = Basis()


def share_percent(share: Decimal | Days, basis: Basis) -> Fraction:
    """A credit's share of the fee in percent: as written, or days / the calendar days x 100.

    >>> share_percent(Days(Decimal(3)), Basis(days=lambda: 28)), share_percent(Decimal("12.5"), MONTH)
    (Fraction(75, 7), Fraction(25, 2))
    """
    if isinstance(share, Days):
        assert basis.days is not None
        return Fraction(share.days) * HUNDRED / basis.days()
    return Fraction(share)


def is_missed(objective: Objective, measure: Measure, fired: frozenset[str]) -> bool:
    if objective.target is not None:
        return missed_rule(objective.id) in fired
    form = objective.credit.form
    if form == "tiers":
        return any(tier_rule(objective.id, i) in fired for i in range(len(objective.credit.tiers or ())))
    if form == "per_breach":
        return bool(measure.figures.get("late_tickets"))
    if form == "per_outage":
        return True  # decided by whether an outage earns, once each outage is priced
    return bool(measure.downtime_minutes)


def allowance_minutes(objective: Objective, measure: Measure) -> Fraction:
    """The downtime the target allows: (100 - target) % of the minutes the attainment is taken over."""
    assert objective.target is not None
    return measure.base_minutes * (HUNDRED - Fraction(objective.target)) / HUNDRED


def price_objective(objective: Objective, measure: Measure, fired: frozenset[str],
                    contract: Contract, rule_set: RuleSet, basis: Basis = MONTH) -> CreditLine:
    fee = contract.service(objective.service).monthly_fee  # type: ignore[union-attr]
    if basis.months != 1:
        fee = fee * basis.months
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
    beyond = None
    days = None
    if credit.tiers is not None:
        tier = next((i for i in range(len(credit.tiers)) if tier_rule(objective.id, i) in fired), None)
        if tier is not None:
            share = credit.tiers[tier].credit
            if isinstance(share, Days):
                days, percent = share.days, share_percent(share, basis)
            else:
                percent = Fraction(share)
            exact = Fraction(fee) * percent / HUNDRED
    elif credit.per_unit is not None:
        per_unit = credit.per_unit
        downtime = measure.downtime_minutes or Fraction(0)
        if per_unit.beyond_allowance:
            downtime = beyond = max(downtime - allowance_minutes(objective, measure), Fraction(0))
        units = downtime / Fraction(int(per_unit.every.total_seconds()), 60)
        if per_unit.count == "whole":
            units = Fraction(units.numerator // units.denominator)
        elif per_unit.count == "started":
            units = Fraction(-(-units.numerator // units.denominator))
        days = per_unit.credit.days if isinstance(per_unit.credit, Days) else None
        percent = units * share_percent(per_unit.credit, basis)
        exact = Fraction(fee) * percent / HUNDRED
    elif credit.downtime_share is not None:
        downtime = measure.downtime_minutes or Fraction(0)
        if credit.downtime_share.beyond_allowance:
            downtime = beyond = max(downtime - allowance_minutes(objective, measure), Fraction(0))
        share = Fraction(credit.downtime_share.multiple) * downtime / measure.base_minutes if measure.base_minutes else Fraction(0)
        percent = share * HUNDRED
        exact = Fraction(fee) * share
    elif credit.per_outage is not None:
        return _per_outage(objective, measure, contract, rule_set, basis, fee)
    elif credit.per_breach is not None:
        units = Fraction(int(measure.figures.get("late_tickets", 0)))
        exact = units * Fraction(credit.per_breach)
    return CreditLine(
        objective=objective.id, service=objective.service, met=False, form=credit.form, tier=tier,
        credit_percent=percent, fee=fee, amount=Money.round(exact, currency, mode), units=units,
        more=CreditMore(beyond_minutes=beyond, credit_days=days) if beyond is not None or days is not None else None,
    )


def _per_outage(objective: Objective, measure: Measure, contract: Contract, rule_set: RuleSet, basis: Basis,
                fee: Decimal) -> CreditLine:
    """Each counted outage priced on its own and rounded once; the objective's credit is their sum.

    ``multiple``: fee x multiple x the outage's counted minutes in the period / the period's
    minutes (as the attainment takes them), at most ``cap`` of the fee per outage.
    ``tiers``: an outage strictly longer than a tier's ``longer_than`` (its whole length, as
    ``min_duration`` judges it) earns the longest such tier, in the period in which it ends.
    """
    terms = objective.credit.per_outage
    assert terms is not None
    currency, mode = contract.currency, rule_set.rounding
    base = measure.base_minutes
    earned: list[OutageCredit] = []
    shares = Fraction(0)
    if terms.multiple is not None:
        cap = Fraction(fee) * share_percent(terms.cap, basis) / HUNDRED if terms.cap is not None else None
        for outage in measure.outages:
            if not outage.counted_minutes:
                continue
            exact = Fraction(fee) * Fraction(terms.multiple) * outage.counted_minutes / base if base else Fraction(0)
            capped = cap is not None and exact > cap
            if capped:
                exact = cap  # type: ignore[assignment]
            shares += exact
            earned.append(OutageCredit(outage.start, outage.end, outage.counted_minutes,
                                       Money.round(exact, currency, mode), capped=capped))
    else:
        ranked = sorted(enumerate(terms.tiers or ()), key=lambda item: item[1].longer_than)
        for outage in measure.outages:
            if not outage.ends_in_period:
                continue
            tier = None
            for index, candidate in ranked:
                if outage.length > candidate.longer_than:
                    tier = index
            if tier is None:
                continue
            exact = Fraction(fee) * share_percent(terms.tiers[tier].credit, basis) / HUNDRED  # type: ignore[index]
            shares += exact
            earned.append(OutageCredit(outage.start, outage.end, outage.counted_minutes,
                                       Money.round(exact, currency, mode), tier=tier))
    total = Money.zero(currency)
    for outage_credit in earned:
        total = total + outage_credit.credit
    met = objective.target is None and not earned
    percent = shares / Fraction(fee) * HUNDRED if fee else Fraction(0)
    return CreditLine(objective=objective.id, service=objective.service, met=met, form="per_outage", tier=None,
                      credit_percent=_NOTHING if met else percent, fee=fee,
                      amount=Money.zero(currency) if met else total, more=CreditMore(outages=tuple(earned)))


@lru_cache(maxsize=1024)
def _rounded(amount: Decimal, currency: str, mode) -> Money:
    """A rule set's fixed amount in a currency: the same few for every contract."""
    return Money.round(amount, currency, mode)


def grouped(lines: tuple[CreditLine, ...], objectives: Mapping[str, Objective]) -> tuple[CreditLine, ...]:
    """Of each group, only the largest credit counts (on a tie, the first listed).

    Every grouped line says whether it is the one in the total; when all of a group's
    credits are zero, its first listed objective is.
    """
    best: dict[str, int] = {}
    for index, line in enumerate(lines):
        group = objectives[line.objective].group
        if group is not None and (group not in best or line.amount.amount > lines[best[group]].amount.amount):
            best[group] = index
    if not best:
        return lines
    result = []
    for index, line in enumerate(lines):
        group = objectives[line.objective].group
        if group is not None:
            line = replace(line, more=replace(line.more or CreditMore(), in_total=best[group] == index))
        result.append(line)
    return tuple(result)


def price(contract: Contract, rule_set: RuleSet, measures: Mapping[str, Measure], fired: frozenset[str],
          basis: Basis = MONTH) -> Pricing:
    """Credits per objective, the cap across them, and whether the total is issued."""
    currency, mode = contract.currency, rule_set.rounding
    lines = tuple(price_objective(o, measures[o.id], fired, contract, rule_set, basis)
                  for o in rule_set.objectives if o.id in measures)
    if rule_set.grouped:
        lines = grouped(lines, {o.id: o for o in rule_set.objectives})
    subtotal = Money.zero(currency)
    for line in lines:
        if line.more is None or line.more.in_total is not False:  # a grouped credit not its group's largest
            subtotal = subtotal + line.amount
    cap = None
    if rule_set.cap is not None:
        fees = Fraction(contract.monthly_fees)
        if basis.months != 1:
            fees *= basis.months
        cap = Money.round(fees * Fraction(rule_set.cap) / HUNDRED, currency, mode)
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
