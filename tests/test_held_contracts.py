"""One contract never blocks the book: it is held, named, and picked up later (INTERFACE.md 6.5, exit code 4).

The fixtures' November 2026 shows the case the issue found: C-1001's invoice F-2026-1001
(1,866.90 EUR, due 31 October) is unpaid, and its French late fee needs the ECB rate in
force on 1 July 2026, which the shipped table (confirmed until 30 June 2026) does not
hold yet.  The run issues the rest of the book, holds C-1001 with the reason, exits 4;
once the table is extended and loaded, a run of the period issues C-1001's fee with the
next number of its sequence.  Every test runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.conftest import ROOT


def slabill(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def numbers_of(db: str, prefix: str) -> list[int]:
    listed = json.loads(slabill("notes", "list", "--format", "json", "--db", db).stdout)["documents"]
    return sorted(int(d["number"].rsplit("-", 1)[1]) for d in listed if d["number"].startswith(prefix + "-"))


@pytest.fixture
def book(store_url):
    """The fixtures loaded, and October 2026 run: AV-2026-000001..4 and ADJ-2026-000001..4 issued."""
    loaded = slabill("load", "--rules", ROOT / "rules", "--contracts", ROOT / "fixtures" / "contracts.yaml",
                     "--data", ROOT / "fixtures" / "data", "--db", store_url)
    assert loaded.exit_code == 0, loaded.output
    october = slabill("run", "--period", "2026-10", "--as-of", "2026-11-02", "--db", store_url)
    assert october.exit_code == 0, october.output
    return store_url


def extended_rules(tmp_path):
    """The shipped rules with an ECB table confirmed through 2026: test data, not a published rate.

    The 2.15 % of 11 June 2025 is taken to hold through 31 December 2026, so that the fee
    below can be worked out by hand; what matters here is that the table now covers 1 July.
    """
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    table = (rules / "rates" / "ecb-mro.yaml").read_text(encoding="utf-8")
    (rules / "rates" / "ecb-mro.yaml").write_text(
        table.replace("confirmed_until: 2026-06-30", "confirmed_until: 2026-12-31"), encoding="utf-8")
    return rules


def test_a_contract_whose_rate_is_missing_is_held_and_issued_once_the_table_is_extended(book, tmp_path):
    db = book
    november = ["run", "--period", "2026-11", "--as-of", "2026-12-02", "--db", db]
    held = slabill(*november, "--format", "json")
    assert held.exit_code == 4, held.output
    summary = json.loads(held.stdout)
    assert summary["status"] == "held"
    assert summary["held"] == [{"contract": "C-1001", "reason": (
        "field rate table ecb-mro: no rate is known for 2026-07-01: the table is confirmed only until 2026-06-30; "
        "add the rate in force on that date to ecb-mro.yaml.")}]
    # The other seven contracts of November were evaluated and recorded, and what they owe
    # was issued on the next adjustment numbers after October's four: C-2001's late fee on
    # its October invoice BA-2026-0110 (2,750.00 x 12 % x 15 / 365 = 13.56, and USD 25.00),
    # and C-3001's UK late fee.
    assert (summary["contracts"], summary["recorded"]) == (8, 7)
    assert summary["numbers"] == ["ADJ-2026-000005", "ADJ-2026-000006"]
    # Each held contract is named on stderr, one sentence each, and nothing else is there.
    assert held.stderr.splitlines() == [
        "slabill: contract C-1001 held back: field rate table ecb-mro: no rate is known for 2026-07-01: the table "
        "is confirmed only until 2026-06-30; add the rate in force on that date to ecb-mro.yaml."]
    assert "Traceback" not in held.output

    # Running again before the fix holds it again and issues nothing twice.
    again = slabill(*november)
    assert again.exit_code == 4 and "C-1001 held back" in again.stderr
    assert re.search(r"│ held back \(not evaluated; named on stderr\) +│ +1 │", again.stdout), again.stdout
    runs = json.loads(slabill("runs", "--period", "2026-11", "--format", "json", "--db", db).stdout)["runs"]
    assert [(r["status"], r["held"]) for r in runs] == [("held", ["C-1001"]), ("held", ["C-1001"])]

    fix = slabill("load", "--rules", extended_rules(tmp_path), "--contracts", ROOT / "fixtures" / "contracts.yaml",
                  "--db", db)
    assert fix.exit_code == 0, fix.output
    picked_up = slabill(*november, "--format", "json")
    assert picked_up.exit_code == 0, picked_up.output
    summary = json.loads(picked_up.stdout)
    assert summary["held"] == [] and summary["status"] == "done"
    assert (summary["recorded"], summary["unchanged"]) == (1, 7)
    # What C-1001 was owed and owes, on the next numbers of each sequence: no gap, nothing
    # twice.  Its P1 ticket T-107, still open past its target, earns 50.00 on a credit note.
    assert summary["numbers"] == ["AV-2026-000005", "ADJ-2026-000007"]
    assert numbers_of(db, "ADJ") == [1, 2, 3, 4, 5, 6, 7] and numbers_of(db, "AV") == [1, 2, 3, 4, 5]

    # What it charges, by hand: the ECB rate in force on 1 July 2026 (2.15 %) plus 10 points
    # is 12.15 %; 30 days late in November (1st to 30th) on 1,866.90:
    # 1,866.90 x 0.1215 x 30 / 365 = 18.6434... -> 18.64, and the EUR 40 of D441-5 in the
    # month the invoice first became late.  Neither carries VAT.
    shown = slabill("notes", "show", "ADJ-2026-000007", "--locale", "en_GB", "--db", db)
    assert shown.exit_code == 0, shown.output
    assert "18.64" in shown.stdout and "40.00" in shown.stdout
    lines = json.loads(slabill("notes", "list", "--contract", "C-1001", "--period", "2026-11", "--format", "json",
                               "--db", db).stdout)["documents"]
    # 18.64 + 40.00 = 58.64; the credit note: 50.00 + 20 % VAT = 60.00.
    assert [(d["number"], d["net"], d["vat"], d["total"]) for d in lines] == [
        ("AV-2026-000005", "50.00", "10.00", "60.00"), ("ADJ-2026-000007", "58.64", "0.00", "58.64")]

    # The chain holds, every record replays, and holding wrote no record to break them.
    verified = slabill("audit", "verify", "--db", db)
    assert verified.exit_code == 0, verified.output
    replayed = slabill("replay", "--period", "2026-11", "--db", db)
    assert replayed.exit_code == 0 and replayed.stdout.endswith("8 replayed, 8 identical, 0 different.\n")


def test_a_contract_naming_a_rule_set_not_loaded_is_loaded_with_a_warning_and_held(book, tmp_path):
    db = book
    text = (ROOT / "fixtures" / "contracts.yaml").read_text(encoding="utf-8")
    # A new contract, C-1005 (C-1004's terms, running on), with a misspelt rule set.
    new = text.split("  - id: C-1004", 1)[1].replace("    end: 2026-09-30\n", "")
    contract = ("  - id: C-1005" + new).replace("ruleset: standard-hosting", "ruleset: standrd-hosting", 1)
    (tmp_path / "contracts.yaml").write_text(text + "\n" + contract, encoding="utf-8")
    line = (text + "\n" + contract).splitlines().index("    ruleset: standrd-hosting") + 1

    loaded = slabill("load", "--contracts", tmp_path / "contracts.yaml", "--db", db)
    assert loaded.exit_code == 0, loaded.output
    assert loaded.stderr.splitlines() == [
        f"slabill: warning: {tmp_path / 'contracts.yaml'}, line {line}, field contracts[9].ruleset: contract C-1005 "
        "names the rule set 'standrd-hosting', which is not loaded; it was loaded all the same, and runs hold it "
        "until that rule set is loaded (did you mean standard-hosting?)."]

    # The whole book runs (nothing new is owed for October) and only C-1005 is held.
    run = slabill("run", "--period", "2026-10", "--as-of", "2026-11-02", "--db", db, "--format", "json")
    assert run.exit_code == 4, run.output
    summary = json.loads(run.stdout)
    assert summary["held"] == [{"contract": "C-1005", "reason": "field ruleset: no rule set 'standrd-hosting' is "
                                "loaded (loaded: hourly-credits, object-store, premium-compute, standard-hosting, "
                                "uk-managed-hosting)."}]
    assert (summary["contracts"], summary["unchanged"]) == (9, 8)

    # Fixed, loaded again (a new version of the contract's terms), and run: C-1005 is evaluated.
    (tmp_path / "contracts.yaml").write_text(text + "\n" + contract.replace("standrd-hosting", "standard-hosting"),
                                             encoding="utf-8")
    assert slabill("load", "--contracts", tmp_path / "contracts.yaml", "--db", db).stderr == ""
    fixed = slabill("run", "--period", "2026-10", "--as-of", "2026-11-02", "--db", db, "--format", "json")
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.stdout)["recorded"] == 1


def test_a_dry_run_names_held_contracts_too_and_writes_nothing(book):
    dry = slabill("run", "--period", "2026-11", "--as-of", "2026-12-02", "--dry-run", "--format", "json", "--db", book)
    assert dry.exit_code == 4, dry.output
    assert [h["contract"] for h in json.loads(dry.stdout)["held"]] == ["C-1001"]
    assert [r["period"] for r in json.loads(slabill("runs", "--format", "json", "--db", book).stdout)["runs"]] == [
        "2026-10"]
