"""Pricing: tiers, per-unit, downtime share, cap, minimum and rounding, to the minor unit."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction as F

import pytest

from engine.core.evaluation import evaluate_contract
from engine.core.model import Contract, Measurements
from engine.core.period import Period
from engine.core.schema import RuleSet
from tests.conftest import incident

SEPTEMBER = Period(2026, 9)  # 43,200 minutes in UTC


def contract(currency="EUR", fees=(("compute", "1200.00"),)):
    return Contract.model_validate({
        "id": "C-1", "customer": {"id": "K", "name": "K", "locale": "fr_FR", "country": "FR"},
        "currency": currency, "timezone": "UTC", "ruleset": "r", "start": "2025-01-01", "vat_rate": "20",
        "services": [{"id": s, "monthly_fee": fee} for s, fee in fees]})


def rules(*objectives, **extra):
    return RuleSet.model_validate({"ruleset": "r", "version": "1", "effective_from": "2026-01-01",
                                   "objectives": list(objectives), **extra})


def availability(credit, target="99.9", service="compute", id="availability", **fields):
    return {"id": id, "service": service, "metric": "availability", "credit": credit,
            **({"target": target} if target else {}), **fields}


TIERS = {"tiers": [{"below": "99.9", "at_least": "99.0", "credit": "10%"},
                   {"below": "99.0", "at_least": "95.0", "credit": "25%"},
                   {"below": "95.0", "credit": "100%"}]}


def evaluate(rule_set, the_contract, downtime_minutes=0, service="compute", extra_incidents=()):
    rows = list(extra_incidents)
    if downtime_minutes:
        rows.append(incident("2026-09-10T00:00:00Z", _plus("2026-09-10T00:00:00Z", downtime_minutes)))
    data = Measurements(incidents={(the_contract.id, service): rows})
    return evaluate_contract(the_contract, rule_set, data, SEPTEMBER)


def _plus(start: str, minutes) -> str:
    """``start`` plus an exact number of minutes (a Fraction is kept exact to the microsecond)."""
    microseconds = F(minutes) * 60_000_000
    assert microseconds.denominator == 1
    return (datetime.fromisoformat(start) + timedelta(microseconds=int(microseconds))).isoformat()


# --- tiers -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("minutes, tier, amount", [
    (F(216, 5), None, "0.00"),     # exactly 99.9 %: met
    (44, 0, "120.00"),             # 99.898 %: 10 % of 1,200
    (432, 0, "120.00"),            # exactly 99.0 %: still the 10 % tier (at_least)
    (433, 1, "300.00"),            # just below 99.0 %: 25 %
    (2160, 1, "300.00"),           # exactly 95.0 %
    (2161, 2, "1200.00"),          # below 95 %: 100 %
])
def test_tier_amounts(minutes, tier, amount):
    line = evaluate(rules(availability(TIERS)), contract(), minutes).pricing.lines[0]
    assert (line.tier, str(line.amount)) == (tier, amount)
    assert line.met is (tier is None)


def test_the_atlassian_example_gives_a_10_percent_credit():
    result = evaluate(rules(availability(TIERS)), contract(), 60)
    assert str(result.pricing.total) == "120.00" and result.pricing.status == "issued"


def test_without_a_target_a_tier_decides():
    line = evaluate(rules(availability({"tiers": [{"below": "99.5", "credit": "5%"}]}, target=None)), contract(),
                    300).pricing.lines[0]
    # 300 / 43,200 = 0.6944 % down -> 99.305 %, below 99.5
    assert (line.met, line.tier, str(line.amount)) == (False, 0, "60.00")


def test_a_met_objective_pays_nothing_even_if_a_tier_covers_it():
    # A mistaken tier reaching above the target: the objective is met, so no credit.
    odd = availability({"tiers": [{"below": "100", "credit": "10%"}]}, target="99.0")
    line = evaluate(rules(odd), contract(), 60).pricing.lines[0]
    assert (line.met, line.tier, str(line.amount)) == (True, None, "0.00")


# --- per-unit and downtime share --------------------------------------------------------------------

@pytest.mark.parametrize("count, units, percent, amount", [
    ("whole", 2, 10, "240.00"),            # 150 min = 2 full hours x 5 %
    ("prorata", F(5, 2), F(25, 2), "300.00"),  # 2.5 hours x 5 % = 12.5 %
])
def test_per_unit_credits(count, units, percent, amount):
    credit = {"per_unit": {"every": "60m", "credit": "5%", "count": count}}
    line = evaluate(rules(availability(credit, target="99.95")), contract(fees=(("compute", "2400.00"),)),
                    150).pricing.lines[0]
    assert (line.units, line.credit_percent, str(line.amount)) == (units, percent, amount)


def test_per_unit_pays_only_below_the_target():
    credit = {"per_unit": {"every": "10m", "credit": "1%"}}
    # 20 min in 43,200 is 99.9537 %: above a 99.95 target, so nothing.
    assert str(evaluate(rules(availability(credit, target="99.95")), contract(), 20).pricing.total) == "0.00"


def test_downtime_share():
    # fee x 25 x 60 / 43,200 = 1,200 x 0.0347222... = 41.6666... -> 41.67
    credit = {"downtime_share": {"multiple": "25"}}
    line = evaluate(rules(availability(credit, target=None)), contract(), 60).pricing.lines[0]
    assert line.credit_percent == F(25 * 60 * 100, 43_200)
    assert str(line.amount) == "41.67"


# --- cap and minimum -------------------------------------------------------------------------------------

def test_cap_across_objectives():
    # compute 1,000 and storage 500: 100 % + 25 % of storage = 1,000 + 125 = 1,125 > cap 50 % of 1,500 = 750.
    two = rules(availability(TIERS),
                availability({"tiers": [{"below": "99.9", "credit": "25%"}]}, service="storage", id="storage"),
                cap="50%")
    the_contract = contract(fees=(("compute", "1000.00"), ("storage", "500.00")))
    data = Measurements(incidents={
        ("C-1", "compute"): [incident("2026-09-01T00:00:00Z", "2026-09-03T00:00:00Z")],   # 2 days: 93.3 %
        ("C-1", "storage"): [incident("2026-09-05T00:00:00Z", "2026-09-05T01:00:00Z")]})  # 60 min
    result = evaluate_contract(the_contract, two, data, SEPTEMBER)
    assert [str(line.amount) for line in result.pricing.lines] == ["1000.00", "125.00"]
    assert (str(result.pricing.subtotal), str(result.pricing.cap), str(result.pricing.total)) == ("1125.00", "750.00", "750.00")
    assert result.pricing.cap_applied


@pytest.mark.parametrize("fee, status, total", [
    ("9.90", "below_minimum", "0.99"),   # 10 % of 9.90 = 0.99 < 1.00
    ("10.00", "issued", "1.00"),         # exactly the minimum is issued
])
def test_minimum_credit(fee, status, total):
    result = evaluate(rules(availability(TIERS), minimum_credit="1.00"), contract(fees=(("compute", fee),)), 60)
    assert (result.pricing.status, str(result.pricing.total)) == (status, total)


def test_nothing_owed_is_status_none():
    assert evaluate(rules(availability(TIERS)), contract(), 0).pricing.status == "none"


# --- currencies and rounding ----------------------------------------------------------------------------

@pytest.mark.parametrize("currency, fee, rounding, amount", [
    ("JPY", "12345", "half_up", "1235"),     # 10 % = 1,234.5
    ("JPY", "12345", "half_even", "1234"),
    ("JPY", "12355", "half_even", "1236"),   # 1,235.5 -> even 1,236
    ("BHD", "12.345", "half_up", "1.235"),   # 10 % = 1.2345
    ("BHD", "12.345", "half_even", "1.234"),
    ("EUR", "1234.45", "half_up", "123.45"),   # 123.445 -> 123.45
    ("EUR", "1234.45", "half_even", "123.44"),
    ("EUR", "1234.45", "down", "123.44"),
    ("EUR", "1234.41", "up", "123.45"),      # 123.441 -> 123.45
])
def test_rounding_once_to_the_minor_unit(currency, fee, rounding, amount):
    result = evaluate(rules(availability(TIERS), rounding=rounding), contract(currency, (("compute", fee),)), 60)
    assert str(result.pricing.lines[0].amount) == amount
    assert result.pricing.total.amount == Decimal(amount)


def test_a_fee_with_more_decimals_than_the_currency_is_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="JPY has 0 decimals"):
        contract("JPY", (("compute", "100.5"),))
