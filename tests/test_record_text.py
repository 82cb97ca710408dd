"""Records written as text directly are exactly the canonical JSON of their dict forms.

Stored records are hashed and replayed as text, so ``inputs_text`` and ``result_text``
(which the monthly run uses) must give the very bytes ``canonical`` gives ``inputs_of``
and ``result_of``, on every shape of book: tickets, late fees, maintenance, error rates.
"""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from engine.audit.records import inputs_of, inputs_text, result_of, result_text
from engine.core.canonical import canonical, canonical_object
from engine.core.errors import InputError
from engine.core.evaluation import evaluate_book
from engine.core.money import Rounding, plain, round_fraction
from engine.core.period import Period
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rates import load_rates
from engine.loading.rulesets import load_rule_sets
from tests.conftest import ROOT

SCENARIOS = sorted(p for p in (ROOT / "fixtures" / "scenarios").iterdir() if (p / "contracts.yaml").exists())
BOOKS = [(ROOT / "rules", ROOT / "fixtures" / "contracts.yaml", ROOT / "fixtures" / "data")] + [
    (p / "rules", p / "contracts.yaml", p / "data") for p in SCENARIOS]


@pytest.mark.parametrize("rules, contracts, data", BOOKS, ids=["fixtures"] + [p.name for p in SCENARIOS])
def test_record_texts_are_the_canonical_json_of_the_dicts(rules: Path, contracts: Path, data: Path):
    rule_book = load_rule_sets(rules)
    book = load_book(contracts)
    measurements = load_measurements(data, book)
    rates = load_rates(rules) if any(r.rules.late_payment for r in rule_book.loaded) else None
    checked = 0
    for month in range(1, 13):
        try:
            evaluations = list(evaluate_book(rule_book, book, measurements, Period(2026, month), rates=rates))
        except InputError:  # no rule set or rate for that month
            continue
        for evaluation in evaluations:
            assert inputs_text(evaluation, measurements, rates) == canonical(inputs_of(evaluation, measurements, rates))
            assert result_text(evaluation) == canonical(result_of(evaluation))
            checked += 1
    assert checked


def test_canonical_object_joins_members_in_key_order():
    members = {"é": canonical("x\n"), "a": canonical([1, {"b": None}]), "B": canonical(True)}
    assert canonical_object(members) == canonical({"é": "x\n", "a": [1, {"b": None}], "B": True})


def _plain_through_decimal(value: Fraction, max_digits: int = 6) -> str:
    """plain() as it was written before it worked on integers."""
    if value.denominator == 1:
        return str(value.numerator)
    text = str(round_fraction(value, max_digits, Rounding.half_up))
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def test_plain_writes_what_the_decimal_path_wrote():
    draw = random.Random(2026)
    values = [Fraction(1, 10**7), Fraction(-1, 10**7), Fraction(-1, 2), Fraction(1, 2), Fraction(5, 2_000_000),
              Fraction(Decimal("99.9999995")), Fraction(-3, 2), Fraction(1, 3)]
    for _ in range(20_000):
        denominator = draw.choice([draw.randint(1, 10**8), 60_000_000, 3, 7, 2**draw.randint(0, 30)])
        values.append(Fraction(draw.randint(-10**12, 10**12), denominator))
    for value in values:
        for digits in (0, 2, 6, 7):
            assert plain(value, digits) == _plain_through_decimal(value, digits), (value, digits)


# --- incident outcomes ---------------------------------------------------------------------------------

def _outcomes_on_sets(kinds, window, downtime, excluded, over_allowance, too_short):
    """What each incident did, worked out with the interval algebra as it was before integer microseconds."""
    from engine.core.intervals import intersect, subtract, total, union
    from engine.core.period import minutes

    attributed, result = [], []
    lo, hi = window.start, window.end
    for incident, kind in sorted(kinds, key=lambda k: (k[0].start, k[0].end, k[0].line)):
        start, end = incident.start, incident.end
        if start >= hi or end <= lo:
            result.append((incident.line, "outside_period", Fraction(0), Fraction(0)))
            continue
        inside = [(max(start, lo), min(end, hi))]
        counted = subtract(intersect(inside, downtime), attributed)
        attributed = union(attributed + counted)
        excluded_part = intersect(inside, excluded)
        if kind == "cause":
            status = "excluded_cause"
        elif kind == "planned":
            status = "maintenance_over_allowance" if intersect(inside, over_allowance) else "excluded_maintenance"
        elif any(s[0] <= start and end <= s[1] for s in too_short):
            status = "too_short"
        elif kind == "short_notice":
            status = "maintenance_short_notice"
        elif counted:
            status = "counted"
        elif excluded_part:
            status = "within_excluded_time"
        else:
            status = "overlapped"
        result.append((incident.line, status, minutes(total(counted)), minutes(total(excluded_part))))
    return result


def test_incident_outcomes_are_those_of_the_interval_algebra():
    from datetime import timedelta, timezone

    from engine.core.intervals import union
    from engine.core.measure import _outcomes
    from engine.core.model import Incident
    from engine.core.schema import Cause

    draw = random.Random(7)
    window = Period(2026, 10).window("Europe/Paris")
    paris = timezone(timedelta(hours=2))

    def moment(minute: int):
        # some instants off the minute, some in another offset: the same instants either way
        value = window.start + timedelta(minutes=minute, seconds=draw.choice([0, 0, 30, 7.5]))
        return value.astimezone(paris) if draw.random() < 0.3 else value

    def spans(count: int):
        return union([(moment(m), moment(m + draw.randint(1, 3000))) for m in
                      (draw.randint(-2000, 46000) for _ in range(count))])

    for _ in range(300):
        kinds = []
        for line in range(draw.randint(0, 25)):
            first = draw.randint(-3000, 46000)
            incident = Incident(moment(first), moment(first + draw.randint(0, 2000)), draw.choice(list(Cause)), None,
                                draw.choice([line, 3]))
            kinds.append((incident, draw.choice(["cause", "planned", "short_notice", "outage", "outage"])))
        downtime, excluded, over, short = spans(draw.randint(0, 8)), spans(draw.randint(0, 4)), spans(2), spans(3)
        expected = _outcomes_on_sets(kinds, window, downtime, excluded, over, short)
        got = [(o.line, o.status, o.counted_minutes, o.excluded_minutes)
               for o in _outcomes(kinds, window, downtime, excluded, [], over, short)]
        assert got == expected
