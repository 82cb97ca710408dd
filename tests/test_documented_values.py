"""Every key INTERFACE.md documents keeps its type when its value is written bare.

PyYAML reads YAML 1.1, where ``30_360`` is the integer 30360, ``1:30`` is 90, ``NO`` is
false and ``010`` is 8.  slabill reads plain values as YAML 1.2's core schema does, so a
documented word stays the word (``day_count: 30_360``), a country stays a country
(``NO``, Norway), and a text field given a number keeps the number's text.  Each row
below writes one documented key bare, with a value YAML 1.1 would have turned into
something else, and reads back what the validated rule set or contract holds.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.loading.contracts import load_book
from engine.loading.rulesets import parse_rule_set
from engine.loading.yamlsource import parse_yaml

RULES = """\
ruleset: {ruleset}
version: {version}
effective_from: 2026-01-01
description: {description}
calendars:
  office:
    timezone: Europe/Oslo
    hours: {{mon-fri: 09:00-16:00}}
    holidays: {holidays}
objectives:
  - id: {objective}
    service: {service}
    metric: response_time
    priority: {priority}
    target_time: 1h
    clock: office
    credit: {{per_breach: {per_breach}}}
late_payment:
  regime: eu
  grace_days: {grace_days}
  day_count: {day_count}
  vat_on_interest: {vat_on_interest}
"""
RULE_DEFAULTS = {"ruleset": "hosting", "version": '"1"', "description": "x", "holidays": "FR", "objective": "p1",
                 "service": "support", "priority": "P1", "per_breach": '"50.00"', "grace_days": "0",
                 "day_count": "act_365", "vat_on_interest": "false"}


def rule_set(**written):
    return parse_rule_set(parse_yaml(RULES.format(**(RULE_DEFAULTS | written)), "rules.yaml"))


@pytest.mark.parametrize("key, written, read", [
    ("day_count", "30_360", lambda r: r.late_payment.day_count == "30_360"),        # YAML 1.1: 30360
    ("version", "1_0", lambda r: r.version == "1_0"),                               # YAML 1.1: 10
    ("version", "1:30", lambda r: r.version == "1:30"),                             # YAML 1.1: 90
    ("version", "010", lambda r: r.version == "010"),                               # YAML 1.1: 8
    ("version", "2026.10", lambda r: r.version == "2026.10"),                       # a number, its text kept
    ("version", "0x1F", lambda r: r.version == "0x1F"),                             # YAML 1.1: 31
    ("ruleset", "on", lambda r: r.ruleset == "on"),                                 # YAML 1.1: true
    ("description", "yes", lambda r: r.description == "yes"),                      # YAML 1.1: true
    ("description", "1:30", lambda r: r.description == "1:30"),
    ("holidays", "NO", lambda r: r.calendars["office"].holidays == "NO"),           # Norway; YAML 1.1: false
    ("objective", "no", lambda r: r.objectives[0].id == "no"),                      # YAML 1.1: false
    ("service", "off", lambda r: r.objectives[0].service == "off"),                 # YAML 1.1: false
    ("priority", "1", lambda r: r.objectives[0].priority == "1"),                   # a number, its text kept
    ("priority", "01", lambda r: r.objectives[0].priority == "01"),                 # YAML 1.1: 1
    ("priority", "y", lambda r: r.objectives[0].priority == "y"),                   # the YAML 1.1 spec: true (PyYAML: text)
    ("per_breach", "50.00", lambda r: r.objectives[0].credit.per_breach == Decimal("50.00")),
    ("per_breach", "1_000", lambda r: r.objectives[0].credit.per_breach == Decimal("1000")),  # read as a number field reads text
    ("grace_days", "10", lambda r: r.late_payment.grace_days == 10),
    ("grace_days", "010", lambda r: r.late_payment.grace_days == 10),               # YAML 1.1: 8 (octal)
    ("vat_on_interest", "yes", lambda r: r.late_payment.vat_on_interest is True),   # a documented flag still reads
    ("vat_on_interest", "true", lambda r: r.late_payment.vat_on_interest is True),
    ("vat_on_interest", "off", lambda r: r.late_payment.vat_on_interest is False),
])
def test_rule_set_keys_keep_their_documented_type(key, written, read):
    assert read(rule_set(**{key: written}))


def test_the_hours_of_a_calendar_are_text_even_bare():
    calendar = rule_set().calendars["office"]
    assert calendar.hours == {"mon-fri": "09:00-16:00"} and calendar.timezone == "Europe/Oslo"


CONTRACTS = """\
issuer: {{name: {issuer}, vat_id: {issuer_vat}, country: {issuer_country}, credit_note_prefix: {prefix},
         adjustment_prefix: {adjustment_prefix}}}
contracts:
  - id: {contract}
    customer: {{id: {customer}, name: {name}, locale: {locale}, country: {country}, vat_id: {vat_id}}}
    currency: NOK
    timezone: Europe/Oslo
    ruleset: {ruleset}
    start: 2025-01-01
    vat_rate: {vat_rate}
    services:
      - {{id: {service}, monthly_fee: {fee}}}
"""
CONTRACT_DEFAULTS = {"issuer": "Hostco AS", "issuer_vat": "NO923609016MVA", "issuer_country": "NO", "prefix": "KN",
                     "adjustment_prefix": "ADJ", "contract": "C-1", "customer": "ACME", "name": "ACME AS",
                     "locale": "nb_NO", "country": "NO", "vat_id": "NO987654321MVA", "ruleset": "hosting",
                     "vat_rate": "25", "service": "compute", "fee": "1200.00"}


def contract_book(tmp_path, **written):
    path = tmp_path / "contracts.yaml"
    path.write_text(CONTRACTS.format(**(CONTRACT_DEFAULTS | written)), encoding="utf-8")
    return load_book(path)


@pytest.mark.parametrize("key, written, read", [
    ("issuer_country", "NO", lambda b: b.issuer.country == "NO"),                   # YAML 1.1: false
    ("country", "NO", lambda b: b.contracts[0].customer.country == "NO"),
    ("locale", "no", lambda b: b.contracts[0].customer.locale == "no"),             # Norwegian; YAML 1.1: false
    ("issuer", "Yes", lambda b: b.issuer.name == "Yes"),
    ("issuer_vat", "12345678901", lambda b: b.issuer.vat_id == "12345678901"),      # a number, its text kept
    ("vat_id", "0012345670", lambda b: b.contracts[0].customer.vat_id == "0012345670"),  # YAML 1.1: 2739128 (octal)
    ("prefix", "2026", lambda b: b.issuer.credit_note_prefix == "2026"),
    ("adjustment_prefix", "010", lambda b: b.issuer.adjustment_prefix == "010"),    # YAML 1.1: 8
    ("contract", "1_001", lambda b: b.contracts[0].id == "1_001"),                  # YAML 1.1: 1001
    ("contract", "1001", lambda b: b.contracts[0].id == "1001"),
    ("customer", "0042", lambda b: b.contracts[0].customer.id == "0042"),           # YAML 1.1: 34
    ("customer", "1:30", lambda b: b.contracts[0].customer.id == "1:30"),           # YAML 1.1: 90
    ("ruleset", "off", lambda b: b.contracts[0].ruleset == "off"),
    ("service", "on", lambda b: b.contracts[0].services[0].id == "on"),
    ("vat_rate", "25", lambda b: b.contracts[0].vat_rate == Decimal("25")),
    ("vat_rate", "12.5", lambda b: b.contracts[0].vat_rate == Decimal("12.5")),
    ("fee", "1200.00", lambda b: b.contracts[0].services[0].monthly_fee == Decimal("1200.00")),
])
def test_contract_keys_keep_their_documented_type(tmp_path, key, written, read):
    assert read(contract_book(tmp_path, **{key: written}))


def test_dates_stay_dates(tmp_path):
    assert contract_book(tmp_path).contracts[0].start == date(2025, 1, 1)
    assert rule_set().effective_from == date(2026, 1, 1)
