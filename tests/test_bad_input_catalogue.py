"""A catalogue of bad input: every case is refused the same way, and the store is left as it was.

Issue 15 sent 102 kinds of bad input at slabill and 20 broke its promise.  Here each
case (a rule file, the contracts, each CSV, a rate table, the command line of every
command) must give exit code 2, nothing on stdout, one sentence on stderr that names
the file, line and field where there is one, no traceback, and an unchanged store:
every table's rows are compared before and after.

The store holds the shipped rules and fixtures with October 2026 run (documents
issued), so that the commands that read it have something to read.  File cases are
loaded with ``slabill load`` on top of it (the strictest test of "nothing written");
command-line cases run against it.  The catalogue runs on SQLite and, when configured,
on PostgreSQL.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from engine.cli import app
from tests.conftest import ROOT, postgres_base_url

RULES = "rules/standard-hosting-2026.1.yaml"
ECB = "rules/rates/ecb-mro.yaml"
CONTRACTS = "contracts.yaml"
INCIDENTS, REQUESTS, TICKETS = "data/incidents.csv", "data/requests.csv", "data/tickets.csv"
PAUSES, INVOICES, PAYMENTS = "data/ticket_pauses.csv", "data/invoices.csv", "data/payments.csv"

Edit = Callable[[str], "str | bytes"]


def sub(old: str, new: str) -> Edit:
    """Replace the first ``old`` in the file (which must be there)."""

    def edit(content: str) -> str:
        assert old in content, f"{old!r} is not in the file"
        return content.replace(old, new, 1)

    return edit


def add_row(row: str) -> Edit:
    """Append a row to a CSV file."""
    return lambda content: content.rstrip("\n") + "\n" + row + "\n"


def whole(new: "str | bytes") -> Edit:
    return lambda content: new


def latin1(old: str, new: str) -> Edit:
    """The file saved as Latin-1 (what it cannot hold as "?") after replacing ``old`` by ``new``."""
    return lambda content: content.replace(old, new, 1).encode("latin-1", errors="replace")


@dataclass
class Case:
    """One bad input: edits of the book's files, the command, and where the sentence must point."""

    id: str
    edits: dict[str, Edit] = field(default_factory=dict)
    where: tuple | None = None
    """(file, line, field): line an int (-1: the file's last line), or a text whose first line in the edited
    file is meant; field the key, or "re:" and a pattern of it; None where there is none"""
    words: str = ""
    """a part of the sentence"""
    args: Callable[["Book"], list] | None = None
    """the command line (default: load the whole book)"""


@dataclass
class Book:
    folder: Path
    db: str
    tmp: Path

    def load(self) -> list:
        return ["load", "--rules", self.folder / "rules", "--contracts", self.folder / CONTRACTS,
                "--data", self.folder / "data", "--db", self.db]

    def evaluate(self, *extra) -> list:
        return ["evaluate", "--rules", self.folder / "rules", "--contracts", self.folder / CONTRACTS,
                "--data", self.folder / "data", *extra]

    def a_file(self) -> Path:
        path = self.tmp / "a-file"
        path.write_text("not a folder")
        return path


BOMB = "\n".join(['a0: &a0 ["lol","lol","lol"]'] + [f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]"
                                                      for n in range(1, 10)]) + "\n"

CASES = [
    # --- a rule set (rules/standard-hosting-2026.1.yaml) -------------------------------------------------
    Case("rule-unknown-key", {RULES: sub('target: "99.9"', 'targt: "99.9"')},
         (RULES, "targt", "objectives[0].targt"), "unknown key 'targt' (did you mean target?)"),
    Case("rule-negative-duration", {RULES: sub("min_notice: 5d", "min_notice: -5d")},
         (RULES, "min_notice: -5d", "objectives[0].exclusions.maintenance.min_notice"), "cannot be negative"),
    Case("rule-duration-too-long", {RULES: sub("min_notice: 5d", "min_notice: 99999d")},
         (RULES, "99999d", "objectives[0].exclusions.maintenance.min_notice"), "at most 3660d"),
    Case("rule-duration-words", {RULES: sub("unit: 1m", "unit: 5 minutes")},
         (RULES, "5 minutes", "objectives[0].downtime.unit"), "written like 90s"),
    Case("rule-tier-without-bound", {RULES: sub('{below: "95.0", credit: "100%"}', '{credit: "100%"}')},
         (RULES, '{credit: "100%"}', "objectives[0].credit.tiers[2]"), "a tier needs at least one bound"),
    Case("rule-duplicate-key", {RULES: sub("rounding: half_up", "rounding: half_up\nrounding: down")},
         (RULES, "rounding: down", "rounding"), "appears twice"),
    Case("rule-february-30", {RULES: sub("effective_from: 2026-01-01", "effective_from: 2026-02-30")},
         (RULES, "effective_from", "effective_from"), "'2026-02-30' is not a date that exists"),
    Case("rule-until-before-from", {RULES: sub("effective_until: 2026-12-31", "effective_until: 2025-12-31")},
         (RULES, "effective_until", "effective_until"), "effective_until is before effective_from"),
    Case("rule-cap-inf", {RULES: sub('cap: "50%"', "cap: .inf")}, (RULES, "cap:", "cap"), "'.inf' is not a finite number"),
    Case("rule-target-nan", {RULES: sub('target: "99.9"', "target: .nan")},
         (RULES, "target: .nan", "objectives[0].target"), "'.nan' is not a finite number"),
    Case("rule-target-above-100", {RULES: sub('target: "99.9"', 'target: "100.5"')},
         (RULES, "100.5", "objectives[0].target"), "between 0 and 100"),
    Case("rule-cap-too-large", {RULES: sub('cap: "50%"', 'cap: "2000000%"')}, (RULES, "cap:", "cap"),
         "must be less than 1000000"),
    Case("rule-tag-on-mapping", {RULES: sub("late_payment:\n", "late_payment: !!python/object/apply:os.system\n")},
         (RULES, "late_payment:", "late_payment"), "YAML tags such as !!python/object/apply:os.system"),
    Case("rule-tag-on-list", {RULES: sub("causes: [customer", "causes: !!python/tuple [customer")},
         (RULES, "causes:", "objectives[0].exclusions.causes"), "YAML tags such as !!python/tuple"),
    Case("rule-tag-on-scalar", {RULES: sub("regime: fr", "regime: !!str fr")},
         (RULES, "regime:", "late_payment.regime"), "YAML tags such as !!str"),
    Case("rule-local-tag", {RULES: sub("settlement: credit_note", "settlement: !note credit_note")},
         (RULES, "settlement:", "settlement"), "YAML tags such as !note"),
    Case("rule-alias-bomb", {RULES: sub("description: Managed hosting, 99.9 % monthly availability",
                                        "description: hosting\n" + BOMB)},
         (RULES, None, None), "the aliases expand the file to more than 10 times its size"),  # where: test_yamlsource
    Case("rule-alias-inside-itself", {RULES: sub("description: Managed hosting, 99.9 % monthly availability",
                                                 "description: &d [1, *d]")},
         (RULES, "description:", "description[1]"), "stands inside what it names"),
    Case("rule-nested-too-deep", {RULES: sub("description: Managed hosting, 99.9 % monthly availability",
                                             "description: " + "[" * 40 + "]" * 40)},
         (RULES, "description:", "description" + "[0]" * 31), "nest more than 32 deep"),
    Case("rule-merge-key", {RULES: sub("  - id: availability\n", "  - <<: {id: x}\n    id: availability\n")},
         (RULES, "<<:", None), "merge keys (<<) are not supported"),
    Case("rule-rounding-unknown", {RULES: sub("rounding: half_up", "rounding: nearest")},
         (RULES, "rounding:", "rounding"), "'nearest' is not one of"),
    Case("rule-metric-unknown", {RULES: sub("metric: availability", "metric: uptime")},
         (RULES, "metric: uptime", "objectives[0].metric"), "'uptime' is not one of"),
    Case("rule-count-unknown", {RULES: sub("count: exact", "count: partial")},
         (RULES, "count: partial", "objectives[0].downtime.count"), "'partial' is not one of"),
    Case("rule-per-breach-word", {RULES: sub('per_breach: "50.00"', 'per_breach: "fifty"')},
         (RULES, "per_breach", "objectives[1].credit.per_breach"), "an amount must be a number"),
    Case("rule-per-breach-too-large", {RULES: sub('per_breach: "50.00"', "per_breach: 1e20")},
         (RULES, "per_breach", "objectives[1].credit.per_breach"), "at most 15 digits"),
    Case("rule-credit-words", {RULES: sub('credit: "10%"', 'credit: "10 percent"')},
         (RULES, "10 percent", "objectives[0].credit.tiers[0].credit"), "a credit is a percentage such as \"10%\" or days of the fee"),
    Case("rule-version-with-space", {RULES: sub('version: "2026.1"', 'version: "2026 1"')},
         (RULES, "version:", "version"), "a version is a short text without spaces"),
    Case("rule-id-uppercase", {RULES: sub("ruleset: standard-hosting", "ruleset: Standard-Hosting")},
         (RULES, "ruleset:", "ruleset"), "a rule-set id uses lowercase letters"),
    Case("rule-objective-twice", {RULES: sub("  - id: p1-response", "  - id: availability  # twice")},
         (RULES, "availability  # twice", "objectives[1].id"), "is used twice"),
    Case("rule-unknown-clock", {RULES: sub("clock: business", "clock: office")},
         (RULES, "clock: office", "objectives[1].clock"), "no calendar 'office' is defined"),
    Case("rule-unknown-zone", {RULES: sub("timezone: Europe/Paris", "timezone: Mars/Olympus")},
         (RULES, "timezone:", "calendars.business.timezone"), "not an IANA time zone"),
    Case("rule-unknown-holidays", {RULES: sub("holidays: FR", "holidays: XX")},
         (RULES, "holidays:", "calendars.business.holidays"), "no public-holiday calendar is known for 'XX'"),
    Case("rule-hours-backwards", {RULES: sub('fri: "09:00-17:00"', 'fri: "17:00-09:00"')},
         (RULES, "hours:", "calendars.business.hours.fri"), "ends before it starts"),
    Case("rule-annual-rate-for-fr", {RULES: sub("regime: fr", 'regime: fr\n  annual_rate: "12"')},
         (RULES, "annual_rate", "late_payment.annual_rate"), "annual_rate is only for the contractual regime"),
    Case("rule-day-count-unknown", {RULES: sub("regime: fr", "regime: fr\n  day_count: 30_365")},
         (RULES, "day_count", "late_payment.day_count"), "'30_365' is not one of"),
    Case("rule-grace-negative", {RULES: sub("regime: fr", "regime: fr\n  grace_days: -1")},
         (RULES, "grace_days", "late_payment.grace_days"), "greater than or equal to 0"),
    Case("rule-grace-words", {RULES: sub("regime: fr", "regime: fr\n  grace_days: 10 days")},
         (RULES, "grace_days", "late_payment.grace_days"), "valid integer"),
    Case("rule-tiers-empty", {RULES: lambda c: re.sub(r"      tiers:\n(        - .*\n)+", "      tiers: []\n", c, count=1)},
         (RULES, "tiers: []", "objectives[0].credit.tiers"), "tiers cannot be empty"),
    Case("rule-not-utf8", {RULES: latin1("description: Managed hosting", "description: Hébergement")},
         (RULES, "description:", None), "the file is not UTF-8 (byte 0xe9"),
    Case("rule-two-documents", {RULES: lambda c: c + "---\nruleset: other\n"}, (RULES, "---", None),
         "exactly one YAML document"),
    Case("rule-malformed", {RULES: sub("causes: [customer, force_majeure]", "causes: [customer, force_majeure")},
         (RULES, None, None), "malformed YAML"),
    Case("rule-empty", {RULES: whole("# nothing here\n")}, (RULES, None, None), "exactly one YAML document"),
    Case("rule-a-list", {RULES: whole("- ruleset: x\n")}, (RULES, 1, None), "a rule set is a mapping"),
    Case("rule-control-character", {RULES: sub("description: Managed", "description: Man\x07aged")},
         (RULES, "description:", None), "malformed YAML"),
    Case("rule-interval-uneven", {RULES: sub("  - id: availability", "  - id: errors\n    service: storage\n"
                                             "    metric: error_rate\n    error_rate: {interval: 7m}\n"
                                             "    credit: {tiers: [{below: '99', credit: 5%}]}\n"
                                             "  - id: availability")},
         (RULES, "error_rate: {interval: 7m}", "objectives[0].error_rate.interval"), "interval must divide a day"),
    Case("rule-changed-under-its-version", {RULES: sub("description: Managed hosting", "description: Changed hosting")},
         (RULES, "version:", "version"), "version 2026.1 of standard-hosting is already stored with other content"),
    Case("rule-two-versions-same-day", {"rules/standard-hosting-2026.2.yaml": lambda c: (
        (ROOT / RULES).read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "2026.2"')
        .replace("effective_from: 2026-01-01", "effective_from: 2026-06-01"))},
         ("rules/standard-hosting-2026.2.yaml", "effective_from", "effective_from"), "both apply on 2026-06-01"),
    # --- a rate table -----------------------------------------------------------------------------------------
    Case("rates-out-of-order", {ECB: sub('  - {from: 2025-06-11, rate: "2.15"}',
                                         '  - {from: 2025-06-11, rate: "2.15"}\n  - {from: 2025-01-01, rate: "2.00"}')},
         (ECB, "2025-01-01", r"re:values\[\d+\]\.from"), "values must be in date order"),
    Case("rates-confirmed-too-early", {ECB: sub("confirmed_until: 2026-06-30", "confirmed_until: 2025-01-01")},
         (ECB, "confirmed_until", "confirmed_until"), "confirmed_until is before the table's last value"),
    Case("rates-misnamed", {ECB: sub("rate_table: ecb-mro", "rate_table: ecb")},
         (ECB, "rate_table", "rate_table"), "the table is named 'ecb' but its file is ecb-mro.yaml"),
    Case("rates-rate-word", {ECB: sub('rate: "2.15"', 'rate: "two"')},
         (ECB, "two", r"re:values\[\d+\]\.rate"), "a percentage must be a number"),
    # --- the contracts ----------------------------------------------------------------------------------------
    Case("contract-unknown-currency", {CONTRACTS: sub("currency: EUR", "currency: EUX")},
         (CONTRACTS, "currency: EUX", "contracts[0].currency"), "'EUX' is not an ISO 4217"),
    Case("contract-february-30", {CONTRACTS: sub("start: 2024-03-01", "start: 2024-02-30")},
         (CONTRACTS, "start: 2024-02-30", "contracts[0].start"), "'2024-02-30' is not a date that exists"),
    Case("contract-end-before-start", {CONTRACTS: sub("start: 2024-03-01", "start: 2024-03-01\n    end: 2024-01-01")},
         (CONTRACTS, "end: 2024-01-01", "contracts[0].end"), "the end is before the start"),
    Case("contract-vat-120", {CONTRACTS: sub('vat_rate: "20"', 'vat_rate: "120"')},
         (CONTRACTS, 'vat_rate: "120"', "contracts[0].vat_rate"), "between 0 and 100"),
    Case("contract-fee-10e27", {CONTRACTS: sub('monthly_fee: "1245.75"', 'monthly_fee: "1000000000000000000000000000"')},
         (CONTRACTS, "1000000000000000000000000000", "contracts[0].services[0].monthly_fee"), "at most 15 digits"),
    Case("contract-fee-1e400", {CONTRACTS: sub('monthly_fee: "1245.75"', "monthly_fee: 1.0e400")},
         (CONTRACTS, "1.0e400", "contracts[0].services[0].monthly_fee"), "at most 15 digits"),
    Case("contract-fee-inf", {CONTRACTS: sub('monthly_fee: "1245.75"', "monthly_fee: .inf")},
         (CONTRACTS, "monthly_fee: .inf", "contracts[0].services[0].monthly_fee"), "'.inf' is not a finite number"),
    Case("contract-fee-three-decimals", {CONTRACTS: sub('monthly_fee: "1245.75"', 'monthly_fee: "1245.755"')},
         (CONTRACTS, "1245.755", "contracts[0].services[0].monthly_fee"), "EUR has 2 decimals"),
    Case("contract-fee-negative", {CONTRACTS: sub('monthly_fee: "1245.75"', 'monthly_fee: "-1"')},
         (CONTRACTS, 'monthly_fee: "-1"', "contracts[0].services[0].monthly_fee"), "a fee cannot be negative"),
    Case("contract-unknown-locale", {CONTRACTS: sub("locale: fr_FR", "locale: xx_XX")},
         (CONTRACTS, "xx_XX", "contracts[0].customer.locale"), "'xx_XX' is not a locale"),
    Case("contract-unknown-zone", {CONTRACTS: sub("timezone: Europe/Paris", "timezone: Europe/Pariss")},
         (CONTRACTS, "Pariss", "contracts[0].timezone"), "not an IANA time zone"),
    Case("contract-id-twice", {CONTRACTS: sub("  - id: C-1002", "  - id: C-1001")},
         (CONTRACTS, "  - id: C-1001\n    customer:\n      id: ATELIER", "contracts[1].id"), "is used twice"),
    Case("contract-service-twice", {CONTRACTS: sub('{id: storage, monthly_fee: "310.00"}',
                                                   '{id: compute, monthly_fee: "310.00"}')},
         (CONTRACTS, '{id: compute, monthly_fee: "310.00"}', "contracts[0].services[1].id"), "is listed twice"),
    Case("contract-id-with-space", {CONTRACTS: sub("  - id: C-1001", "  - id: C 1001")},
         (CONTRACTS, "C 1001", "contracts[0].id"), "a contract id uses letters"),
    Case("contract-unknown-key", {CONTRACTS: sub("    customer:\n      id: LEFEVRE", "    custmer:\n      id: LEFEVRE")},
         (CONTRACTS, "custmer", "contracts[0].custmer"), "unknown key 'custmer' (did you mean customer?)"),
    Case("contract-prefix-lowercase", {CONTRACTS: sub("credit_note_prefix: AV", "credit_note_prefix: av")},
         (CONTRACTS, "credit_note_prefix", "issuer.credit_note_prefix"), "a number prefix is 1 to 8 capital letters"),
    Case("contract-no-services", {CONTRACTS: sub("  - id: C-1002", "  - id: C-1003\n    customer: {id: X, name: X, "
                                                 "locale: fr_FR, country: FR}\n    currency: EUR\n    timezone: UTC\n"
                                                 "    ruleset: standard-hosting\n    start: 2026-01-01\n"
                                                 "    vat_rate: 20\n    services: []\n  - id: C-1002")},
         (CONTRACTS, "services: []", "contracts[1].services"), "a contract needs at least one service"),
    Case("contract-tag", {CONTRACTS: sub("    customer:\n      id: LEFEVRE", "    customer: !!python/name:os.system\n"
                                                                            "      id: LEFEVRE")},
         (CONTRACTS, "!!python/name", "contracts[0].customer"), "YAML tags such as !!python/name:os.system"),
    Case("contract-not-a-list", {CONTRACTS: lambda c: c.split("contracts:")[0] + "contracts: C-1001\n"},
         (CONTRACTS, "contracts: C-1001", "contracts"), "tuple"),
    Case("contract-not-utf8", {CONTRACTS: latin1("name: Boulangeries Lefèvre", "name: Boulangeries Lefèvre")},
         (CONTRACTS, "Boulangeries Lef", None), "the file is not UTF-8 (byte 0xe8"),
    Case("contract-alias-bomb", {CONTRACTS: lambda c: c + "\n" + BOMB.replace("a", "x")},
         (CONTRACTS, None, None), "the aliases expand the file"),
    Case("contract-top-level-list", {CONTRACTS: whole("- id: C-1\n")}, (CONTRACTS, 1, None),
         "the contracts file is a mapping with issuer and contracts"),
    Case("contract-file-missing", args=lambda b: ["load", "--contracts", b.folder / "nowhere.yaml", "--db", b.db],
         where=("nowhere.yaml", None, None), words="the file does not exist"),
    # --- incidents.csv ---------------------------------------------------------------------------------------
    Case("incident-no-offset", {INCIDENTS: add_row("C-1001,compute,2026-10-11T10:00:00,2026-10-11T11:00:00Z,,")},
         (INCIDENTS, 29, "start"), "has no offset"),
    Case("incident-end-before-start", {INCIDENTS: add_row("C-1001,compute,2026-10-11T10:00:00Z,2026-10-11T09:00:00Z,,")},
         (INCIDENTS, 29, "end"), "is not after the start"),
    Case("incident-nul-in-timestamp", {INCIDENTS: add_row("C-1001,compute,2026-10-11\x0010:00:00Z,2026-10-11T11:00:00Z,,")},
         (INCIDENTS, 29, "start"), "not printable ASCII"),
    Case("incident-letter-separator", {INCIDENTS: add_row("C-1001,compute,2026-10-11X10:00:00Z,2026-10-11T11:00:00Z,,")},
         (INCIDENTS, 29, "start"), "write T between date and time"),
    Case("incident-year-one", {INCIDENTS: add_row("C-1001,compute,0001-01-01T00:00:00+01:00,2026-10-11T11:00:00Z,,")},
         (INCIDENTS, 29, "start"), "is out of range"),
    Case("incident-month-13", {INCIDENTS: add_row("C-1001,compute,2026-13-01T00:00:00Z,2026-10-11T11:00:00Z,,")},
         (INCIDENTS, 29, "start"), "is not an ISO 8601 timestamp"),
    Case("incident-unknown-cause", {INCIDENTS: add_row("C-1001,compute,2026-10-11T10:00:00Z,2026-10-11T11:00:00Z,power,")},
         (INCIDENTS, 29, "cause"), "'power' is not a cause"),
    Case("incident-announced-outage", {INCIDENTS: add_row(
        "C-1001,compute,2026-10-11T10:00:00Z,2026-10-11T11:00:00Z,outage,2026-10-01T10:00:00Z")},
         (INCIDENTS, 29, "announced_at"), "only maintenance is announced"),
    Case("incident-unknown-contract", {INCIDENTS: add_row("C-9999,compute,2026-10-11T10:00:00Z,2026-10-11T11:00:00Z,,")},
         (INCIDENTS, 29, "contract"), "no contract 'C-9999'"),
    Case("incident-key-twice-with-other-content", {INCIDENTS: add_row(
        "C-1002,compute,2026-10-14T03:17:42+02:00,2026-10-14T04:02:10+02:00,outage,")},
         (INCIDENTS, 29, "start"), "an incident of C-1002 compute with this start is already listed on line 11 with "
                                   "other content"),
    Case("incident-id-twice-with-other-content", {INCIDENTS: lambda c: "contract,service,start,end,cause,announced_at,id\n"
                                                  "C-1001,compute,2026-10-11T10:00:00Z,2026-10-11T11:00:00Z,,,I-1\n"
                                                  "C-1001,compute,2026-10-12T10:00:00Z,2026-10-12T11:00:00Z,,,I-1\n"},
         (INCIDENTS, 3, "id"), "with the id I-1 is already listed on line 2 with other content"),
    Case("incident-unknown-service", {INCIDENTS: add_row("C-1001,backup,2026-10-11T10:00:00Z,2026-10-11T11:00:00Z,,")},
         (INCIDENTS, 29, "service"), "contract C-1001 has no service 'backup'"),
    Case("incident-misspelt-column", {INCIDENTS: sub("cause,announced_at", "cause,anounced_at")},
         (INCIDENTS, 1, "anounced_at"), "unknown column 'anounced_at' (did you mean announced_at?)"),
    Case("incident-missing-column", {INCIDENTS: whole("contract,service,start\n")},
         (INCIDENTS, 1, "end"), "the header lacks the column 'end'"),
    Case("incident-too-many-columns", {INCIDENTS: add_row("C-1001,compute,2026-10-11T10:00:00Z,2026-10-11T11:00:00Z,,,x")},
         (INCIDENTS, 29, None), "the row has 7 columns but the header has 6"),
    Case("incident-not-utf8", {INCIDENTS: lambda c: (c + "C-1001,compute,2026-10-11T10:00:00Z,2026-10-11T11:00:00Z,"
                                                     "panne électrique,\n").encode("latin-1")},
         (INCIDENTS, 29, "cause"), "the file is not UTF-8 (byte 0xe9"),
    Case("incident-unclosed-quote", {INCIDENTS: add_row('C-1001,compute,"2026-10-11T10:00:00Z,2026-10-11T11:00:00Z,,')},
         (INCIDENTS, None, None), "columns but the header has 6"),
    # --- requests.csv -----------------------------------------------------------------------------------------
    Case("request-fraction", {REQUESTS: add_row("C-4001,storage,2026-10-20T00:00:00Z,12.5,0")},
         (REQUESTS, "12.5", "requests"), "'12.5' is not a whole number"),
    Case("request-2-to-the-63", {REQUESTS: add_row("C-4001,storage,2026-10-20T00:00:00Z,9223372036854775808,0")},
         (REQUESTS, "9223372036854775808", "requests"), "more than a row can count"),
    Case("request-10-to-the-25", {REQUESTS: add_row("C-4001,storage,2026-10-20T00:00:00Z,10000000000000000000000000,0")},
         (REQUESTS, "10000000000000000000000000", "requests"), "more than a row can count"),
    Case("request-errors-above-requests", {REQUESTS: add_row("C-4001,storage,2026-10-20T00:00:00Z,10,11")},
         (REQUESTS, "2026-10-20T00:00:00Z,10,11", "errors"), "11 errors out of 10 requests"),
    Case("request-negative-errors", {REQUESTS: add_row("C-4001,storage,2026-10-20T00:00:00Z,10,-1")},
         (REQUESTS, "10,-1", "errors"), "'-1' is not a whole number"),
    Case("request-arabic-digits", {REQUESTS: add_row("C-4001,storage,2026-10-20T00:00:00Z,\u0661\u0662,0")},
         (REQUESTS, "2026-10-20T00:00:00Z,\u0661", "requests"), "is not a whole number"),
    Case("request-superscript", {REQUESTS: add_row("C-4001,storage,2026-10-20T00:00:00Z,\u00b2,0")},
         (REQUESTS, "2026-10-20T00:00:00Z,\u00b2", "requests"), "is not a whole number"),
    Case("request-repeated-interval", {REQUESTS: lambda c: c + c.splitlines()[1] + "\n"},
         (REQUESTS, -1, "interval_start"), "this interval is already counted on line 2"),
    Case("request-bad-interval", {REQUESTS: add_row("C-4001,storage,yesterday,10,0")},
         (REQUESTS, "yesterday", "interval_start"), "'yesterday' is not an ISO 8601 timestamp"),
    # (an interval stored with other counts is a correction since issue 17, not bad input)
    # --- tickets.csv and ticket_pauses.csv ------------------------------------------------------------------
    Case("ticket-answered-before-created", {TICKETS: add_row("C-1001,T-900,P1,2026-10-07T08:00:00Z,2026-10-07T07:00:00Z,")},
         (TICKETS, "T-900", "first_response"), "ticket T-900 is answered before it was created"),
    Case("ticket-resolved-before-created", {TICKETS: add_row("C-1001,T-900,P1,2026-10-07T08:00:00Z,,2026-10-07T07:59:59Z")},
         (TICKETS, "T-900", "resolved"), "ticket T-900 is resolved before it was created"),
    Case("ticket-twice", {TICKETS: add_row("C-1001,T-100,P1,2026-10-07T08:00:00Z,,")},
         (TICKETS, "T-100,P1,2026-10-07", "ticket"), "ticket T-100 is already listed on line 2"),
    Case("ticket-without-id", {TICKETS: add_row("C-1001,,P1,2026-10-07T08:00:00Z,,")},
         (TICKETS, "C-1001,,P1", "ticket"), "a ticket needs an id"),
    Case("ticket-created-without-offset", {TICKETS: add_row("C-1001,T-900,P1,2026-10-07T08:00:00,,")},
         (TICKETS, "T-900", "created"), "has no offset"),
    Case("ticket-unknown-contract", {TICKETS: add_row("C-9999,T-900,P1,2026-10-07T08:00:00Z,,")},
         (TICKETS, "T-900", "contract"), "no contract 'C-9999'"),
    Case("ticket-stored-with-other-priority", {TICKETS: sub("C-1001,T-100,P1,", "C-1001,T-100,P2,")},
         (TICKETS, 2, "priority"), "ticket T-100 is already stored with another priority"),
    Case("pause-unknown-ticket", {PAUSES: add_row("T-999,2026-10-12T11:10:00Z,2026-10-12T12:10:00Z")},
         (PAUSES, "T-999", "ticket"), "no ticket 'T-999' is known"),
    Case("pause-before-created", {PAUSES: add_row("T-104,2026-09-01T11:10:00Z,2026-10-12T09:30:00Z")},
         (PAUSES, "2026-09-01", "start"), "the pause starts before ticket T-104 was created"),
    Case("pause-end-before-start", {PAUSES: add_row("T-104,2026-10-12T12:10:00Z,2026-10-12T11:10:00Z")},
         (PAUSES, "T-104,2026-10-12T12:10:00Z", "end"), "the pause ends before it starts"),
    Case("pause-end-without-offset", {PAUSES: add_row("T-104,2026-10-12T11:10:00Z,2026-10-12T12:10:00")},
         (PAUSES, "2026-10-12T12:10:00\n", "end"), "has no offset"),
    # --- invoices.csv and payments.csv ------------------------------------------------------------------------
    Case("invoice-currency", {INVOICES: add_row("C-1001,F-9,2026-10-01,2026-10-31,10.00,2.00,12.00,USD")},
         (INVOICES, "F-9,", "currency"), "invoice F-9 is in 'USD' but contract C-1001 is in EUR"),
    Case("invoice-due-before-issued", {INVOICES: add_row("C-1001,F-9,2026-10-01,2026-09-30,10.00,2.00,12.00,EUR")},
         (INVOICES, "F-9,", "due"), "the due date 2026-09-30 is before the issue date 2026-10-01"),
    Case("invoice-sum", {INVOICES: add_row("C-1001,F-9,2026-10-01,2026-10-31,10.00,2.00,12.01,EUR")},
         (INVOICES, "F-9,", "gross"), "net 10.00 plus tax 2.00 is 12.00, not 12.01"),
    Case("invoice-zero", {INVOICES: add_row("C-1001,F-9,2026-10-01,2026-10-31,0.00,0.00,0.00,EUR")},
         (INVOICES, "F-9,", "gross"), "must be more than zero"),
    Case("invoice-three-decimals", {INVOICES: add_row("C-1001,F-9,2026-10-01,2026-10-31,10.001,2.00,12.001,EUR")},
         (INVOICES, "F-9,", "net"), "10.001 has more decimals than EUR has (2)"),
    Case("invoice-too-large", {INVOICES: add_row(
        "C-1001,F-9,2026-10-01,2026-10-31,10000000000000000.00,0.00,10000000000000000.00,EUR")},
         (INVOICES, "F-9,", "net"), "too large an amount"),
    Case("invoice-twice", {INVOICES: add_row("C-1001,F-2026-0910,2026-10-01,2026-10-31,10.00,2.00,12.00,EUR")},
         (INVOICES, "F-2026-0910,2026-10-01", "number"), "invoice F-2026-0910 is already listed on line 2"),
    Case("invoice-february-30", {INVOICES: add_row("C-1001,F-9,2026-02-30,2026-10-31,10.00,2.00,12.00,EUR")},
         (INVOICES, "F-9,", "issued"), "'2026-02-30' is not a date written YYYY-MM-DD"),
    Case("invoice-unknown-contract", {INVOICES: add_row("C-9999,F-9,2026-10-01,2026-10-31,10.00,2.00,12.00,EUR")},
         (INVOICES, "F-9,", "contract"), "no contract 'C-9999'"),
    Case("invoice-without-number", {INVOICES: add_row("C-1001,,2026-10-01,2026-10-31,10.00,2.00,12.00,EUR")},
         (INVOICES, "C-1001,,", "number"), "an invoice needs a number"),
    Case("invoice-stored-with-other-terms", {INVOICES: sub("2026-09-01,2026-10-01,1555.75", "2026-09-01,2026-10-15,1555.75")},
         (INVOICES, 2, "number"), "invoice F-2026-0910 is already stored with other terms"),
    Case("payment-unknown-invoice", {PAYMENTS: add_row("F-404,2026-10-02,10.00")},
         (PAYMENTS, "F-404", "invoice"), "no invoice 'F-404' is known"),
    Case("payment-zero", {PAYMENTS: add_row("F-2026-1001,2026-10-02,0.00")},
         (PAYMENTS, "F-2026-1001,2026-10-02", "amount"), "a payment must be more than zero"),
    Case("payment-twice", {PAYMENTS: add_row("F-2026-0910,2026-09-28,1866.90")},
         (PAYMENTS, -1, "amount"), "the same payment is already listed on line 2"),
    Case("payment-bad-date", {PAYMENTS: add_row("F-2026-1001,02/10/2026,10.00")},
         (PAYMENTS, "02/10/2026", "paid_on"), "'02/10/2026' is not a date written YYYY-MM-DD"),
    Case("payment-words", {PAYMENTS: add_row("F-2026-1001,2026-10-02,ten")},
         (PAYMENTS, ",ten", "amount"), "'ten' is not an exact amount"),
    Case("data-folder-missing", args=lambda b: ["load", "--contracts", b.folder / CONTRACTS, "--data",
                                                b.folder / "nowhere", "--db", b.db],
         where=("nowhere", None, None), words="the data folder does not exist"),
    # --- evaluate: the same files, never a store -----------------------------------------------------------
    Case("evaluate-bad-period", args=lambda b: b.evaluate("--period", "2026-13"), where=(None, None, "--period"),
         words="the period must be a month written YYYY-MM, not '2026-13'"),
    Case("evaluate-year-9999", args=lambda b: b.evaluate("--period", "9999-12"), where=(None, None, "--period"),
         words="the period's year must be from 1900 to 9998"),
    Case("evaluate-workers-0", args=lambda b: b.evaluate("--period", "2026-10", "--workers", "0"),
         where=(None, None, "--workers"), words="--workers takes a whole number of at least 1, not '0'"),
    Case("evaluate-format", args=lambda b: b.evaluate("--period", "2026-10", "--format", "xml"),
         where=(None, None, "--format"), words="--format must be json or table, not 'xml'"),
    Case("evaluate-unknown-contract", args=lambda b: b.evaluate("--period", "2026-10", "--contract", "C-9999"),
         where=(None, None, "--contract"), words="no contract 'C-9999'"),
    Case("evaluate-tag-in-rules", {RULES: sub("regime: fr", "regime: !!str fr")},
         args=lambda b: b.evaluate("--period", "2026-10"), where=(RULES, "regime:", "late_payment.regime"),
         words="YAML tags such as !!str"),
    Case("evaluate-rules-missing", args=lambda b: ["evaluate", "--rules", b.folder / "nowhere", "--contracts",
                                                   b.folder / CONTRACTS, "--data", b.folder / "data",
                                                   "--period", "2026-10"],
         where=("nowhere", None, None), words="no such file or folder"),
    Case("rules-check-missing", args=lambda b: ["rules", "check", b.folder / "nowhere.yaml"],
         where=("nowhere.yaml", None, None), words="no such file or folder"),
    Case("rules-check-bomb", {RULES: sub("description: Managed hosting, 99.9 % monthly availability",
                                         "description: hosting\n" + BOMB)},
         args=lambda b: ["rules", "check", b.folder / RULES], where=(RULES, None, None),
         words="the aliases expand the file"),
    # --- run ------------------------------------------------------------------------------------------------
    Case("run-month-13", args=lambda b: ["run", "--period", "2026-13", "--db", b.db], where=(None, None, "--period"),
         words="the period must be a month written YYYY-MM"),
    Case("run-year-9999", args=lambda b: ["run", "--period", "9999-12", "--db", b.db], where=(None, None, "--period"),
         words="the period's year must be from 1900 to 9998"),
    Case("run-period-missing", args=lambda b: ["run", "--db", b.db], where=(None, None, "--period"),
         words="--period is required"),
    Case("run-period-without-value", args=lambda b: ["run", "--db", b.db, "--period"], where=(None, None, "--period"),
         words="--period needs a value"),
    Case("run-workers-0", args=lambda b: ["run", "--period", "2026-10", "--workers", "0", "--db", b.db],
         where=(None, None, "--workers"), words="--workers takes a whole number of at least 1, not '0'"),
    Case("run-workers-words", args=lambda b: ["run", "--period", "2026-10", "--workers", "two", "--db", b.db],
         where=(None, None, "--workers"), words="not 'two'"),
    Case("run-as-of-february-30", args=lambda b: ["run", "--period", "2026-10", "--as-of", "2026-02-30", "--db", b.db],
         where=(None, None, "--as-of"), words="'2026-02-30' is not a date written YYYY-MM-DD"),
    Case("run-unknown-contract", args=lambda b: ["run", "--period", "2026-10", "--contract", "C-9999", "--db", b.db],
         where=(None, None, "--contract"), words="no contract 'C-9999' is stored"),
    Case("run-inactive-contract", args=lambda b: ["run", "--period", "2026-10", "--contract", "C-1004", "--db", b.db],
         where=(None, None, "--contract"), words="contract C-1004 is not active in 2026-10 (it runs from 2024-02-01 "
                                                 "to 2026-09-30)"),
    Case("run-dry-run-with-out", args=lambda b: ["run", "--period", "2026-10", "--dry-run", "--out", b.tmp / "o",
                                                 "--db", b.db],
         where=(None, None, "--out"), words="a dry run writes nothing"),
    Case("run-out-is-a-file", args=lambda b: ["run", "--period", "2026-11", "--as-of", "2026-12-02", "--out",
                                              b.a_file(), "--db", b.db],
         where=(None, None, "--out"), words="is a file, not a folder to write into"),
    Case("run-out-under-a-file", args=lambda b: ["run", "--period", "2026-11", "--as-of", "2026-12-02", "--out",
                                                 b.a_file() / "docs", "--db", b.db],
         where=(None, None, "--out"), words="cannot write into the folder"),
    Case("run-out-unwritable", args=lambda b: ["run", "--period", "2026-11", "--as-of", "2026-12-02", "--out",
                                               "/proc/self", "--db", b.db],
         where=(None, None, "--out"), words="cannot write into the folder /proc/self"),
    Case("run-format", args=lambda b: ["run", "--period", "2026-10", "--format", "csv", "--db", b.db],
         where=(None, None, "--format"), words="--format must be table or json, not 'csv'"),
    Case("run-unknown-option", args=lambda b: ["run", "--period", "2026-10", "--dryrun", "--db", b.db],
         where=(None, None, "--dryrun"), words="there is no option --dryrun (did you mean --dry-run?)"),
    Case("run-extra-argument", args=lambda b: ["run", "--period", "2026-10", "now", "--db", b.db],
         where=(None, None, None), words="got unexpected extra argument"),
    Case("run-missing-store", args=lambda b: ["run", "--period", "2026-10", "--db", f"sqlite:///{b.tmp / 'no.db'}"],
         where=(None, None, "--db"), words="there is no store at"),
    Case("run-bad-url", args=lambda b: ["run", "--period", "2026-10", "--db", "nosuchdb://x"],
         where=(None, None, "--db"), words="cannot open the database"),
    # --- report, notes, audit, replay, explain, runs, load, demo ------------------------------------------
    Case("report-out-is-a-file", args=lambda b: ["report", "--period", "2026-10", "--out", b.a_file(), "--db", b.db],
         where=(None, None, "--out"), words="is a file, not a folder to write into"),
    Case("report-nothing-recorded", args=lambda b: ["report", "--period", "2026-09", "--out", b.tmp / "o", "--db", b.db],
         where=(None, None, "--period"), words="no evaluation of any contract for 2026-09 is recorded"),
    Case("report-unknown-contract", args=lambda b: ["report", "--period", "2026-10", "--contract", "C-9999", "--out",
                                                    b.tmp / "o", "--db", b.db],
         where=(None, None, "--contract"), words="no evaluation of contract C-9999 for 2026-10"),
    Case("report-format", args=lambda b: ["report", "--period", "2026-10", "--format", "pdf", "--out", b.tmp / "o",
                                          "--db", b.db],
         where=(None, None, "--format"), words="--format must be html or txt, not 'pdf'"),
    Case("report-out-missing", args=lambda b: ["report", "--period", "2026-10", "--db", b.db],
         where=(None, None, "--out"), words="--out is required"),
    Case("notes-render-out-is-a-file", args=lambda b: ["notes", "render", "AV-2026-000001", "--out", b.a_file(),
                                                       "--db", b.db],
         where=(None, None, "--out"), words="is a file, not a folder to write into"),
    Case("notes-render-period-out-unwritable", args=lambda b: ["notes", "render", "--period", "2026-10", "--out",
                                                               "/proc/self", "--db", b.db],
         where=(None, None, "--out"), words="cannot write into the folder /proc/self"),
    Case("notes-render-number-and-period", args=lambda b: ["notes", "render", "AV-2026-000001", "--period", "2026-10",
                                                           "--out", b.tmp / "o", "--db", b.db],
         where=(None, None, "--period"), words="name a document NUMBER, or every document of a --period, not both"),
    Case("notes-render-neither", args=lambda b: ["notes", "render", "--out", b.tmp / "o", "--db", b.db],
         where=(None, None, "NUMBER"), words="name a document NUMBER"),
    Case("notes-render-contract-without-period", args=lambda b: ["notes", "render", "AV-2026-000001", "--contract",
                                                                 "C-1001", "--out", b.tmp / "o", "--db", b.db],
         where=(None, None, "--contract"), words="--contract narrows a --period"),
    Case("notes-render-locale", args=lambda b: ["notes", "render", "AV-2026-000001", "--locale", "xx_XX", "--out",
                                                b.tmp / "o", "--db", b.db],
         where=(None, None, "--locale"), words="'xx_XX' is not a locale"),
    Case("notes-render-format", args=lambda b: ["notes", "render", "--period", "2026-10", "--format", "docx", "--out",
                                                b.tmp / "o", "--db", b.db],
         where=(None, None, "--format"), words="--format must be html, txt, pdf or xml, not 'docx'"),
    Case("notes-render-xml-of-a-document-without-one", args=lambda b: [
        "notes", "render", "AV-2026-000001", "--format", "xml", "--locale", "de_DE", "--out", b.tmp / "o", "--db", b.db],
         where=(None, None, "--locale"), words="--locale applies to html and txt"),
    Case("notes-render-unknown-number", args=lambda b: ["notes", "render", "AV-2026-999999", "--out", b.tmp / "o",
                                                        "--db", b.db],
         where=(None, None, "NUMBER"), words="no document numbered 'AV-2026-999999'"),
    Case("notes-show-locale", args=lambda b: ["notes", "show", "AV-2026-000001", "--locale", "xx_XX", "--db", b.db],
         where=(None, None, "--locale"), words="'xx_XX' is not a locale"),
    Case("notes-show-unknown-number", args=lambda b: ["notes", "show", "AV-2026-999999", "--db", b.db],
         where=(None, None, "NUMBER"), words="no document numbered 'AV-2026-999999'"),
    Case("notes-list-format", args=lambda b: ["notes", "list", "--format", "xml", "--db", b.db],
         where=(None, None, "--format"), words="--format must be table, json or csv, not 'xml'"),
    Case("notes-list-period", args=lambda b: ["notes", "list", "--period", "26-10", "--db", b.db],
         where=(None, None, "--period"), words="the period must be a month written YYYY-MM"),
    Case("notes-unknown-command", args=lambda b: ["notes", "print", "AV-2026-000001"],
         where=(None, None, None), words="no such command 'print'"),
    Case("audit-export-out-is-a-folder", args=lambda b: ["audit", "export", "--out", b.tmp, "--db", b.db],
         where=(None, None, "--out"), words="is a folder; give the name of the file to write"),
    Case("audit-export-out-under-a-file", args=lambda b: ["audit", "export", "--out", b.a_file() / "audit.jsonl",
                                                          "--db", b.db],
         where=(None, None, "--out"), words="a-file is a file, not a folder to write into"),
    Case("audit-export-period", args=lambda b: ["audit", "export", "--out", b.tmp / "a.jsonl", "--period", "2026-00",
                                                "--db", b.db],
         where=(None, None, "--period"), words="the period must be a month written YYYY-MM"),
    Case("audit-verify-workers", args=lambda b: ["audit", "verify", "--workers", "0", "--db", b.db],
         where=(None, None, "--workers"), words="--workers takes a whole number of at least 1"),
    Case("replay-no-choice", args=lambda b: ["replay", "--db", b.db], where=(None, None, "EVALUATION_ID"),
         words="name an evaluation id, --run RUN_ID or --period YYYY-MM"),
    Case("replay-no-match", args=lambda b: ["replay", "--period", "2026-09", "--db", b.db],
         where=(None, None, "EVALUATION_ID"), words="no recorded evaluation matches"),
    Case("replay-id-words", args=lambda b: ["replay", "first", "--db", b.db], where=(None, None, "EVALUATION_ID"),
         words="EVALUATION_ID takes a whole number of at least 1, not 'first'"),
    Case("replay-id-zero", args=lambda b: ["replay", "0", "--db", b.db], where=(None, None, "EVALUATION_ID"),
         words="not '0'"),
    Case("replay-run-words", args=lambda b: ["replay", "--run", "last", "--db", b.db], where=(None, None, "--run"),
         words="--run takes a whole number"),
    Case("replay-current-rules-tag", {RULES: sub("regime: fr", "regime: !!str fr")},
         args=lambda b: ["replay", "--period", "2026-10", "--with-current-rules", "--rules", b.folder / "rules",
                         "--db", b.db],
         where=(RULES, "regime:", "late_payment.regime"), words="YAML tags such as !!str"),
    Case("explain-unknown-contract", args=lambda b: ["explain", "C-9999", "--period", "2026-10", "--db", b.db],
         where=(None, None, "CONTRACT"), words="no evaluation of contract C-9999 for 2026-10 is recorded"),
    Case("explain-locale", args=lambda b: ["explain", "C-1001", "--period", "2026-10", "--locale", "xx", "--db", b.db],
         where=(None, None, "--locale"), words="'xx' is not a locale"),
    Case("explain-no-contract", args=lambda b: ["explain", "--period", "2026-10", "--db", b.db],
         where=(None, None, "CONTRACT"), words="CONTRACT is required"),
    Case("runs-format", args=lambda b: ["runs", "--format", "yaml", "--db", b.db], where=(None, None, "--format"),
         words="--format must be table, json or csv, not 'yaml'"),
    Case("load-contracts-missing", args=lambda b: ["load", "--db", b.db], where=(None, None, "--contracts"),
         words="--contracts is required"),
    Case("demo-out-is-a-file", args=lambda b: ["demo", "--out", b.a_file()], where=(None, None, "--out"),
         words="is a file, not a folder to write into"),
    Case("demo-as-of", args=lambda b: ["demo", "--as-of", "tomorrow", "--out", b.tmp / "demo"],
         where=(None, None, "--as-of"), words="'tomorrow' is not a date written YYYY-MM-DD"),
    Case("deliver-bad-period", args=lambda b: ["deliver", "--period", "2026-13", "--smtp-url", "smtp://127.0.0.1:9",
                                               "--db", b.db],
         where=(None, None, "--period"), words="the period must be a month written YYYY-MM"),
    Case("deliver-status-and-resend", args=lambda b: ["deliver", "--status", "--resend", "AV-2026-000001", "--db", b.db],
         where=(None, None, "--resend"), words="--status sends nothing, so it takes no --resend"),
    Case("deliver-without-a-server", args=lambda b: ["deliver", "--smtp-url", "", "--db", b.db],
         where=(None, None, "--smtp-url"), words="no SMTP server to deliver through"),
    Case("run-deliver-dry-run", args=lambda b: ["run", "--period", "2026-10", "--dry-run", "--deliver", "--db", b.db],
         where=(None, None, "--deliver"), words="a dry run issues nothing, so it delivers nothing"),
    Case("unknown-command", args=lambda b: ["bill", "--period", "2026-10"], where=(None, None, None),
         words="no such command 'bill'"),
]


def test_the_catalogue_holds_at_least_a_hundred_cases():
    assert len(CASES) >= 100
    assert len({case.id for case in CASES}) == len(CASES)


# --- the store every case runs against ----------------------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded_store(request, tmp_path_factory):
    """A store with the shipped rules and fixtures loaded and October 2026 run."""
    tmp = tmp_path_factory.mktemp("catalogue")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'store.db'}"
        cleanup = None
    else:
        base = postgres_base_url()
        if not base:
            pytest.skip("set SLABILL_TEST_POSTGRES_URL to run the catalogue on PostgreSQL too")
        import psycopg

        schema = f"t_{uuid.uuid4().hex[:16]}"
        plain = base.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        url = f"{base}?options=-csearch_path%3D{schema}"

        def cleanup():
            with psycopg.connect(plain, autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")
    runner = CliRunner()
    for args in (["load", "--rules", ROOT / "rules", "--contracts", ROOT / "fixtures" / CONTRACTS,
                  "--data", ROOT / "fixtures" / "data", "--db", url],
                 ["run", "--period", "2026-10", "--as-of", "2026-11-02", "--db", url]):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
    yield url
    if cleanup is not None:
        cleanup()


def store_rows(url: str) -> dict[str, list[str]]:
    """Every row of every table, as text, in a stable order: the store's whole content."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            return {table: sorted(repr(tuple(row)) for row in connection.execute(text(f'SELECT * FROM "{table}"')))
                    for table in tables}
    finally:
        engine.dispose()


@pytest.fixture
def book(loaded_store, tmp_path):
    """A copy of the shipped rules and fixtures to spoil, and the store."""
    folder = tmp_path / "book"
    shutil.copytree(ROOT / "rules", folder / "rules")
    shutil.copy(ROOT / "fixtures" / CONTRACTS, folder / CONTRACTS)
    shutil.copytree(ROOT / "fixtures" / "data", folder / "data")
    return Book(folder, loaded_store, tmp_path)


def line_of(path: Path, line: "int | str | None") -> int | None:
    content = path.read_bytes().decode("utf-8", errors="replace")
    if line == -1:
        return content.rstrip("\n").count("\n") + 1
    if line is None or isinstance(line, int):
        return line
    position = content.find(line)
    assert position >= 0, f"{line!r} is not in {path}"
    return content.count("\n", 0, position) + 1


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_in_one_sentence_and_changes_nothing(book, case):
    for name, edit in case.edits.items():
        path = book.folder / name
        edited = edit(path.read_text(encoding="utf-8") if path.exists() else "")
        path.write_bytes(edited.encode("utf-8") if isinstance(edited, str) else edited)
    before = store_rows(book.db)

    result = CliRunner().invoke(app, [str(a) for a in (case.args(book) if case.args else book.load())])

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    message = result.stderr.rstrip("\n")
    assert "\n" not in message, message
    assert message.startswith("slabill: ") and message.endswith("."), message
    assert case.words in message, message
    file, line, key = case.where if case.where else (None, None, None)
    if file is not None:  # "<file>, line <n>, field <key>: ", each part where the case knows it
        path = book.folder / file
        pattern = re.escape(str(path))
        pattern += rf", line {line_of(path, line)}" if line is not None else r"(, line \d+)?"
        if key is not None:
            pattern += ", field " + (key[3:] if key.startswith("re:") else re.escape(key))
        else:
            pattern += r"(, field [^:]+)?"
        assert re.search(f"(^slabill: | ){pattern}: ", message), message
    elif key is not None:
        assert re.search(rf"(^slabill: |, )field {re.escape(key)}: ", message), message
    assert store_rows(book.db) == before
