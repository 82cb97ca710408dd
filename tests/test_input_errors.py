"""Bad input: one sentence naming file, line and field, exit code 2, and nothing on stdout."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.conftest import ROOT

CONTRACTS = """\
issuer: {name: Hostco SAS, vat_id: FR40123456789, country: FR, address: "1 rue X, 75001 Paris", credit_note_prefix: AV}
contracts:
  - id: C-1001
    customer: {id: ACME, name: ACME SAS, locale: fr_FR, country: FR, vat_id: FR12345678901}
    currency: EUR
    timezone: Europe/Paris
    ruleset: standard-hosting
    start: 2025-01-01
    vat_rate: "20"
    services:
      - {id: compute, monthly_fee: "1200.00"}
"""
INCIDENTS_HEADER = "contract,service,start,end,cause,announced_at\n"


@pytest.fixture
def book(tmp_path):
    """A valid book in tmp_path: rules/, contracts.yaml, data/incidents.csv."""
    shutil.copy(ROOT / "rules" / "standard-hosting-2026.1.yaml", tmp_path / "rules.yaml")
    (tmp_path / "rules").mkdir()
    shutil.copy(ROOT / "rules" / "standard-hosting-2026.1.yaml", tmp_path / "rules" / "standard-hosting-2026.1.yaml")
    (tmp_path / "contracts.yaml").write_text(CONTRACTS)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "incidents.csv").write_text(
        INCIDENTS_HEADER + "C-1001,compute,2026-10-10T10:00:00Z,2026-10-10T11:00:00Z,,\n")
    return tmp_path


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def evaluate(book, period="2026-10"):
    return run("evaluate", "--rules", book / "rules", "--contracts", book / "contracts.yaml",
               "--data", book / "data", "--period", period)


def refused(result, pattern):
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.count("\n") == 0, message
    assert re.search(pattern, message), message
    return message


def test_the_valid_book_evaluates(book):
    result = evaluate(book)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["credit_total"] == "120.00"


def test_a_timestamp_without_offset(book):
    (book / "data" / "incidents.csv").write_text(
        INCIDENTS_HEADER + "C-1001,compute,2026-10-10T10:00:00Z,2026-10-10T11:00:00Z,,\n"
        "C-1001,compute,2026-10-11T10:00:00,2026-10-11T11:00:00Z,,\n")
    refused(evaluate(book), r"incidents\.csv, line 3, field start: the timestamp '2026-10-11T10:00:00' has no offset")


def test_an_end_before_the_start(book):
    (book / "data" / "incidents.csv").write_text(
        INCIDENTS_HEADER + "C-1001,compute,2026-10-10T10:00:00Z,2026-10-10T09:00:00Z,,\n")
    refused(evaluate(book), r"incidents\.csv, line 2, field end: the end .* is not after the start")


def test_an_unknown_key_with_a_suggestion(book):
    text = (book / "rules" / "standard-hosting-2026.1.yaml").read_text().replace('target: "99.9"', 'targt: "99.9"')
    (book / "rules" / "standard-hosting-2026.1.yaml").write_text(text)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "targt" in l)
    refused(evaluate(book), rf"standard-hosting-2026\.1\.yaml, line {line}, field objectives\[0\]\.targt: "
                            r"unknown key 'targt' \(did you mean target\?\)")


def test_a_negative_duration(book):
    text = (book / "rules" / "standard-hosting-2026.1.yaml").read_text().replace("min_notice: 5d", "min_notice: -5d")
    (book / "rules" / "standard-hosting-2026.1.yaml").write_text(text)
    refused(evaluate(book), r"field objectives\[0\]\.exclusions\.maintenance\.min_notice: a duration cannot be negative")


def test_a_tier_with_no_bound(book):
    text = (book / "rules" / "standard-hosting-2026.1.yaml").read_text().replace(
        '{below: "95.0", credit: "100%"}', '{credit: "100%"}')
    (book / "rules" / "standard-hosting-2026.1.yaml").write_text(text)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if '{credit: "100%"}' in l)
    refused(evaluate(book), rf"line {line}, field objectives\[0\]\.credit\.tiers\[2\]: a tier needs at least one bound")


def test_an_unknown_currency(book):
    (book / "contracts.yaml").write_text(CONTRACTS.replace("currency: EUR", "currency: EUX"))
    refused(evaluate(book), r"contracts\.yaml, line 5, field contracts\[0\]\.currency: 'EUX' is not an ISO 4217")


def test_an_unknown_contract_in_the_data(book):
    (book / "data" / "incidents.csv").write_text(
        INCIDENTS_HEADER + "C-9999,compute,2026-10-10T10:00:00Z,2026-10-10T11:00:00Z,,\n")
    refused(evaluate(book), r"incidents\.csv, line 2, field contract: no contract 'C-9999'")


def test_a_misspelt_column(book):
    (book / "data" / "incidents.csv").write_text("contract,service,start,end,cause,anounced_at\n")
    refused(evaluate(book), r"line 1, field anounced_at: unknown column 'anounced_at' \(did you mean announced_at\?\)")


def test_a_bad_number_in_requests(book):
    (book / "data" / "requests.csv").write_text(
        "contract,service,interval_start,requests,errors\nC-1001,compute,2026-10-01T00:00:00Z,12.5,0\n")
    refused(evaluate(book), r"requests\.csv, line 2, field requests: '12\.5' is not a whole number")


def test_no_rule_set_version_for_the_period(book):
    message = refused(evaluate(book, "2027-01"), r"contracts\.yaml, line 7, field contracts\[0\]\.ruleset: "
                                                  r"no version of standard-hosting applies on 2027-01-01")
    assert message.startswith("slabill: ")


def test_a_malformed_period(book):
    refused(evaluate(book, "2026-13"), r"field --period: the period must be a month written YYYY-MM")


def test_a_float_in_yaml_is_read_exactly(book):
    text = (book / "rules" / "standard-hosting-2026.1.yaml").read_text().replace('target: "99.9"', "target: 99.9")
    (book / "rules" / "standard-hosting-2026.1.yaml").write_text(text)
    result = evaluate(book)
    assert json.loads(result.stdout)["results"][0]["objectives"][0]["target"] == "99.9"


def test_a_duplicate_key(book):
    text = (book / "rules" / "standard-hosting-2026.1.yaml").read_text().replace(
        'rounding: half_up', 'rounding: half_up\nrounding: down')
    (book / "rules" / "standard-hosting-2026.1.yaml").write_text(text)
    refused(evaluate(book), r"field rounding: the key 'rounding' appears twice")


# --- tickets and their pauses (INTERFACE.md section 3) ----------------------------------------------------

TICKETS_HEADER = "contract,ticket,priority,created,first_response,resolved\n"
PAUSES_HEADER = "ticket,start,end\n"
# T-1 is created at 08:00Z, written in Paris time; T-2 is still open.
TICKETS = TICKETS_HEADER + ("C-1001,T-1,P1,2026-10-05T10:00:00+02:00,2026-10-05T08:30:00Z,2026-10-05T12:00:00Z\n"
                            "C-1001,T-2,P2,2026-10-06T09:00:00Z,,\n")


def test_ticket_times_and_pauses_at_the_edges_are_accepted(book):
    # 08:30Z is after 10:00+02:00 (08:00Z) though it reads earlier; a pause may span the
    # whole life of a ticket (08:00Z to 12:00Z), and an open ticket's pause has no end bound.
    (book / "data" / "tickets.csv").write_text(TICKETS)
    (book / "data" / "ticket_pauses.csv").write_text(
        PAUSES_HEADER + "T-1,2026-10-05T10:00:00+02:00,2026-10-05T12:00:00Z\nT-2,2026-10-06T09:00:00Z,2026-10-20T09:00:00Z\n")
    result = evaluate(book)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["credit_total"] == "120.00"


def test_a_ticket_answered_before_it_was_created(book):
    # 09:30+02:00 is 07:30Z, half an hour before the ticket was created.
    (book / "data" / "tickets.csv").write_text(
        TICKETS + "C-1001,T-3,P1,2026-10-07T08:00:00Z,2026-10-07T09:30:00+02:00,\n")
    refused(evaluate(book), r"tickets\.csv, line 4, field first_response: ticket T-3 is answered before it was created\.$")


def test_a_ticket_resolved_before_it_was_created(book):
    (book / "data" / "tickets.csv").write_text(
        TICKETS_HEADER + "C-1001,T-1,P1,2026-10-05T08:00:00Z,,2026-10-05T07:59:59Z\n")
    refused(evaluate(book), r"tickets\.csv, line 2, field resolved: ticket T-1 is resolved before it was created\.$")


def test_a_pause_starting_before_its_ticket_was_created(book):
    (book / "data" / "tickets.csv").write_text(TICKETS)
    (book / "data" / "ticket_pauses.csv").write_text(
        PAUSES_HEADER + "T-1,2026-10-05T08:30:00Z,2026-10-05T09:00:00Z\nT-1,2026-10-05T07:00:00Z,2026-10-05T08:10:00Z\n")
    refused(evaluate(book), r"ticket_pauses\.csv, line 3, field start: the pause starts before ticket T-1 was created\.$")


def test_a_pause_ending_after_its_ticket_was_resolved(book):
    # T-1 is resolved at 12:00Z; 14:00:01+02:00 is one second later.
    (book / "data" / "tickets.csv").write_text(TICKETS)
    (book / "data" / "ticket_pauses.csv").write_text(PAUSES_HEADER + "T-1,2026-10-05T11:00:00Z,2026-10-05T14:00:01+02:00\n")
    refused(evaluate(book), r"ticket_pauses\.csv, line 2, field end: the pause ends after ticket T-1 was resolved\.$")


# --- rules check and schema ------------------------------------------------------------------------------

def test_rules_check_names_the_uncovered_value(tmp_path):
    text = (ROOT / "rules" / "standard-hosting-2026.1.yaml").read_text().replace(
        '{below: "99.9", at_least: "99.0", credit: "10%"}', '{below: "99.9", above: "99.0", credit: "10%"}')
    path = tmp_path / "gap.yaml"
    path.write_text(text)
    result = run("rules", "check", path)
    assert result.exit_code == 0
    assert "objective availability: nothing covers exactly 99.0" in result.stdout
    assert run("rules", "check", "--strict", path).exit_code == 1


def test_rules_check_reports_overlaps(tmp_path):
    text = (ROOT / "rules" / "standard-hosting-2026.1.yaml").read_text().replace(
        '{below: "99.0", at_least: "95.0", credit: "25%"}', '{below: "99.5", at_least: "95.0", credit: "25%"}')
    path = tmp_path / "overlap.yaml"
    path.write_text(text)
    assert "tiers 0 and 1 both cover from 99.0 (included) to 99.5 (excluded)" in run("rules", "check", path).stdout


def test_shipped_rules_are_clean():
    result = run("rules", "check", "--strict", ROOT / "rules")
    assert result.exit_code == 0, result.output


def test_two_versions_applying_on_the_same_day_are_refused(tmp_path):
    text = (ROOT / "rules" / "standard-hosting-2026.1.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text.replace('version: "2026.1"', 'version: "2026.2"')
                                     .replace("effective_from: 2026-01-01", "effective_from: 2026-06-01"))
    result = run("rules", "check", tmp_path)
    refused(result, r"b\.yaml, line \d+, field effective_from: versions 2026\.1 .* and 2026\.2 of standard-hosting "
                    r"both apply on 2026-06-01")


def test_rules_schema_is_json_schema_for_editors():
    result = run("rules", "schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "slabill rule set"
    assert {"ruleset", "version", "objectives", "late_payment"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
