"""Properties of the rule language of INTERFACE.md section 6, checked over random inputs (hypothesis).

- A credit never decreases as downtime grows, for every credit form, with and without
  ``beyond_allowance``.  Downtime grows by lengthening an outage or adding one, apart from the
  others: merging two outages into one is a different event (two capped interruptions are worth
  more than one), not more downtime of the same events.
- A ``group`` never pays more than the sum of its members: it pays the largest of them.
- A ``ratio`` attainment equals the ``average`` attainment when every interval has the same
  number of requests.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction as F

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.evaluation import evaluate_contract
from engine.core.measure import measure_error_rate
from engine.core.model import Contract, Incident, Measurements, RequestCount
from engine.core.period import Period
from engine.core.schema import Cause, Objective, RuleSet

SEPTEMBER = Period(2026, 9)
START = datetime(2026, 9, 1, tzinfo=timezone.utc)

TIERS = [{"below": "99.9", "at_least": "99.0", "credit": "10%"}, {"below": "99.0", "at_least": "95.0", "credit": "25%"},
         {"below": "95.0", "credit": "100%"}]
DAY_TIERS = [{"below": "99.9", "at_least": "99.0", "credit": "3d"}, {"below": "99.0", "at_least": "95.0", "credit": "7d"},
             {"below": "95.0", "credit": "15d"}]

# Every credit form of sections 1 and 6.2, each as (credit, other fields of the objective).
FORMS = [
    ({"tiers": TIERS}, {"target": "99.9"}),
    ({"tiers": DAY_TIERS}, {"target": "99.9"}),
    ({"tiers": TIERS}, {"target": "99.9", "attainment_rounding": {"decimals": 1}}),
    ({"tiers": TIERS}, {"target": "99.9", "downtime": {"count": "full", "unit": "5m"}}),
    ({"tiers": TIERS}, {"target": "99.9", "downtime": {"count": "touched", "unit": "1h"}}),
    ({"tiers": [{"below": "99.9", "credit": "10%"}]}, {}),
    ({"tiers_on": "outages", "tiers": [{"at_least": "1", "at_most": "2", "credit": "5%"},
                                       {"at_least": "3", "credit": "10%"}]}, {}),
    ({"tiers_on": "outages", "tiers": [{"at_least": "2", "credit": "1d"}]}, {"downtime": {"min_duration": "5m"}}),
    *[({"per_unit": {"every": every, "credit": credit, "count": count, "beyond_allowance": beyond}},
       {"target": "99.9"} if beyond else {})
      for every, credit in (("30m", "5%"), ("15m", "1d"))
      for count in ("whole", "prorata", "started") for beyond in (False, True)],
    ({"downtime_share": {"multiple": "10"}}, {}),
    ({"downtime_share": {"multiple": "10", "beyond_allowance": True}}, {"target": "99.9"}),
    ({"per_outage": {"multiple": "50"}}, {}),
    ({"per_outage": {"multiple": "50", "cap": "20%"}}, {"downtime": {"min_duration": "5m"}}),
    ({"per_outage": {"tiers": [{"longer_than": "1h", "credit": "10%"}, {"longer_than": "4h", "credit": "3d"},
                               {"longer_than": "8h", "credit": "50%"}]}}, {}),
]


def contract(currency: str, fee: str) -> Contract:
    return Contract.model_validate({
        "id": "C-1", "customer": {"id": "K", "name": "K", "locale": "en_GB", "country": "GB"},
        "currency": currency, "timezone": "UTC", "ruleset": "r", "start": "2025-01-01", "vat_rate": "0",
        "services": [{"id": "compute", "monthly_fee": fee}, {"id": "storage", "monthly_fee": fee},
                     {"id": "network", "monthly_fee": fee}]})


def rule_set(*objectives, **extra) -> RuleSet:
    return RuleSet.model_validate({"ruleset": "r", "version": "1", "effective_from": "2026-01-01",
                                   "objectives": list(objectives), **extra})


def objective(form, id="availability", service="compute", **more) -> dict:
    credit, fields = form
    return {"id": id, "service": service, "metric": "availability", "credit": credit, **fields, **more}


def outages(lengths: dict[int, int]) -> list[Incident]:
    """One outage a day, from 10:00, ``lengths[day]`` seconds long: they never touch one another."""
    return [Incident(START + timedelta(days=day, hours=10), START + timedelta(days=day, hours=10, seconds=seconds),
                     Cause.outage, None, 2 + day) for day, seconds in sorted(lengths.items())]


def total(rules: RuleSet, the_contract: Contract, lengths: dict[int, int]):
    data = Measurements(incidents={("C-1", "compute"): outages(lengths)})
    return evaluate_contract(the_contract, rules, data, SEPTEMBER).pricing.subtotal.amount


MONEY = st.sampled_from([("EUR", "1200.00"), ("JPY", "100000"), ("BHD", "432.125")])
LENGTH = st.integers(min_value=1, max_value=13 * 3600)  # seconds: up to 13 hours, ending before 23:00


@settings(max_examples=400)
@given(form=st.sampled_from(FORMS), money=MONEY, cap=st.sampled_from([None, "30%"]),
       lengths=st.dictionaries(st.integers(0, 27), LENGTH, max_size=6), data=st.data())
def test_a_credit_never_decreases_as_downtime_grows(form, money, cap, lengths, data):
    rules = rule_set(objective(form), **({"cap": cap} if cap else {}))
    the_contract = contract(*money)
    before = total(rules, the_contract, lengths)
    grown = dict(lengths)
    if lengths and data.draw(st.booleans()):
        day = data.draw(st.sampled_from(sorted(lengths)))
        grown[day] = min(lengths[day] + data.draw(st.integers(1, 13 * 3600)), 13 * 3600)  # longer, still apart
    else:
        free = [d for d in range(28) if d not in lengths]
        grown[data.draw(st.sampled_from(free))] = data.draw(LENGTH)  # one more outage, apart from the others
    assert total(rules, the_contract, grown) >= before


@settings(max_examples=300)
@given(forms=st.lists(st.sampled_from(FORMS), min_size=2, max_size=3), money=MONEY,
       downtime=st.lists(st.dictionaries(st.integers(0, 27), LENGTH, max_size=4), min_size=3, max_size=3))
def test_a_group_never_pays_more_than_the_sum_of_its_members(forms, money, downtime):
    services = ["compute", "storage", "network"]
    rules = rule_set(*[objective(form, id=f"o{i}", service=services[i], group="g") for i, form in enumerate(forms)])
    data = Measurements(incidents={("C-1", services[i]): outages(lengths) for i, lengths in enumerate(downtime)})
    pricing = evaluate_contract(contract(*money), rules, data, SEPTEMBER).pricing
    amounts = [line.amount.amount for line in pricing.lines]
    assert pricing.subtotal.amount <= sum(amounts)
    assert pricing.subtotal.amount == max(amounts)
    assert sum(line.in_total for line in pricing.lines) == 1


@settings(max_examples=300)
@given(requests=st.integers(min_value=1, max_value=10**9), data=st.data())
def test_ratio_equals_average_when_every_interval_has_the_same_requests(requests, data):
    # Daily intervals: every one of September's 30 holds ``requests`` requests.
    errors = data.draw(st.lists(st.integers(0, requests), min_size=30, max_size=30))
    rows = [RequestCount(START + timedelta(days=day), requests, failed, 2 + day) for day, failed in enumerate(errors)]
    window = SEPTEMBER.window("UTC")

    def attainment(mode: str) -> F:
        measured = Objective.model_validate({"id": "api", "service": "compute", "metric": "error_rate",
                                             "error_rate": {"mode": mode, "interval": "1d"},
                                             "credit": {"tiers": [{"below": "99", "credit": "10%"}]}})
        return measure_error_rate(measured, rows, window).attainment

    assert attainment("ratio") == attainment("average") == 100 * (1 - F(sum(errors), 30 * requests))
