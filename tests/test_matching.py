"""Rule matching: durable-rules against the plain-Python reference, bounds, and the adapter's traps."""

from __future__ import annotations

import threading
from decimal import Decimal
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.core.matching import CATCH_ALL, RuleEngineError, compile_rules, make_fact, matcher, reference_match
from engine.core.schema import RuleSet, Tier


def rule_set(tiers, target=None, ruleset="matching-test", version="1", extra_objectives=()):
    objectives = [{"id": "availability", "service": "compute", "metric": "availability",
                   "credit": {"tiers": tiers}, **({"target": target} if target else {})}, *extra_objectives]
    return RuleSet.model_validate({"ruleset": ruleset, "version": version, "effective_from": "2026-01-01",
                                   "objectives": objectives})


ALL_BOUNDS = rule_set([
    {"below": "99.9", "at_least": "99.0", "credit": "10%"},   # [99.0, 99.9)
    {"at_most": "98.5", "above": "95.25", "credit": "25%"},   # (95.25, 98.5]
    {"at_most": "95.25", "credit": "100%"},
], target="99.9")
COMPILED = compile_rules(ALL_BOUNDS)


def fired(compiled, value: F) -> frozenset[str]:
    return matcher().match(compiled, make_fact(compiled, "C-1", {"availability": value}))


def tiers_of(names) -> list[str]:
    return sorted(n for n in names if "/tier/" in n)


@pytest.mark.parametrize("value, expected", [
    # below 99.9: at, just below, just above
    (F("99.9"), []),
    (F("99.9") - F(1, 10**9), ["availability/tier/0"]),
    (F("99.9") + F(1, 10**9), []),
    # at_least 99.0
    (F("99.0"), ["availability/tier/0"]),
    (F("99.0") - F(1, 10**9), []),                 # the gap between 98.5 and 99.0
    (F("99.0") + F(1, 10**9), ["availability/tier/0"]),
    # at_most 98.5
    (F("98.5"), ["availability/tier/1"]),
    (F("98.5") + F(1, 10**12), []),
    (F("98.5") - F(1, 10**12), ["availability/tier/1"]),
    # above 95.25 (and at_most 95.25 for the next tier)
    (F("95.25"), ["availability/tier/2"]),
    (F("95.25") + F(1, 10**15), ["availability/tier/1"]),
    (F("95.25") - F(1, 10**15), ["availability/tier/2"]),
    (F(0), ["availability/tier/2"]),
    (F(100), []),
])
def test_each_bound_kind_at_just_below_and_just_above(value, expected):
    engine_result = fired(COMPILED, value)
    assert tiers_of(engine_result) == expected
    assert engine_result == reference_match(COMPILED, {"availability": value})
    assert ("availability/missed" in engine_result) == (value < F("99.9"))
    assert CATCH_ALL in engine_result


def test_a_value_between_the_scaled_integers_is_still_exact():
    # Scale is 10**2 here; 99.895 sits between 9989 and 9990 and is below 99.9.
    assert COMPILED.digits == 2
    assert make_fact(COMPILED, "C", {"availability": F("99.895")})["o0_lo"] == 9989
    assert tiers_of(fired(COMPILED, F("99.895"))) == ["availability/tier/0"]


def test_every_matching_tier_fires_so_the_first_can_be_chosen_by_index():
    overlapping = compile_rules(rule_set([{"below": "99.9", "credit": "10%"}, {"below": "99.0", "credit": "25%"}],
                                         ruleset="overlap"))
    assert tiers_of(fired(overlapping, F(98))) == ["availability/tier/0", "availability/tier/1"]


def test_priorities_are_explicit_and_unique():
    priorities = [r.priority for r in COMPILED.rules]
    assert len(set(priorities)) == len(priorities)
    assert COMPILED.rules[-1].name == CATCH_ALL and COMPILED.rules[-1].priority == max(priorities)


def test_an_objective_the_contract_does_not_take_fires_nothing():
    two = compile_rules(rule_set([{"below": "99.9", "credit": "10%"}], ruleset="two-objectives", extra_objectives=[
        {"id": "storage", "service": "storage", "metric": "availability", "target": "99.9",
         "credit": {"tiers": [{"below": "99.9", "credit": "10%"}]}}]))
    result = matcher().match(two, make_fact(two, "C", {"availability": F(50)}))
    assert result == {"*", "availability/tier/0"}


# --- differential: durable-rules against the reference, on random rules and facts -------------------

def bounds_strategy():
    digits = st.integers(min_value=0, max_value=6)
    return st.tuples(st.integers(min_value=0, max_value=100 * 10**6), digits).map(
        lambda p: Decimal(p[0] // 10 ** (6 - p[1])).scaleb(-p[1]) if p[0] // 10 ** (6 - p[1]) <= 100 * 10 ** p[1]
        else Decimal(100))


@st.composite
def random_rule_set(draw):
    tiers = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kinds = draw(st.sets(st.sampled_from(["below", "at_most", "above", "at_least"]), min_size=1, max_size=2)
                     .filter(lambda k: not {"below", "at_most"} <= k and not {"above", "at_least"} <= k))
        values = sorted(draw(st.lists(bounds_strategy(), min_size=len(kinds), max_size=len(kinds))))
        tier = {"credit": "10%"}
        for kind in sorted(kinds, key=lambda k: k in ("below", "at_most")):  # lower bounds take the smaller value
            tier[kind] = str(values.pop(0))
        try:
            Tier.model_validate(tier)
        except ValidationError:
            continue  # an empty range such as "> 5 and < 5" is refused by the schema
        tiers.append(tier)
    if not tiers:
        tiers = [{"below": "50", "credit": "10%"}]
    target = draw(st.one_of(st.none(), bounds_strategy().map(str)))
    return rule_set(tiers, target=target, ruleset="differential", version=str(draw(st.integers(0, 10**9))))


@st.composite
def attainment_near_bounds(draw, rules):
    bounds = [c.bound for r in rules.rules for c in r.conditions] or [Decimal(50)]
    anchor = F(draw(st.sampled_from(bounds)))
    offset = draw(st.sampled_from([F(0), F(1, 10**draw(st.integers(1, 16))), -F(1, 10**draw(st.integers(1, 16))),
                                   F(draw(st.integers(-10**6, 10**6)), draw(st.integers(1, 10**6)))]))
    return min(max(anchor + offset, F(0)), F(100))


@settings(max_examples=500)
@given(data=st.data())
def test_durable_rules_agrees_with_the_reference_matcher(data):
    # 500 random rule sets x 10 facts each, most of them on or next to a bound.
    rules = compile_rules(data.draw(random_rule_set()))
    for _ in range(10):
        attainments = {"availability": data.draw(attainment_near_bounds(rules))}
        assert matcher().match(rules, make_fact(rules, "C-1", attainments)) == reference_match(rules, attainments)


# --- the adapter's traps ------------------------------------------------------------------------------

def test_no_polling_threads_and_no_session_left_behind():
    before = threading.active_count()
    for index in range(300):
        fired(COMPILED, F(index % 101))
    assert threading.active_count() == before
    with pytest.raises(Exception):
        matcher()._host.get_state(COMPILED.engine_name, matcher().session)


def test_a_rule_set_content_is_registered_once_under_an_immutable_name():
    assert ALL_BOUNDS.engine_name == f"matching-test@1#{ALL_BOUNDS.sha256[:12]}"
    count = matcher().registered()
    fired(compile_rules(ALL_BOUNDS), F(99))
    fired(compile_rules(ALL_BOUNDS), F(99))
    assert matcher().registered() == count


def test_matching_runs_no_python_action_and_leaves_no_garbage():
    # Every action of the compiled rules raises if called: the adapter must read fired rules
    # from the engine's action loop, never through durable-rules' callback layer, whose
    # closures form reference cycles on every firing.
    import gc

    rules = compile_rules(rule_set([{"below": "99.9", "credit": "10%"}], ruleset="no-callbacks"))
    gc.collect()
    gc.disable()
    try:
        for value in range(200):
            assert "availability/tier/0" in fired(rules, F(value % 99))
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_fact_nothing_matches_is_reported_without_crashing_and_matching_goes_on():
    # Without a contract the catch-all cannot fire: nothing fires, which is exactly the
    # session durable-rules may crash on deleting.  The adapter reports it, abandons the
    # session, and the next match starts on a fresh one.
    rules = compile_rules(rule_set([{"below": "99.9", "credit": "10%"}], ruleset="failing"))
    before = matcher().session
    with pytest.raises(RuleEngineError, match="durable-rules failed matching None in failing@1#"):
        matcher().match(rules, {"o0_lo": 5000, "o0_hi": 5000})
    assert matcher().session != before
    assert fired(rules, F(50)) == {"*", "availability/tier/0"}
    with pytest.raises(Exception):
        matcher()._host.get_state(rules.engine_name, matcher().session)


# --- tiers on whole counts (INTERFACE.md 6.2, tiers_on) ---------------------------------------------

def count_rule_set(tiers, target=None, on="late_tickets", ruleset="count-test", version="1"):
    if on == "late_tickets":
        objective = {"id": "support", "service": "desk", "metric": "response_time", "target_time": "1h"}
    else:
        objective = {"id": "support", "service": "desk", "metric": "availability"}
    objective["credit"] = {"tiers_on": on, "tiers": tiers}
    if target:
        objective["target"] = target
    return RuleSet.model_validate({"ruleset": ruleset, "version": version, "effective_from": "2026-01-01",
                                   "objectives": [objective]})


EDGEVIRT = compile_rules(count_rule_set([
    {"at_least": "1", "at_most": "2", "credit": "5%"},
    {"at_least": "3", "at_most": "4", "credit": "10%"},
    {"at_least": "5", "credit": "15%"},
], target="90"))


@pytest.mark.parametrize("late, expected", [
    (0, []),                        # no late ticket: no tier
    (1, ["support/tier/0"]),        # at_least 1, exactly
    (2, ["support/tier/0"]),        # at_most 2, exactly
    (3, ["support/tier/1"]),        # one past it: the next tier (whole counts leave no gap)
    (4, ["support/tier/1"]),
    (5, ["support/tier/2"]),
    (1_000_000, ["support/tier/2"]),
])
def test_tiers_on_late_tickets_read_the_count_not_the_attainment(late, expected):
    # The attainment (here 95 %, above the 90 % target) decides "missed"; the count decides the tier.
    attainments, counts = {"support": F(95)}, {"support": late}
    fact = make_fact(EDGEVIRT, "C-1", attainments, counts)
    assert fact["o0_n"] == late  # the count crosses as it is: every bound is a whole number (scale 1)
    engine_result = matcher().match(EDGEVIRT, fact)
    assert tiers_of(engine_result) == expected
    assert engine_result == reference_match(EDGEVIRT, attainments, counts)
    assert "support/missed" not in engine_result


def test_a_decimal_bound_on_a_count_compares_exactly():
    # at_most 2.5 on a count: 2 is covered, 3 is not; the scale (10**1) keeps both exact.
    rules = compile_rules(count_rule_set([{"at_most": "2.5", "credit": "5%"}], on="outages", ruleset="decimal-count"))
    assert rules.digits == 1
    for count, expected in ((2, ["support/tier/0"]), (3, [])):
        fact = make_fact(rules, "C-1", {"support": F(100)}, {"support": count})
        assert fact["o0_n"] == count * 10
        assert tiers_of(matcher().match(rules, fact)) == expected == tiers_of(
            reference_match(rules, {"support": F(100)}, {"support": count}))


@st.composite
def random_count_rule_set(draw):
    tiers = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kinds = draw(st.sets(st.sampled_from(["below", "at_most", "above", "at_least"]), min_size=1, max_size=2)
                     .filter(lambda k: not {"below", "at_most"} <= k and not {"above", "at_least"} <= k))
        step = draw(st.sampled_from([1, 2, 10]))  # whole bounds, halves and tenths
        values = sorted(Decimal(n) / step for n in draw(st.lists(st.integers(0, 40), min_size=len(kinds),
                                                                  max_size=len(kinds))))
        tier = {"credit": "10%"}
        for kind in sorted(kinds, key=lambda k: k in ("below", "at_most")):
            tier[kind] = str(values.pop(0))
        try:
            Tier.model_validate(tier)
        except ValidationError:
            continue
        tiers.append(tier)
    if not tiers:
        tiers = [{"at_least": "1", "credit": "10%"}]
    target = draw(st.one_of(st.none(), bounds_strategy().map(str)))
    return count_rule_set(tiers, target=target, on=draw(st.sampled_from(["late_tickets", "outages"])),
                          ruleset="count-differential", version=str(draw(st.integers(0, 10**9))))


@settings(max_examples=300)
@given(data=st.data())
def test_durable_rules_agrees_with_the_reference_on_count_tiers(data):
    # 300 random count-tier rule sets x 10 facts: counts on and next to every bound, and an
    # attainment for the target's missed rule.
    rules = compile_rules(data.draw(random_count_rule_set()))
    bounds = [int(c.bound) for r in rules.rules for c in r.conditions if c.on_count] or [1]
    for _ in range(10):
        count = max(0, data.draw(st.sampled_from(bounds)) + data.draw(st.integers(-2, 2)))
        attainments = {"support": data.draw(attainment_near_bounds(rules))}
        counts = {"support": count}
        assert matcher().match(rules, make_fact(rules, "C-1", attainments, counts)) == \
            reference_match(rules, attainments, counts)
