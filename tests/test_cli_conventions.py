"""The command line people expect: --version, -h, readable help, one --format, JSON and CSV, files never lost.

Each test drives ``engine.cli.app`` as a user types it, against a store where the shipped
fixtures were loaded and October 2026 run (8 documents: AV-2026-000001..4 and
ADJ-2026-000001..4), on SQLite and, when configured, PostgreSQL.  The last test runs the
installed ``slabill`` itself, once per command, with bad input, and greps for a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from importlib.metadata import version as package_version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from invoices.einvoice import SUFFIX
from tests.conftest import ROOT, load_fixtures
from tests.test_audit import run as run_october
from tests.test_audit import tamper
from tests.test_cli import ISSUED

SLABILL = Path(sys.executable).parent / "slabill"


def slabill(*args, db=None):
    return CliRunner().invoke(app, [str(a) for a in args] + (["--db", db.url] if db is not None else []))


@pytest.fixture
def ran(store):
    load_fixtures(store)
    run_october(store)
    return store


def commands(group=None, path=()):
    """Every command of the command line, as the words that name it."""
    import typer.main

    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, path + (name,))
        else:
            yield path + (name,)


ALL = sorted(commands())


def test_every_command_is_listed():
    assert ALL == [("audit", "export"), ("audit", "verify"), ("deliver",), ("demo",), ("evaluate",), ("explain",),
                   ("load",), ("notes", "list"), ("notes", "render"), ("notes", "show"), ("replay",), ("report",),
                   ("rules", "check"), ("rules", "schema"), ("run",), ("runs",)]


# --- --version, -h and help ------------------------------------------------------------------------------------

def test_version_names_slabill_the_rule_engine_and_the_store_schema():
    # The newest migration is the one no other migration names as its down_revision.
    revisions, downs = set(), set()
    for migration in (ROOT / "engine" / "store" / "migrations" / "versions").glob("*.py"):
        text = migration.read_text(encoding="utf-8")
        revisions.add(re.search(r'^revision = ["\'](\w+)["\']', text, re.M).group(1))
        downs.add((re.search(r'^down_revision = ["\']?(\w+)', text, re.M) or [None, None])[1])
    (head,) = revisions - downs
    result = slabill("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"slabill {package_version('slabill')}",
                                          f"rule engine: durable-rules {package_version('durable_rules')}",
                                          f"store schema revision: {head}"]


@pytest.mark.parametrize("words", [(), *ALL], ids=lambda words: " ".join(words) or "slabill")
def test_h_is_help_and_help_reads_as_people_write_options(words):
    short, long = slabill(*words, "-h"), slabill(*words, "--help")
    assert short.exit_code == long.exit_code == 0, short.output
    assert short.stdout == long.stdout and short.stdout.startswith("Usage: ")
    assert "-h, --help" in short.stdout
    # No typer noise: no <bool>, <str>, <int>, <path>, list[Path] or {name} placeholders.
    assert not re.search(r"<\w[\w\[\] ]*>|list\[|\{\w+\}", short.stdout), short.stdout
    # Flags bare; options with the kind of value they take.
    if words == ("run",):
        assert re.search(r"^  --dry-run +show what would be issued", short.stdout, re.M)
        for option in ("--period YYYY-MM", "--as-of YYYY-MM-DD", "--contract ID", "--out DIR", "--workers N",
                       "--db URL", "--format table|json"):
            assert re.search(rf"^  {re.escape(option)} ", short.stdout, re.M), option
    if words == ("rules", "check"):
        assert "Usage: root rules check [OPTIONS] FILE..." in short.stdout


def test_replay_help_says_what_a_what_if_exits_with():
    help = slabill("replay", "-h").stdout
    assert "Exit 1 when a record differs from its replay" in help
    assert "never fails (exit 0)" in " ".join(help.split())


# --- one --format ------------------------------------------------------------------------------------------------

FORMATS = {
    ("evaluate",): ("json", "table"), ("run",): ("table", "json"), ("runs",): ("table", "json", "csv"),
    ("notes", "list"): ("table", "json", "csv"), ("notes", "render"): ("html", "txt", "pdf", "xml"),
    ("report",): ("html", "txt"), ("audit", "verify"): ("table", "json"),
}


def test_the_format_choices_are_one_vocabulary():
    """Every --format takes its choices from two lists (table, json, csv for results and lists;
    html, txt, pdf, xml for documents, INTERFACE.md 6.5), shows them the same way, and refuses a
    wrong one with one sentence."""
    offered = {words: format for words in ALL
               if (format := re.search(r"^  --format (\S+)", slabill(*words, "-h").stdout, re.M))}
    assert {words: tuple(m.group(1).split("|")) for words, m in offered.items()} == FORMATS
    for words, choices in FORMATS.items():
        result = slabill(*words, "--format", "bogus")
        said = ", ".join(choices[:-1]) + " or " + choices[-1]
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == f"slabill: field --format: --format must be {said}, not 'bogus'.\n"


# --- run --format json, notes list --format json|csv -------------------------------------------------------------

def test_run_format_json_is_the_summary_as_one_object(ran, tmp_path):
    result = slabill("run", "--period", "2026-10", "--as-of", "2026-11-02", "--format", "json", db=ran)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # Nothing changed since October's run: every contract unchanged, nothing issued.
    assert {key: summary[key] for key in ("period", "contracts", "recorded", "unchanged", "status", "held",
                                          "numbers", "documents")} == {
        "period": "2026-10", "contracts": 8, "recorded": 0, "unchanged": 8, "status": "done", "held": [],
        "numbers": [], "documents": {}}
    # The summary describes the period: 7 contracts breached, one below the minimum, one capped
    # (test_audit and the fixtures' expected evaluation say so).
    assert (summary["breaches"], summary["below_minimum"], summary["capped"]) == (7, 1, 1)
    assert isinstance(summary["run"], int) and summary["dry_run"] is False


def test_notes_list_as_json_and_csv(ran):
    listed = slabill("notes", "list", "--period", "2026-10", "--format", "json", db=ran)
    assert listed.exit_code == 0, listed.output
    documents = json.loads(listed.stdout)["documents"]
    assert [d["number"] for d in documents] == ISSUED
    # Amounts as strings with the currency's minor-unit digits: BHD has three.
    assert documents[0] == {"number": "AV-2026-000001", "kind": "credit_note", "contract": "C-1001",
                            "period": "2026-10", "issued": "2026-11-02", "net": "224.58", "vat": "44.92",
                            "total": "269.50", "currency": "EUR"}
    # C-6001 (Bahrain) is outside the scope of French VAT: no VAT on its credit.
    assert documents[-1] == {"number": "ADJ-2026-000004", "kind": "adjustment", "contract": "C-6001",
                             "period": "2026-10", "issued": "2026-11-02", "net": "-59.188", "vat": "0.000",
                             "total": "-59.188", "currency": "BHD"}
    as_csv = slabill("notes", "list", "--period", "2026-10", "--format", "csv", db=ran)
    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows == [dict(d) for d in documents]
    assert as_csv.stdout.splitlines()[0] == "number,kind,contract,period,issued,net,vat,total,currency"
    empty = slabill("notes", "list", "--period", "2026-09", "--format", "csv", db=ran)
    assert empty.stdout == "number,kind,contract,period,issued,net,vat,total,currency\n"
    assert json.loads(slabill("notes", "list", "--period", "2026-09", "--format", "json", db=ran).stdout) == {
        "documents": []}


# --- files are never lost ---------------------------------------------------------------------------------------

def issued_html(store) -> dict[str, str]:
    return {row.number: row.html_sha256 for row in store.documents(period="2026-10")}


def test_run_out_writes_the_periods_documents_again_even_when_nothing_is_new(ran, tmp_path):
    out = tmp_path / "again"
    result = slabill("run", "--period", "2026-10", "--as-of", "2026-11-02", "--out", out, db=ran)
    assert result.exit_code == 0, result.output
    # 8 documents, each in HTML, text, PDF/A-3 and its customer's e-invoice XML, and 8 reports
    # in HTML and text: 32 + 16 files.
    assert "48 files written to" in result.stdout
    written = sorted(p.name for p in out.iterdir())
    channels = {row.number: SUFFIX[row.e_invoice] for row in ran.documents(period="2026-10")}
    assert [n for n in written if not n.endswith(("-report.html", "-report.txt"))] == sorted(
        [f"{number}.{f}" for number in ISSUED for f in ("html", "txt", "pdf")]
        + [f"{number}.{channels[number]}" for number in ISSUED])
    # The HTML written is, byte for byte, what was issued and hashed at issue.
    for number, sha in issued_html(ran).items():
        assert hashlib.sha256((out / f"{number}.html").read_bytes()).hexdigest() == sha
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_failing_out_is_refused_before_anything_is_issued(ran, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    runs_before = ran.runs()
    # November would issue C-3001's late fee (and hold C-1001): nothing of it may happen.
    for out in (a_file, a_file / "docs", Path("/proc/self")):
        result = slabill("run", "--period", "2026-11", "--as-of", "2026-12-02", "--out", out, db=ran)
        assert result.exit_code == 2 and result.stdout == "", result.output
        assert result.stderr.startswith("slabill: field --out: ") and result.stderr.count("\n") == 1
    assert [d.number for d in ran.documents()] == ISSUED
    assert [(r.id, r.status) for r in ran.runs()] == [(r.id, r.status) for r in runs_before]


def test_notes_render_writes_every_document_of_a_period(ran, tmp_path):
    out = tmp_path / "period"
    html = slabill("notes", "render", "--period", "2026-10", "--out", out, db=ran)
    assert html.exit_code == 0, html.output
    assert html.stdout.splitlines() == [str(out / f"{n}.html") for n in ISSUED]
    for number, sha in issued_html(ran).items():
        assert hashlib.sha256((out / f"{number}.html").read_bytes()).hexdigest() == sha
    text = slabill("notes", "render", "--period", "2026-10", "--contract", "C-1001", "--format", "txt",
                   "--out", out, db=ran)
    assert text.stdout.splitlines() == [str(out / "AV-2026-000001.txt")]
    assert (out / "AV-2026-000001.txt").read_text(encoding="utf-8").startswith("Avoir n° AV-2026-000001\n")
    german = slabill("notes", "render", "--period", "2026-10", "--contract", "C-1001", "--locale", "de_DE",
                     "--out", out, db=ran)
    assert german.stdout.splitlines() == [str(out / "AV-2026-000001.de_DE.html")]
    none = slabill("notes", "render", "--period", "2026-09", "--out", out, db=ran)
    assert none.exit_code == 0 and none.stdout == ""


def test_a_document_that_no_longer_renders_to_its_issued_bytes_is_not_written(ran, tmp_path):
    """The store says what the customer received; a rendering that differs is a finding (exit 1)."""
    tamper(ran, "UPDATE documents SET html_sha256 = :sha WHERE number = 'AV-2026-000002'", parameters={"sha": "0" * 64})
    out = tmp_path / "checked"
    result = slabill("notes", "render", "--period", "2026-10", "--out", out, db=ran)
    assert result.exit_code == 1, result.output
    assert result.stderr == ("slabill: AV-2026-000002 does not render in html to the bytes that were issued "
                             "(sha256 000000000000...); it was not written.\n")
    assert not (out / "AV-2026-000002.html").exists()


def test_report_and_audit_export_write_whole_files(ran, tmp_path):
    out = tmp_path / "exports" / "audit.jsonl"
    result = slabill("audit", "export", "--out", out, db=ran)
    assert result.exit_code == 0, result.output
    # header, 5 rule sets, the fixtures' load (an entry of the chain) and 8 records
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1 + 5 + 1 + 8
    assert sorted(p.name for p in out.parent.iterdir()) == ["audit.jsonl"]  # no temporary file beside it
    report = slabill("report", "--period", "2026-10", "--contract", "C-1001", "--format", "txt", "--out",
                     tmp_path / "r", db=ran)
    assert report.exit_code == 0 and report.stdout.splitlines() == [str(tmp_path / "r" / "C-1001-2026-10-report.txt")]


# --- stores that should not exist, or that look broken ------------------------------------------------------------

def test_a_failed_load_on_a_new_path_leaves_no_database(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "incidents.csv").write_text("contract,service,start,end,cause,announced_at\n"
                                        "C-1001,compute,2026-10-10T10:00:00Z,2026-10-10T11:00:00,,\n")
    new = tmp_path / "new.db"
    result = slabill("load", "--rules", ROOT / "rules", "--contracts", ROOT / "fixtures" / "contracts.yaml",
                     "--data", data, "--db", f"sqlite:///{new}")
    assert result.exit_code == 2, result.output
    assert "incidents.csv, line 2, field end: the timestamp '2026-10-10T11:00:00' has no offset" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    # So the next command does not report on an empty store as if it were a book.
    verify = slabill("audit", "verify", "--db", f"sqlite:///{new}")
    assert verify.exit_code == 2 and "there is no store at" in verify.stderr


def test_a_killed_run_is_shown_interrupted_and_marked_so_by_the_next_run(ran):
    """A run whose process is gone without a word (kill -9) is found by the next run and by 'runs'."""
    import socket
    from datetime import date, datetime, timezone

    from engine.core.period import Period

    # A process that has ended: a child that exited.
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = {"host": socket.gethostname(), "pid": int(child.stdout), "started": 1}
    killed = ran.start_run(Period(2026, 10), date(2026, 11, 2), datetime(2026, 11, 2, 9, tzinfo=timezone.utc), dead)
    listed = json.loads(slabill("runs", "--format", "json", db=ran).stdout)["runs"]
    assert [(r["run"], r["status"]) for r in listed][-1] == (killed, "interrupted")  # shown so at once
    assert [r.status for r in ran.runs() if r.id == killed] == ["running"]           # not yet written
    result = slabill("run", "--period", "2026-10", "--as-of", "2026-11-02", "--format", "json", db=ran)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["interrupted_runs"] == [killed]
    assert [r.status for r in ran.runs() if r.id == killed] == ["interrupted"]


def test_a_number_sequence_changed_outside_slabill_is_refused_before_the_run_starts(ran):
    tamper(ran, "UPDATE number_sequences SET last_number = 2 WHERE kind = 'credit_note'")
    runs = len(ran.runs())
    result = slabill("run", "--period", "2026-11", "--as-of", "2026-11-30", db=ran)
    assert result.exit_code == 2 and result.stdout == "", result.output
    assert result.stderr == ("slabill: the number sequence of credit notes of 2026 (issuer 1) says 2, but 4 are "
                             "issued: it was changed outside slabill, and numbering from it would give numbers twice; "
                             "set its last_number back to 4 (nothing was recorded).\n")
    assert len(ran.runs()) == runs


def test_run_contract_unknown_or_inactive_records_no_run(ran):
    runs = len(ran.runs())
    for contract, words in (("C-9999", "no contract 'C-9999' is stored"),
                            ("C-1004", "contract C-1004 is not active in 2026-10")):
        result = slabill("run", "--period", "2026-10", "--contract", contract, db=ran)
        assert result.exit_code == 2 and words in result.stderr
    assert len(ran.runs()) == runs


# --- no traceback, from the real command ------------------------------------------------------------------------

BAD = {
    ("audit", "export"): ["--out", "/proc/self/x/audit.jsonl"], ("audit", "verify"): ["--workers", "0"],
    ("deliver",): ["--period", "2026-13"], ("demo",): ["--as-of", "someday"],
    ("evaluate",): ["--rules", "nowhere", "--contracts", "x", "--data", "y", "--period", "2026-10"],
    ("explain",): ["C-1", "--period", "2026-13"], ("load",): ["--contracts", "nowhere.yaml"],
    ("notes", "list"): ["--format", "xml"], ("notes", "render"): ["--period", "2026-10", "--out", "/proc/self"],
    ("notes", "show"): ["X", "--locale", "xx_XX"], ("replay",): ["abc"], ("report",): ["--period", "2026-10"],
    ("rules", "check"): ["nowhere.yaml"], ("rules", "schema"): ["--bogus"], ("run",): ["--period", "2026-10",
                                                                                        "--workers", "0"],
    ("runs",): ["--period", "10-2026"],
}


def test_no_command_prints_a_traceback_under_bad_input(tmp_path):
    """The installed slabill, once per command, with bad input: one sentence, exit 2, never a traceback."""
    assert sorted(BAD) == ALL
    environment = {key: value for key, value in os.environ.items() if key != "SLABILL_TRACEBACK"}
    environment["SLABILL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'none.db'}"
    children = {words: subprocess.Popen([str(SLABILL), *words, *BAD[words]], cwd=tmp_path, env=environment,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for words in ALL}
    for words, child in children.items():
        out, err = child.communicate(timeout=120)
        assert "Traceback" not in out + err, (words, err)
        assert child.returncode == 2 and out == "", (words, out, err)
        assert err.startswith("slabill: ") and err.count("\n") == 1, (words, err)
