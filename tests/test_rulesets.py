"""Rule-set loading: version choice, content hash, and the schema's edges."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from engine.core.errors import InputError
from engine.loading.rulesets import load_rule_sets, parse_rule_set
from engine.loading.yamlsource import parse_yaml
from tests.conftest import ROOT


def test_the_version_whose_range_contains_the_first_day_applies():
    book = load_rule_sets(ROOT / "rules")
    assert book.for_period("standard-hosting", date(2025, 12, 1)).version == "2025.1"
    assert book.for_period("standard-hosting", date(2026, 1, 1)).version == "2026.1"
    assert book.for_period("standard-hosting", date(2027, 1, 1)) is None
    assert book.for_period("premium-compute", date(2030, 1, 1)).version == "2026.1"  # open-ended


def test_the_hash_is_of_the_content_not_the_layout():
    a = parse_rule_set(parse_yaml('ruleset: x\nversion: "1"\neffective_from: 2026-01-01\ncap: "50%"\n', "a.yaml"))
    b = parse_rule_set(parse_yaml('cap: 50%   # same cap\neffective_from: "2026-01-01"\nversion: "1"\nruleset: x\n',
                                  "b.yaml"))
    c = parse_rule_set(parse_yaml('ruleset: x\nversion: "1"\neffective_from: 2026-01-01\ncap: "40%"\n', "c.yaml"))
    assert a.sha256 == b.sha256 != c.sha256
    assert a.sha256 == hashlib.sha256(a.canonical_json.encode()).hexdigest()
    assert '"cap":"50"' in a.canonical_json and '"rounding":"half_up"' in a.canonical_json


def test_objectives_may_be_empty():
    rules = parse_rule_set(parse_yaml('ruleset: fees-only\nversion: "1"\neffective_from: 2026-01-01\n'
                                      'objectives: []\nlate_payment: {regime: fr}\n', "f.yaml"))
    assert rules.objectives == () and rules.late_payment.regime == "fr"


@pytest.mark.parametrize("snippet, message", [
    ('credit: {tiers: [{below: "99", at_most: "98", credit: "1%"}]}', "either below or at_most"),
    ('credit: {tiers: [{below: "95", at_least: "99", credit: "1%"}]}', "can never apply"),
    ('credit: {tiers: [{below: "95", credit: "1%"}], per_unit: {every: 1h, credit: "1%"}}', "exactly one"),
    ('credit: {per_breach: "5.00"}', "per_breach applies to ticket metrics only"),
    ('credit: {tiers: [{below: "99.1234567890123456", credit: "1%"}]}', "at most 15 decimals"),
    ('clock: business\n    credit: {tiers: [{below: "9", credit: "1%"}]}', "clock does not apply"),
])
def test_schema_refusals(snippet, message):
    text = ('ruleset: x\nversion: "1"\neffective_from: 2026-01-01\nobjectives:\n'
            '  - id: a\n    service: s\n    metric: availability\n    ' + snippet + "\n")
    with pytest.raises(InputError, match=message):
        parse_rule_set(parse_yaml(text, "x.yaml"))


def test_ticket_and_late_payment_blocks_parse():
    text = (ROOT / "rules" / "standard-hosting-2026.1.yaml").read_text().replace("late_payment:\n  regime: fr\n", "")
    text += """
late_payment:
  regime: contractual
  annual_rate: "12"
  grace_days: 5
  day_count: act_act
  base: net
"""
    text = text.replace("objectives:\n", """objectives:
  - id: p2-response
    service: support
    metric: response_time
    priority: P2
    target_time: 1h
    clock: business
    target: "95"
    credit:
      per_breach: "50.00"
""", 1)
    rules = parse_rule_set(parse_yaml(text, "t.yaml"))
    assert rules.objectives[0].target_time.total_seconds() == 3600
    assert rules.late_payment.annual_rate == 12
    opening = rules.calendars["business"].opening()
    assert opening[0][0][0].hour == 9 and opening[4][0][1].hour == 17 and opening[5] == ()


@pytest.mark.parametrize("calendar, message", [
    ('{timezone: Mars/Olympus, hours: {mon-fri: "09:00-17:00"}}', "not an IANA time zone"),
    ('{timezone: UTC, hours: {mon-fri: "09:00-17:00"}, holidays: XX}', "no public-holiday calendar"),
    ('{timezone: UTC, hours: {fri-mon: "09:00-17:00"}}', "runs backwards"),
    ('{timezone: UTC, hours: {mon-fri: "09:00-12:00, 11:00-17:00"}}', "must not overlap"),
    ('{timezone: UTC, hours: {mon-fri: "09:00-17:00", fri: "10:00-11:00"}}', "fri is already given"),
])
def test_calendar_refusals(calendar, message):
    text = f'ruleset: x\nversion: "1"\neffective_from: 2026-01-01\ncalendars:\n  c: {calendar}\n'
    with pytest.raises(InputError, match=message):
        parse_rule_set(parse_yaml(text, "x.yaml"))


# --- the models are frozen and refuse unknown keys ----------------------------------------------------------

def _shipped(name: str):
    return parse_rule_set(parse_yaml((ROOT / "rules" / name).read_text(encoding="utf-8"), name))


@pytest.mark.parametrize("pick, field, value", [
    (lambda r: r, "cap", "100"),
    (lambda r: r, "late_payment", None),
    (lambda r: r.late_payment, "margin_points", "0"),
    (lambda r: r.calendars["business"], "timezone", "UTC"),
    (lambda r: r.objectives[0], "target", "90"),
    (lambda r: r.objectives[0].downtime, "min_duration", "1h"),
    (lambda r: r.objectives[0].exclusions, "causes", ()),
    (lambda r: r.objectives[0].exclusions.maintenance, "max_per_period", "99h"),
    (lambda r: r.objectives[0].credit, "tiers", ()),
    (lambda r: r.objectives[0].credit.tiers[0], "credit", "100"),
])
def test_a_validated_rule_set_cannot_be_changed(pick, field, value):
    # A rule set is hashed once, when it is validated; changing it afterwards would make the hash lie.
    from pydantic import ValidationError

    model = pick(_shipped("standard-hosting-2026.1.yaml"))
    with pytest.raises(ValidationError, match="frozen"):
        setattr(model, field, value)


def test_every_rule_set_model_is_frozen_and_forbids_extra_keys():
    from engine.core import schema

    models = [m for m in vars(schema).values()
              if isinstance(m, type) and issubclass(m, schema.Frozen) and m is not schema.Frozen]
    assert {"RuleSet", "Objective", "Tier", "Credit", "LatePayment", "Calendar"} <= {m.__name__ for m in models}
    for model in models:
        assert (model.model_config.get("frozen"), model.model_config.get("extra")) == (True, "forbid"), model


@pytest.mark.parametrize("text, where", [
    ('ruleset: x\nversion: "1"\neffective_from: 2026-01-01\nrounding_mode: down\n',
     "x.yaml, line 4, field rounding_mode: unknown key 'rounding_mode'"),
    ('ruleset: x\nversion: "1"\neffective_from: 2026-01-01\nlate_payment: {regime: fr, vat_on_intrest: true}\n',
     "x.yaml, line 4, field late_payment.vat_on_intrest: unknown key 'vat_on_intrest' (did you mean vat_on_interest?)"),
    ('ruleset: x\nversion: "1"\neffective_from: 2026-01-01\nobjectives:\n  - id: a\n    service: s\n'
     '    metric: availability\n    credit: {tiers: [{below: "99", credit: "1%", tier_name: gold}]}\n',
     "x.yaml, line 8, field objectives[0].credit.tiers[0].tier_name: unknown key 'tier_name'"),
])
def test_unknown_keys_are_refused_with_file_line_and_key(text, where):
    with pytest.raises(InputError) as caught:
        parse_rule_set(parse_yaml(text, "x.yaml"))
    assert str(caught.value).startswith(where)
