"""INTERFACE.md section 6.1 and 6.2: the rule language of published SLAs, with figures worked by hand.

Each test states its arithmetic beside the figures.  Months in UTC unless a zone is named:
September 2026 has 43,200 minutes, October 44,640, February 2026 40,320; a Paris October has
44,700 (25 October lasts 25 hours) and a Paris March 44,580 (29 March lasts 23).
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction as F

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.core.errors import InputError
from engine.core.evaluation import evaluate_contract
from engine.core.model import Contract, Incident, Measurements, RequestCount
from engine.core.period import Period
from engine.core.results import evaluation_json
from engine.core.schema import Cause, RuleSet
from tests.conftest import at

SEPTEMBER, OCTOBER = Period(2026, 9), Period(2026, 10)


def contract(tz="UTC", currency="EUR", fees=(("compute", "1200.00"),), start="2025-01-01", end=None):
    return Contract.model_validate({
        "id": "C-1", "customer": {"id": "K", "name": "K", "locale": "en_GB", "country": "GB"},
        "currency": currency, "timezone": tz, "ruleset": "r", "start": start, "vat_rate": "20",
        **({"end": end} if end else {}),
        "services": [{"id": s, "monthly_fee": fee} for s, fee in fees]})


def rules(*objectives, **extra):
    return RuleSet.model_validate({"ruleset": "r", "version": "1", "effective_from": "2024-01-01",
                                   "objectives": list(objectives), **extra})


def availability(credit, target="99.9", id="availability", service="compute", **fields):
    return {"id": id, "service": service, "metric": "availability", "credit": credit,
            **({"target": target} if target else {}), **fields}


TENTH = {"tiers": [{"below": "99.9", "credit": "10%"}]}


def down(start: str, minutes, impact=None, line=2, cause="outage") -> Incident:
    """An incident from ``start`` lasting an exact number of minutes (a Fraction stays exact)."""
    micros = F(minutes) * 60_000_000
    assert micros.denominator == 1
    begin = at(start)
    return Incident(begin, begin + timedelta(microseconds=int(micros)), Cause(cause), None, line,
                    Decimal(impact) if impact is not None else None)


def evaluate(rule_set, period, incidents=(), requests=(), the_contract=None, service="compute"):
    the_contract = the_contract or contract()
    data = Measurements(incidents={(the_contract.id, service): list(incidents)},
                        requests={(the_contract.id, service): list(requests)})
    return evaluate_contract(the_contract, rule_set, data, period)


def objective_json(evaluation, index=0):
    return evaluation_json(evaluation)["objectives"][index]


# --- 6.1 assessment: quarter -----------------------------------------------------------------------

QUARTERLY = dict(assessment="quarter")


def test_a_quarter_end_month_measures_the_quarter_on_three_fees():
    # Q1 2026 (calendar quarters): 31 + 28 + 31 = 90 days = 129,600 min.  200 min down on 10 February:
    # 1 - 200/129,600 = 99.845679... < 99.9: 10 % of 3 x 1,200.00 = 360.00.
    evaluation = evaluate(rules(availability(TENTH), **QUARTERLY), Period(2026, 3), [down("2026-02-10T00:00:00Z", 200)])
    result = evaluation_json(evaluation)
    entry = result["objectives"][0]
    assert (entry["period_minutes"], entry["downtime_minutes"], entry["attainment"]) == ("129600", "200", "99.845679")
    assert (entry["fee"], entry["credit"], result["credit_total"]) == ("3600.00", "360.00", "360.00")
    assert (result["assessment"], result["assessed_from"], result["assessed_to"]) == ("quarter", "2026-01-01",
                                                                                     "2026-03-31")


@pytest.mark.parametrize("period", [Period(2026, 2), Period(2026, 4)])
def test_a_month_that_ends_no_quarter_measures_nothing(period):
    result = evaluation_json(evaluate(rules(availability(TENTH), **QUARTERLY), period,
                                      [down("2026-02-10T00:00:00Z", 200)]))
    assert (result["objectives"], result["credit_total"], result["credit_status"]) == ([], "0.00", "none")
    assert result["assessment"] == "quarter" and "assessed_from" not in result


def test_a_fiscal_quarter_can_cross_the_new_year():
    # fiscal_year_start 2: November-January is a quarter; 30 + 31 + 31 = 92 days = 132,480 min.
    evaluation = evaluate(rules(availability(TENTH), assessment="quarter", fiscal_year_start=2), Period(2027, 1),
                          [down("2026-11-30T23:00:00Z", 120)])
    result = evaluation_json(evaluation)
    assert (result["assessed_from"], result["assessed_to"]) == ("2026-11-01", "2027-01-31")
    # 1 - 120/132,480 = 99.909420... >= 99.9: met.
    assert result["objectives"][0]["period_minutes"] == "132480"
    assert result["objectives"][0]["attainment"] == "99.909420"


def test_a_quarter_caps_on_three_months_of_fees_and_never_scales_the_minimum():
    # Cap 10 % of 3 x 1,200.00 = 360.00; a 100 % credit of 3,600.00 is cut to it.
    capped = evaluate(rules(availability({"tiers": [{"below": "99.9", "credit": "100%"}]}), cap="10%", **QUARTERLY),
                      Period(2026, 3), [down("2026-02-10T00:00:00Z", 200)])
    assert (str(capped.pricing.total), capped.pricing.cap_applied) == ("360.00", True)
    # 1 % of 3,600.00 = 36.00, below a minimum of 50.00, which is not tripled.
    small = evaluate(rules(availability({"tiers": [{"below": "99.9", "credit": "1%"}]}), minimum_credit="50.00",
                           **QUARTERLY), Period(2026, 3), [down("2026-02-10T00:00:00Z", 200)])
    assert (str(small.pricing.total), small.pricing.status) == ("36.00", "below_minimum")


def test_days_of_the_fee_in_a_quarter_are_days_of_the_quarter():
    # "3d" on a quarter: 3 x 1,200.00 x 3 / 90 days = 120.00, that is 3/90 = 3.333333 % of the basis.
    entry = objective_json(evaluate(rules(availability({"tiers": [{"below": "99.9", "credit": "3d"}]}), **QUARTERLY),
                                    Period(2026, 3), [down("2026-02-10T00:00:00Z", 200)]))
    assert (entry["credit_percent"], entry["credit"]) == ("3.333333", "120.00")


QUARTER_BOOK = """\
issuer: {name: P, country: GB}
contracts:
  - {id: Q-ENDED, customer: {id: A, name: A, locale: en_GB, country: GB}, currency: EUR, timezone: UTC,
     ruleset: quarterly, start: 2025-01-01, end: 2026-01-20, vat_rate: "0", services: [{id: compute, monthly_fee: "100.00"}]}
  - {id: Q-ON, customer: {id: B, name: B, locale: en_GB, country: GB}, currency: EUR, timezone: UTC,
     ruleset: quarterly, start: 2025-01-01, vat_rate: "0", services: [{id: compute, monthly_fee: "100.00"}]}
"""
QUARTER_RULES = """\
ruleset: quarterly
version: "1"
effective_from: 2025-01-01
assessment: quarter
objectives:
  - {id: uptime, service: compute, metric: availability, target: "99.9", credit: {tiers: [{below: "99.9", credit: "10%"}]}}
"""


@pytest.fixture
def quarter_book(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "quarterly.yaml").write_text(QUARTER_RULES)
    (tmp_path / "contracts.yaml").write_text(QUARTER_BOOK)
    (tmp_path / "data").mkdir()
    # Q-ENDED was down 200 min on 10 January, before it ended.
    (tmp_path / "data" / "incidents.csv").write_text(
        "contract,service,start,end\nQ-ENDED,compute,2026-01-10T00:00:00Z,2026-01-10T03:20:00Z\n")
    return tmp_path


def test_a_contract_active_on_any_day_of_the_quarter_is_evaluated_at_its_end(quarter_book):
    def contracts(period):
        result = CliRunner().invoke(app, ["evaluate", "--rules", str(quarter_book / "rules"), "--contracts",
                                          str(quarter_book / "contracts.yaml"), "--data", str(quarter_book / "data"),
                                          "--period", period])
        assert result.exit_code == 0, result.output
        return {r["contract"]: r for r in json.loads(result.stdout)["results"]}

    # Q-ENDED ended on 20 January: February is neither a month it is active in nor a quarter's end.
    assert sorted(contracts("2026-02")) == ["Q-ON"]
    march = contracts("2026-03")
    assert sorted(march) == ["Q-ENDED", "Q-ON"]
    # 1 - 200/129,600 = 99.845679: 10 % of 3 x 100.00 = 30.00 (fees are not prorated).
    assert (march["Q-ENDED"]["objectives"][0]["attainment"], march["Q-ENDED"]["credit_total"]) == ("99.845679", "30.00")


# --- 6.1 period_basis: active ------------------------------------------------------------------------

def test_active_days_cut_the_period_for_attainment_and_downtime_share():
    # Active from 21 September: 10 days = 14,400 min.  144 min down on the 25th, and 300 min on the
    # 10th, before the start, which does not count.  downtime_share 10: 1,200 x 10 x 144/14,400 = 120.00.
    # Over the whole month it would be 1,200 x 10 x 144/43,200 = 40.00.
    rule_set = rules(availability({"downtime_share": {"multiple": "10"}}, period_basis="active"))
    evaluation = evaluate(rule_set, SEPTEMBER, [down("2026-09-10T00:00:00Z", 300), down("2026-09-25T00:00:00Z", 144)],
                          the_contract=contract(start="2026-09-21"))
    entry = objective_json(evaluation)
    assert (entry["period_minutes"], entry["downtime_minutes"], entry["active_from"]) == ("14400", "144", "2026-09-21")
    # 1 - 144/14,400 = 99 exactly
    assert (entry["attainment"], entry["credit"], entry["fee"]) == ("99.000000", "120.00", "1200.00")


# --- 6.1 attainment_rounding -------------------------------------------------------------------------

@pytest.mark.parametrize("minutes, mode, rounded, met", [
    (F(324, 5), "half_up", "99.9", True),      # 64.8 min: exactly 99.85, a tie, rounds up
    (F(324, 5), "half_even", "99.8", False),   # the tie to the even tenth
    (F(324, 5), "down", "99.8", False),
    (F(3889, 60), "half_up", "99.8", False),   # 64 min 49 s: 99.849961..., one second past the tie
    (65, "up", "99.9", True),                  # 99.849537... rounded up
])
def test_the_rounded_attainment_is_what_meets_the_target(minutes, mode, rounded, met):
    rule_set = rules(availability(TENTH, attainment_rounding={"decimals": 1, "mode": mode}))
    entry = objective_json(evaluate(rule_set, Period(2026, 4), [down("2026-04-14T09:00:00Z", minutes)]))
    assert (entry["attainment_rounded"], entry["met"]) == (rounded, met)
    assert entry["credit"] == ("0.00" if met else "120.00")


def test_the_json_keeps_the_exact_attainment():
    entry = objective_json(evaluate(rules(availability(TENTH, attainment_rounding={"decimals": 1})), Period(2026, 4),
                                    [down("2026-04-14T09:00:00Z", F(324, 5))]))
    # 1 - 64.8/43,200 = 0.9985 exactly
    assert (entry["attainment"], entry["attainment_rounded"]) == ("99.850000", "99.9")


# --- 6.1 count: full and calendar days ----------------------------------------------------------------

def counted(count, unit, period, incidents, tz="UTC"):
    rule_set = rules(availability(TENTH, downtime={"count": count, "unit": unit}))
    return objective_json(evaluate(rule_set, period, incidents, the_contract=contract(tz=tz)))["downtime_minutes"]


@pytest.mark.parametrize("start, minutes, full", [
    ("2026-09-10T10:00:00Z", 5, "5"),          # exactly one 5-minute unit
    ("2026-09-10T10:00:01Z", 5, "0"),          # one second off the clock: no unit is whole
    ("2026-09-10T10:02:00Z", 16, "10"),        # 10:05-10:10 and 10:10-10:15
    ("2026-09-30T23:57:00Z", 3, "0"),          # the last unit, 23:55-24:00, only partly down
    ("2026-09-30T23:55:00Z", 5, "5"),          # the last unit entirely down
])
def test_full_counts_only_units_entirely_down(start, minutes, full):
    assert counted("full", "5m", SEPTEMBER, [down(start, minutes)]) == full


PARIS = "Europe/Paris"


@pytest.mark.parametrize("count, start, end, expected", [
    # 25 October 2026 lasts 25 hours in Paris (the clocks go back at 03:00): its unit is 1,500 min.
    ("touched", "2026-10-25T10:00:00+01:00", "2026-10-25T11:00:00+01:00", "1500"),
    ("full", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", "1500"),    # the whole day: 25 h
    ("full", "2026-10-25T00:00:00+02:00", "2026-10-25T23:00:00+01:00", "0"),       # 24 h: an hour short
    ("touched", "2026-10-25T00:00:00+02:00", "2026-10-25T23:00:00+01:00", "1500"),
    # two days touched, the 25-hour day and the 26th: 1,500 + 1,440
    ("touched", "2026-10-25T23:00:00+01:00", "2026-10-26T01:00:00+01:00", "2940"),
])
def test_day_units_are_paris_calendar_days_in_october(count, start, end, expected):
    incident = Incident(at(start), at(end), Cause.outage, None, 2)
    assert counted(count, "1d", OCTOBER, [incident], tz=PARIS) == expected


@pytest.mark.parametrize("count, start, end, expected", [
    # 29 March 2026 lasts 23 hours in Paris (the clocks go forward at 02:00): its unit is 1,380 min.
    ("touched", "2026-03-29T12:00:00+02:00", "2026-03-29T12:01:00+02:00", "1380"),
    ("full", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", "1380"),
    ("full", "2026-03-29T01:00:00+01:00", "2026-03-30T00:00:00+02:00", "0"),       # the first hour missing
])
def test_day_units_are_paris_calendar_days_in_march(count, start, end, expected):
    incident = Incident(at(start), at(end), Cause.outage, None, 2)
    assert counted(count, "1d", Period(2026, 3), [incident], tz=PARIS) == expected


def test_a_unit_of_two_days_holds_the_long_day():
    # Units of 2 days from 1 October: 1-2, 3-4, ..., 25-26 = 1,500 + 1,440 = 2,940 min.
    incident = Incident(at("2026-10-26T10:00:00+01:00"), at("2026-10-26T10:05:00+01:00"), Cause.outage, None, 2)
    assert counted("touched", "2d", OCTOBER, [incident], tz=PARIS) == "2940"


# --- 6.1 over_allowance ------------------------------------------------------------------------------

def maintenance(start, minutes, line=3):
    incident = down(start, minutes, line=line, cause="maintenance")
    return incident._replace(announced_at=incident.start - timedelta(days=7))


@pytest.mark.parametrize("over_allowance, minutes, counted_minutes", [
    ("counts_all", 240, "0"),       # exactly the allowance: all excluded
    ("counts_all", 241, "241"),     # one minute past it: all of it counts
    ("counts_excess", 241, "1"),    # the section-1 rule: only the excess
])
def test_maintenance_beyond_the_allowance(over_allowance, minutes, counted_minutes):
    rule_set = rules(availability(TENTH, exclusions={
        "maintenance": {"min_notice": "1d", "max_per_period": "4h", "over_allowance": over_allowance}}))
    entry = objective_json(evaluate(rule_set, SEPTEMBER, [maintenance("2026-09-05T00:00:00Z", minutes)]))
    assert entry["downtime_minutes"] == counted_minutes


# --- 6.1 error rates: ratio, min_requests, min_consecutive -------------------------------------------

def rows(start, count, requests, errors, step=timedelta(minutes=1)):
    first = at(start)
    return [RequestCount(first + i * step, requests, errors, 2 + i) for i in range(count)]


def error_objective(**error_rate):
    return {"id": "api", "service": "compute", "metric": "error_rate", "target": "99.9",
            "error_rate": error_rate, "credit": TENTH}


def test_ratio_sums_every_row_of_the_period():
    # 3,000 requests and 3 errors in September, 1,000 requests and 900 errors on 1 October (another period):
    # 1 - 3/3,000 = 99.9 exactly, met.
    data = rows("2026-09-01T00:00:00Z", 3, 1000, 1) + rows("2026-10-01T00:00:00Z", 1, 1000, 900)
    entry = objective_json(evaluate(rules(error_objective(mode="ratio")), SEPTEMBER, requests=data))
    assert (entry["requests"], entry["errors"], entry["attainment"], entry["met"]) == (3000, 3, "99.900000", True)


def test_min_requests_in_average_mode():
    # Daily intervals, 30 in September.  1 Sep: 50 requests, all failed, but fewer than 100: 0 %.
    # 2 Sep: 200 requests, 20 errors: 10 %.  Mean over 30 intervals: 10/30 % -> 99.666667.
    data = rows("2026-09-01T00:00:00Z", 1, 50, 50, timedelta(days=1)) + rows("2026-09-02T00:00:00Z", 1, 200, 20)
    entry = objective_json(evaluate(rules(error_objective(mode="average", interval="1d", min_requests=100)),
                                    SEPTEMBER, requests=data))
    assert (entry["attainment"], entry["error_intervals"], entry["intervals"]) == ("99.666667", 1, 30)


@pytest.mark.parametrize("bad_minutes, counted_in_september", [
    (10, "5"),   # 30 Sep 23:55 - 1 Oct 00:04: a run of 10 crossing the end, 5 of its minutes in September
    (9, "0"),    # 30 Sep 23:55 - 1 Oct 00:03: a run of 9, none counts
])
def test_a_run_crossing_the_period_end_is_judged_whole(bad_minutes, counted_in_september):
    data = rows("2026-09-30T23:55:00Z", bad_minutes, 1000, 60)  # 6 % > 5 %
    rule_set = rules(error_objective(mode="threshold", interval="1m", threshold="5", min_consecutive=10))
    entry = objective_json(evaluate(rule_set, SEPTEMBER, requests=data))
    assert entry["downtime_minutes"] == counted_in_september
    assert entry["error_intervals"] == int(counted_in_september)


@pytest.mark.parametrize("first_bad, bad_minutes, counted_in_october", [
    ("2026-09-30T23:55:00Z", 10, "5"),   # a run of 10 crossing the start: its 5 October minutes count
    ("2026-09-30T23:56:00Z", 9, "0"),    # a run of 9 crossing the start: none of it counts
])
def test_a_run_crossing_the_period_start_is_judged_whole(first_bad, bad_minutes, counted_in_october):
    data = rows(first_bad, bad_minutes, 1000, 60)  # 6 % > 5 %
    rule_set = rules(error_objective(mode="threshold", interval="1m", threshold="5", min_consecutive=10))
    entry = objective_json(evaluate(rule_set, OCTOBER, requests=data))
    assert entry["downtime_minutes"] == counted_in_october


# --- 6.1 partial impact --------------------------------------------------------------------------------

def test_overlapping_impacts_count_the_highest():
    # 10:00-11:00 at 50 % and 10:30-12:00 at 20 %: 10:00-11:00 at 50 % = 30; 11:00-12:00 at 20 % = 12.
    # Counted 42 min; each incident's part: 30 and 12.
    evaluation = evaluate(rules(availability(TENTH)), SEPTEMBER,
                          [down("2026-09-10T10:00:00Z", 60, impact="50", line=2),
                           down("2026-09-10T10:30:00Z", 90, impact="20", line=3)])
    assert objective_json(evaluation)["downtime_minutes"] == "42"
    (_, measure), = evaluation.measures
    assert [(o.line, o.counted_minutes, o.impact) for o in measure.incidents] == [
        (2, F(30), Decimal(50)), (3, F(12), Decimal(20))]


def test_min_duration_judges_time_whatever_the_impact():
    # 6 min at 10 % is long enough for min_duration 5m (it counts 0.6 min); 4 min at 100 % is not.
    rule_set = rules(availability(TENTH, downtime={"min_duration": "5m"}))
    entry = objective_json(evaluate(rule_set, SEPTEMBER, [down("2026-09-10T10:00:00Z", 6, impact="10"),
                                                          down("2026-09-11T10:00:00Z", 4)]))
    assert entry["downtime_minutes"] == "0.6"


def test_an_impact_under_a_count_other_than_exact_is_refused():
    rule_set = rules(availability(TENTH, downtime={"count": "whole"}))
    with pytest.raises(InputError) as error:
        evaluate(rule_set, SEPTEMBER, [down("2026-09-10T10:00:00Z", 6, impact="50", line=7)])
    assert (error.value.line, error.value.field) == (7, "impact")


# --- 6.2 credits: days, started, beyond_allowance ------------------------------------------------------

@pytest.mark.parametrize("period, currency, fee, credit, amount, percent", [
    (Period(2028, 2), "EUR", "1450.00", "3d", "150.00", "10.344828"),   # leap February: 1,450 x 3/29 = 150.00
    (OCTOBER, "JPY", "100000", "3d", "9677", "9.677419"),               # 100,000 x 3/31 = 9,677.42 -> 9,677 yen
    (SEPTEMBER, "BHD", "100.000", "1d", "3.333", "3.333333"),           # 100 x 1/30 = 3.3333 -> 3.333 dinars
])
def test_days_of_the_fee(period, currency, fee, credit, amount, percent):
    rule_set = rules(availability({"tiers": [{"below": "99.9", "credit": credit}]}))
    incident = down(f"{period.first_day.isoformat()}T10:00:00Z", 600)
    entry = objective_json(evaluate(rule_set, period, [incident],
                                    the_contract=contract(currency=currency, fees=(("compute", fee),))))
    assert (entry["credit"], entry["credit_percent"]) == (amount, percent)


@pytest.mark.parametrize("minutes, credit, beyond", [
    (F(216, 5), None, None),             # 43.2 min: exactly the allowance, met
    (F(2593, 60), "0.00", "0.016667"),   # one second past: 1,200 x 10 x (1/60)/43,200 = 0.0046 -> 0.00
    (100, "15.78", "56.8"),              # 1,200 x 10 x 56.8/43,200 = 15.777... -> 15.78
])
def test_downtime_share_beyond_the_allowance(minutes, credit, beyond):
    rule_set = rules(availability({"downtime_share": {"multiple": "10", "beyond_allowance": True}}))
    entry = objective_json(evaluate(rule_set, SEPTEMBER, [down("2026-09-10T10:00:00Z", minutes)]))
    assert entry.get("beyond_minutes") == beyond
    assert entry["credit"] == (credit or "0.00")
    assert entry["met"] is (credit is None)


# --- 6.2 per_outage -----------------------------------------------------------------------------------

def test_each_outage_is_rounded_on_its_own():
    # JPY 43,200 in September: 1 yen a minute.  Two outages of 30 s: 0.5 yen each, rounded half-up
    # to 1 yen each: 2 yen (rounding the sum, 1 yen, would give one less).
    rule_set = rules(availability({"per_outage": {"multiple": "1"}}, target=None))
    evaluation = evaluate(rule_set, SEPTEMBER, [down("2026-09-10T10:00:00Z", F(1, 2)), down("2026-09-11T10:00:00Z", F(1, 2))],
                          the_contract=contract(currency="JPY", fees=(("compute", "43200"),)))
    entry = objective_json(evaluation)
    assert [o["credit"] for o in entry["outages"]] == ["1", "1"] and entry["credit"] == "2"


def test_per_outage_tiers_credit_an_outage_in_the_month_it_ends():
    # Paris: 31 Oct 22:00 - 1 Nov 03:00 local = 5 h, longer than 4 h: 20 % x 1,200.00 = 240.00 in November.
    rule_set = rules(availability({"per_outage": {"tiers": [{"longer_than": "4h", "credit": "20%"}]}}, target=None))
    incident = Incident(at("2026-10-31T22:00:00+01:00"), at("2026-11-01T03:00:00+01:00"), Cause.outage, None, 2)
    october = objective_json(evaluate(rule_set, OCTOBER, [incident], the_contract=contract(tz=PARIS)))
    november = objective_json(evaluate(rule_set, Period(2026, 11), [incident], the_contract=contract(tz=PARIS)))
    # October counts its 2 hours but credits nothing; November lists the whole outage, 180 min of it inside.
    assert (october["downtime_minutes"], october["outages"], october["credit"], october["met"]) == ("120", [], "0.00", True)
    assert november["outages"] == [{"start": "2026-10-31T21:00:00Z", "end": "2026-11-01T02:00:00Z",
                                    "counted_minutes": "180", "credit": "240.00", "tier": 0}]


def test_tiers_on_outages_count_stretches_after_min_duration():
    # Outages of 3, 10 and 20 min (one of them two overlapping incidents) with min_duration 5m: 2 count.
    rule_set = rules(availability({"tiers_on": "outages", "tiers": [{"at_least": "2", "credit": "5%"}]}, target=None,
                                  downtime={"min_duration": "5m"}))
    entry = objective_json(evaluate(rule_set, SEPTEMBER, [
        down("2026-09-01T10:00:00Z", 3), down("2026-09-02T10:00:00Z", 10),
        down("2026-09-03T10:00:00Z", 15), down("2026-09-03T10:10:00Z", 10)]))
    assert (entry["counted_outages"], entry["tier"], entry["credit"], entry["target"]) == (2, 0, "60.00", None)


# --- 6.2 group ----------------------------------------------------------------------------------------

def grouped(*credits):
    return rules(*[availability({"tiers": [{"below": "99.9", "credit": c}]}, id=f"o{i}", group="g")
                   for i, c in enumerate(credits)])


@pytest.mark.parametrize("credits, in_total, total", [
    (("10%", "25%"), [False, True], "300.00"),   # the larger, 25 % of 1,200.00
    (("10%", "10%"), [True, False], "120.00"),   # a tie: the first listed
    (("0%", "0%"), [True, False], "0.00"),       # all zero: the first listed is the one in the total
])
def test_a_group_pays_only_its_largest_credit(credits, in_total, total):
    evaluation = evaluate(grouped(*credits), SEPTEMBER, [down("2026-09-10T10:00:00Z", 60)])
    result = evaluation_json(evaluation)
    assert [o["in_total"] for o in result["objectives"]] == in_total
    assert all(o["group"] == "g" for o in result["objectives"])
    assert result["credit_total"] == total


def test_ungrouped_objectives_have_no_in_total_key():
    entry = objective_json(evaluate(rules(availability(TENTH)), SEPTEMBER, [down("2026-09-10T10:00:00Z", 60)]))
    assert "in_total" not in entry and "group" not in entry
