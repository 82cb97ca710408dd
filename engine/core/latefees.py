"""Late-payment penalties: statutory or contractual interest, and the fixed recovery sum.

For each invoice, the days late run from the day after the due date (plus
``grace_days``) through the day it is paid in full, in the contract's time zone.  A
period charges the interest of the days late that fall inside it; the fixed sum is
charged once, in the period in which the invoice first becomes late.

Each day late accrues ``outstanding x annual rate x day fraction``, exactly:

* outstanding: the base (gross by default, or net in proportion) less what was paid
  before that day (a partial payment lowers it from the day after it arrives);
* annual rate: by regime (module ``REGIMES``), ``margin_points`` replacing the
  statutory margin, rounded up to a step under ``be`` (the next half point) or
  ``rate_rounding``;
* day fraction: ``act_365`` 1/365; ``act_act`` 1/365 or 1/366 by calendar year;
  ``30_360`` the 30E/360 convention, where a day counts (f(d) - f(d - 1)) / 360 with
  f = 360 x year + 30 x month + min(day, 30), so that the days of any split add up.

Under ``nl`` (BW 6:119a(3)) interest is capitalised: at the end of each full year of
lateness, counted from the first late day, that year's interest (exact, not rounded) is
added to the amount on which interest runs from then on.

A period's charge is round(interest through its last day) - round(interest through
the day before it): each charge is rounded once, and the charges of all periods add
up to exactly what one calculation at payment gives.  Segments (runs of days with
the same rate and outstanding) are shown rounded, for an auditor to recompute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable

from .errors import InputError
from .model import Contract, Invoice, Payment
from .money import Money, Rounding, format_amount
from .period import Period
from .rates import RateBook
from .schema import LatePayment

# regime: (reference table, statutory margin in points, how the reference date is chosen)
REGIMES = {
    "fr": ("ecb-mro", Decimal(10), "half_year"),   # L441-10: ECB rate on 1 Jan / 1 Jul, + 10 points
    "eu": ("ecb-mro", Decimal(8), "half_year"),    # Directive 2011/7/EU, art. 2(6): + 8 points
    "de": ("de-basiszinssatz", Decimal(9), "half_year"),  # BGB 288(2) with 247: base rate + 9 points
    "uk": ("boe-bank-rate", Decimal(8), "fixed"),  # Late Payment Act 1998: reference rate + 8, fixed
    "be": ("ecb-mro", Decimal(8), "half_year"),    # Law of 2 August 2002, art. 5: + 8 points, rounded up to 0.5
    "nl": ("ecb-mro", Decimal(8), "half_year"),    # BW 6:119a and 6:120: + 8 points, capitalised yearly
}
BE_STEP = Decimal("0.5")
"""Belgium rounds the statutory rate up to the next half point (law of 2 August 2002, art. 5)"""
EUR_40 = Decimal(40)
UK_BANDS = ((Decimal(1000), Decimal(40)), (Decimal(10000), Decimal(70)), (None, Decimal(100)))


@dataclass(frozen=True)
class Segment:
    """A run of late days with one rate and one outstanding amount."""

    start: date
    end: date
    days: int
    rate_percent: Decimal
    outstanding: Fraction
    interest: Fraction
    """exact; shown rounded"""


@dataclass(frozen=True)
class LateFee:
    """What one invoice costs the customer in one period."""

    invoice: str
    base: Decimal
    first_late_day: date
    days_late: int
    """days late inside the period"""
    rate_percent: Decimal
    """the rate of the period's last late day"""
    segments: tuple[Segment, ...]
    interest: Money
    compensation: Money
    total: Money


@dataclass(frozen=True)
class LateFees:
    fees: tuple[LateFee, ...]
    total: Money
    rates_used: frozenset[tuple[str, date]]
    """(table, value date) of every reference rate relied on"""


def _f360(day: date) -> int:
    return 360 * day.year + 30 * day.month + min(day.day, 30)


def day_fraction(day: date, day_count: str) -> Fraction:
    """The share of a year one late day accrues.

    >>> day_fraction(date(2024, 2, 29), "act_act"), day_fraction(date(2025, 3, 1), "30_360")
    (Fraction(1, 366), Fraction(1, 120))
    """
    if day_count == "act_365":
        return Fraction(1, 365)
    if day_count == "act_act":
        leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
        return Fraction(1, 366 if leap else 365)
    return Fraction(_f360(day) - _f360(day - timedelta(days=1)), 360)


def uk_reference_date(first_late: date) -> date:
    """The 30 June or 31 December immediately before interest starts to run.

    >>> uk_reference_date(date(2025, 7, 1)), uk_reference_date(date(2025, 6, 30))
    (datetime.date(2025, 6, 30), datetime.date(2024, 12, 31))
    """
    mid_year = date(first_late.year, 6, 30)
    return mid_year if first_late > mid_year else date(first_late.year - 1, 12, 31)


def rate_step(terms: LatePayment) -> Decimal | None:
    """The step the annual rate is rounded up to: ``rate_rounding``, else half a point under ``be``."""
    if terms.rate_rounding is not None:
        return terms.rate_rounding.up_to
    return BE_STEP if terms.regime == "be" else None


def rounded_up(rate: Decimal, step: Decimal | None) -> Decimal:
    """A rate rounded up to the next multiple of ``step``; a rate on a step stays as it is.

    >>> rounded_up(Decimal("11.15"), Decimal("0.5")), rounded_up(Decimal("12.50"), Decimal("0.5"))
    (Decimal('11.5'), Decimal('12.50'))
    >>> rounded_up(Decimal("10.15"), None)
    Decimal('10.15')
    """
    if step is None:
        return rate
    steps = math.ceil(Fraction(rate) / Fraction(step))
    return rate if steps * step == rate else steps * step


class _Rates:
    """The annual rate of a late day under a rule set's terms, remembering the rows used."""

    def __init__(self, terms: LatePayment, rates: RateBook | None, first_late: date) -> None:
        self.terms = terms
        self.used: set[tuple[str, date]] = set()
        self._rates = rates
        self._fixed: Decimal | None = None
        self._step = rate_step(terms)
        if terms.regime == "contractual":
            self._fixed = rounded_up(terms.annual_rate, self._step)  # type: ignore[arg-type]
        elif REGIMES[terms.regime][2] == "fixed":
            self._fixed = rounded_up(self._reference(uk_reference_date(first_late)) + self.margin, self._step)

    @property
    def margin(self) -> Decimal:
        return margin_of(self.terms)

    def _reference(self, day: date) -> Decimal:
        name = REGIMES[self.terms.regime][0]
        if self._rates is None:
            raise InputError(f"the {self.terms.regime} regime needs the {name} rate table, but no rate tables "
                             "were given", field="late_payment.regime")
        value = self._rates.table(name).in_force(day)
        self.used.add((name, value.since))
        return value.rate

    def on(self, day: date) -> Decimal:
        if self._fixed is not None:
            return self._fixed
        # The rate in force on the first day of the day's half-year applies to the whole half-year.
        return rounded_up(self._reference(date(day.year, 1 if day.month <= 6 else 7, 1)) + self.margin, self._step)


def compensation_for(terms: LatePayment, contract: Contract, debt: Decimal) -> Decimal:
    """The fixed recovery sum of one late invoice, in the contract's currency.

    ``debt`` is the invoice's whole (gross) amount: the UK Act (s.5A) bands on the debt,
    whatever ``base`` the interest is taken on, so a GBP 1,080 invoice (900 net) is in the
    GBP 70 band even under ``base: net``.
    """
    if terms.fixed_compensation is not None:
        return terms.fixed_compensation
    if terms.regime == "contractual":
        return Decimal(0)
    if terms.regime in ("eu", "nl"):
        return EUR_40
    required = "GBP" if terms.regime == "uk" else "EUR"
    if contract.currency != required:
        raise InputError(f"the {terms.regime} regime's fixed sum is in {required} but contract {contract.id} is in "
                         f"{contract.currency}; set late_payment.fixed_compensation", field="late_payment.regime")
    if terms.regime == "uk":
        return next(amount for limit, amount in UK_BANDS if limit is None or debt < limit)
    return EUR_40


def margin_of(terms: LatePayment) -> Decimal:
    """The points added to the reference rate: ``margin_points``, else the regime's statutory margin."""
    return terms.margin_points if terms.margin_points is not None else REGIMES[terms.regime][1]


def stated_compensation(terms: LatePayment, currency: str) -> dict[str, Any]:
    """The fixed recovery sum as a document states it among its penalty terms.

    A single sum (``compensation``) or, under the UK Act, its bands by the size of the
    debt (``compensation_bands``); nothing under a contractual regime without one.

    >>> stated_compensation(LatePayment(regime="fr"), "EUR"), stated_compensation(LatePayment(regime="uk"), "GBP")
    ({'compensation': '40.00'}, {'compensation_bands': ['40.00', '70.00', '100.00']})
    """
    if terms.fixed_compensation is not None:
        return {"compensation": format_amount(terms.fixed_compensation, currency)}
    if terms.regime in ("fr", "de", "eu", "be", "nl"):
        return {"compensation": format_amount(EUR_40, currency)}
    if terms.regime == "uk":
        return {"compensation_bands": [format_amount(amount, currency) for _, amount in UK_BANDS]}
    return {}


def _late_days(invoice: Invoice, payments: list[Payment], terms: LatePayment, base: Decimal,
               until: date) -> tuple[date, date | None, list[tuple[date, Fraction]]]:
    """First late day, the day it was settled (if it was), and the outstanding base of each late day up to ``until``."""
    first_late = invoice.due + timedelta(days=1 + terms.grace_days)
    paid: Fraction = Fraction(0)
    settled = None
    for payment in sorted(payments, key=lambda p: p.paid_on):
        paid += Fraction(payment.amount)
        if paid >= Fraction(invoice.gross):
            settled = payment.paid_on
            break
    last = min(until, settled) if settled is not None else until
    days = []
    ordered = sorted(payments, key=lambda p: p.paid_on)
    index, paid_before = 0, Fraction(0)
    day = first_late
    gross = Fraction(invoice.gross)
    while day <= last:
        while index < len(ordered) and ordered[index].paid_on < day:
            paid_before += Fraction(ordered[index].amount)
            index += 1
        outstanding = Fraction(base) * max(gross - paid_before, Fraction(0)) / gross
        days.append((day, outstanding))
        day += timedelta(days=1)
    return first_late, settled, days


def late_fee(invoice: Invoice, payments: list[Payment], terms: LatePayment, contract: Contract, period: Period,
             rates: RateBook | None, rounding: Rounding, used: set[tuple[str, date]]) -> LateFee | None:
    """What ``invoice`` costs in ``period``, or None when it was not late in it."""
    base = invoice.gross if terms.base == "gross" else invoice.net
    first_late, settled, days = _late_days(invoice, payments, terms, base, period.last_day)
    if settled is not None and settled < first_late:
        return None
    in_period = [(d, o) for d, o in days if d >= period.first_day]
    owes_compensation = period.first_day <= first_late <= period.last_day
    if not in_period and not owes_compensation:
        return None
    schedule = _Rates(terms, rates, first_late)
    before = Fraction(0)
    segments: list[Segment] = []
    capitalised = Fraction(0)
    if terms.regime == "nl":
        # BW 6:119a(3): at the end of each year of lateness, that year's interest joins the
        # amount on which interest runs, exactly.
        anniversary, year_interest = _years_after(first_late, 1), Fraction(0)
    for day, outstanding in days:
        if terms.regime == "nl":
            if day == anniversary:
                capitalised += year_interest
                anniversary, year_interest = _years_after(first_late, (day.year - first_late.year) + 1), Fraction(0)
            outstanding += capitalised
        rate = schedule.on(day)
        accrued = outstanding * Fraction(rate) / 100 * day_fraction(day, terms.day_count)
        if terms.regime == "nl":
            year_interest += accrued
        if day < period.first_day:
            before += accrued
            continue
        last = segments[-1] if segments else None
        if last is not None and last.rate_percent == rate and last.outstanding == outstanding \
                and last.end + timedelta(days=1) == day:
            segments[-1] = Segment(last.start, day, last.days + 1, rate, outstanding, last.interest + accrued)
        else:
            segments.append(Segment(day, day, 1, rate, outstanding, accrued))
    used.update(schedule.used)
    currency = contract.currency
    through = before + sum((s.interest for s in segments), Fraction(0))
    interest = Money(Money.round(through, currency, rounding).amount - Money.round(before, currency, rounding).amount,
                     currency)
    compensation = Money.round(compensation_for(terms, contract, invoice.gross) if owes_compensation else 0,
                               currency, rounding)
    rate = segments[-1].rate_percent if segments else schedule.on(first_late)
    return LateFee(invoice=invoice.number, base=base, first_late_day=first_late, days_late=len(in_period),
                   rate_percent=rate, segments=tuple(segments), interest=interest, compensation=compensation,
                   total=interest + compensation)


def _years_after(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 1 March in a common year.

    >>> _years_after(date(2025, 3, 15), 1), _years_after(date(2024, 2, 29), 1)
    (datetime.date(2026, 3, 15), datetime.date(2025, 3, 1))
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def late_fees(contract: Contract, terms: LatePayment, invoices: Iterable[Invoice], payments: dict[str, list[Payment]],
              period: Period, rates: RateBook | None, rounding: Rounding) -> LateFees:
    """Every invoice's late fees for the period, in invoice-number order."""
    used: set[tuple[str, date]] = set()
    fees = []
    for invoice in sorted(invoices, key=lambda i: (i.issued, i.number)):
        fee = late_fee(invoice, payments.get(invoice.number, []), terms, contract, period, rates, rounding, used)
        if fee is not None:
            fees.append(fee)
    total = Money.zero(contract.currency)
    for fee in fees:
        total = total + fee.total
    return LateFees(tuple(fees), total, frozenset(used))
