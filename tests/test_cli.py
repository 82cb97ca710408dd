"""The command line end to end, as a user types it: replay, audit export, notes, demo and explain.

Each test drives ``engine.cli.app`` through typer's CliRunner against a store in which the
shipped fixtures were loaded and October 2026 was run (as in test_audit), on SQLite and,
when configured, on PostgreSQL.  CliRunner's stdout is not a terminal, as when a script or
a log file reads slabill's output, so what is printed must hold up there too.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.conftest import ROOT, load_fixtures
from tests.test_audit import readme_checker, run, tamper

# What the October 2026 run of the fixtures issues (test_audit.test_an_intact_chain_verifies).
ISSUED = ["AV-2026-000001", "AV-2026-000002", "AV-2026-000003", "ADJ-2026-000001", "ADJ-2026-000002",
          "ADJ-2026-000003", "AV-2026-000004", "ADJ-2026-000004"]


@pytest.fixture
def ran(store):
    load_fixtures(store)
    run(store)
    return store


def slabill(*args, db=None):
    arguments = [str(a) for a in args] + (["--db", db.url] if db is not None else [])
    return CliRunner().invoke(app, arguments)


def refused(result, text):
    """Bad input or usage: exit 2, nothing on stdout, one sentence on stderr."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.count("\n") == 0, message
    assert text in message, message
    return message


def printed_lines(result) -> list[str]:
    return result.stdout.splitlines()


# --- replay ------------------------------------------------------------------------------------------------------

def test_replay_by_id_run_and_period_finds_every_record_identical(ran):
    one = slabill("replay", "1", db=ran)
    assert one.exit_code == 0, one.output
    assert one.stdout == "1 replayed, 1 identical, 0 different.\n"
    run_id = ran.evaluations()[0].run_id
    for chosen in (["--run", run_id], ["--period", "2026-10"]):
        result = slabill("replay", *chosen, db=ran)
        assert result.exit_code == 0, result.output
        assert result.stdout == "8 replayed, 8 identical, 0 different.\n"


def test_replay_without_a_choice_or_with_no_match_is_refused(ran):
    refused(slabill("replay", db=ran), "name an evaluation id, --run RUN_ID or --period YYYY-MM")
    refused(slabill("replay", "--period", "2026-09", db=ran), "no recorded evaluation matches")
    refused(slabill("replay", "--period", "2026-13", db=ran), "field --period")


def test_replay_reports_a_tampered_recorded_figure_and_exits_1(ran):
    # Record 1 (C-1001) says availability earned 124.58 and the total is 224.58; an edit
    # behind slabill's back lowers both.  Replay evaluates the record's own inputs again,
    # finds 124.58 and 224.58, and must say where the record differs.
    row = ran.evaluations()[0]
    edited = (row.record_json.replace('"credit":"124.58"', '"credit":"12.45"')
              .replace('"credit_total":"224.58"', '"credit_total":"112.45"'))
    assert edited.count('"credit":"12.45"') == 1 and edited.count('"credit_total":"112.45"') == 1
    tamper(ran, "UPDATE evaluations SET record_json = :text WHERE id = :id",
           parameters={"text": edited, "id": row.id})

    result = slabill("replay", "--period", "2026-10", db=ran)
    assert result.exit_code == 1, result.output
    assert printed_lines(result) == [
        f"record {row.id} (C-1001 2026-10): 2 difference(s)",
        "  evaluation.credit_total: recorded '112.45', replayed '224.58'",
        "  evaluation.objectives[0].credit: recorded '12.45', replayed '124.58'",
        "8 replayed, 7 identical, 1 different.",
    ]
    assert slabill("replay", str(row.id), db=ran).exit_code == 1
    assert slabill("replay", "--run", str(row.run_id), db=ran).exit_code == 1
    # The other records are untouched and still replay cleanly.
    assert slabill("replay", str(row.id + 1), db=ran).exit_code == 0

    # A what-if under today's rules shows the same difference but is labelled and never fails.
    what_if = slabill("replay", "--period", "2026-10", "--with-current-rules", "--rules", ROOT / "rules", db=ran)
    assert what_if.exit_code == 0, what_if.output
    assert f"what-if record {row.id} (C-1001 2026-10): 2 difference(s)" in what_if.stdout
    assert printed_lines(what_if)[-1] == "what-if, not a correction: 8 replayed, 7 identical, 1 different."


# --- audit export --------------------------------------------------------------------------------------------------

def test_audit_export_of_a_period_through_the_cli_passes_the_readme_checker(ran, tmp_path):
    out = tmp_path / "exports" / "for-the-auditor" / "october-2026" / "audit.jsonl"  # its folders are made
    result = slabill("audit", "export", "--period", "2026-10", "--out", out, db=ran)
    assert result.exit_code == 0, result.output
    # The path is printed whole on one line, however long, so a script can read it back.
    assert printed_lines(result) == [f"{out}: 5 rule set(s), 8 record(s)."]
    header = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert (header["type"], header["period"], header["complete"]) == ("export", "2026-10", False)
    checked = subprocess.run([sys.executable, "-I", str(readme_checker(tmp_path)), str(out)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "8 records and 5 rule sets verified"


# --- notes ------------------------------------------------------------------------------------------------------------

def test_notes_list_shows_whole_document_numbers_for_the_period(ran):
    result = slabill("notes", "list", "--period", "2026-10", db=ran)
    assert result.exit_code == 0, result.output
    rows = [line for line in printed_lines(result) if line.startswith("│")]
    # Whole numbers, amounts and currencies, even though stdout is not an 80-column terminal.
    assert [row.split("│")[1].strip() for row in rows] == ISSUED
    assert [cell.strip() for cell in rows[0].split("│")[1:-1]] == [
        "AV-2026-000001", "credit_note", "C-1001", "2026-10", "2026-11-02", "224.58", "44.92", "269.50", "EUR"]
    assert [cell.strip() for cell in rows[-1].split("│")[1:-1]] == [
        # Outside the scope of French VAT (O): -59.188 + 0.000 (it was -5.919 at the customer's 10 %).
        "ADJ-2026-000004", "adjustment", "C-6001", "2026-10", "2026-11-02", "-59.188", "0.000", "-59.188", "BHD"]
    september = slabill("notes", "list", "--period", "2026-09", db=ran)
    assert september.exit_code == 0 and not any(line.startswith("│") for line in printed_lines(september))


def test_notes_show_prints_the_document_in_the_customers_language(ran):
    result = slabill("notes", "show", "AV-2026-000001", db=ran)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Avoir n° AV-2026-000001\n")
    assert "Total HT\xa0: 224,58\xa0€" in result.stdout
    # 224.58 net + 20 % VAT: 44.916 -> 44.92, so 269.50 in all.
    assert "TVA 20\xa0% sur 224,58\xa0€\xa0: 44,92\xa0€" in result.stdout
    assert "Total TTC\xa0: 269,50\xa0€" in result.stdout


def test_notes_render_writes_the_issued_bytes_in_french(ran, tmp_path):
    stored = ran.document("AV-2026-000001")
    out = tmp_path / "rendered"
    html = slabill("notes", "render", "AV-2026-000001", "--format", "html", "--locale", "fr_FR", "--out", out, db=ran)
    assert html.exit_code == 0, html.output
    path = out / "AV-2026-000001.fr_FR.html"
    assert printed_lines(html) == [str(path)]
    data = path.read_bytes()
    assert '<html lang="fr" dir="ltr">' in data.decode("utf-8")
    assert "<title>Avoir n° AV-2026-000001</title>" in data.decode("utf-8")
    # fr_FR is C-1001's own locale: the file is byte for byte the HTML issued and hashed.
    assert hashlib.sha256(data).hexdigest() == stored.html_sha256
    default = slabill("notes", "render", "AV-2026-000001", "--out", out, db=ran)  # html in the customer's locale
    assert default.exit_code == 0, default.output
    assert hashlib.sha256((out / "AV-2026-000001.html").read_bytes()).hexdigest() == stored.html_sha256
    # Another locale is other bytes, so the equality above says something.
    german = slabill("notes", "render", "AV-2026-000001", "--locale", "de_DE", "--out", out, db=ran)
    assert german.exit_code == 0, german.output
    assert hashlib.sha256((out / "AV-2026-000001.de_DE.html").read_bytes()).hexdigest() != stored.html_sha256

    text = slabill("notes", "render", "AV-2026-000001", "--format", "txt", "--locale", "fr_FR", "--out", out, db=ran)
    assert text.exit_code == 0, text.output
    written = (out / "AV-2026-000001.fr_FR.txt").read_text(encoding="utf-8")
    assert written.startswith("Avoir n° AV-2026-000001\n")
    assert "Palier 1 (≥ 99\xa0% et < 99,9\xa0%)\xa0; Taux d'avoir\xa0: 10\xa0%" in written
    assert "Total TTC\xa0: 269,50\xa0€" in written


def test_an_unknown_document_number_is_refused(ran, tmp_path):
    message = refused(slabill("notes", "show", "AV-2026-999999", db=ran),
                      "field NUMBER: no document numbered 'AV-2026-999999' in the store")
    assert message == "slabill: field NUMBER: no document numbered 'AV-2026-999999' in the store."
    refused(slabill("notes", "render", "AV-2026-999999", "--out", tmp_path / "none", db=ran),
            "no document numbered 'AV-2026-999999' in the store")
    assert not (tmp_path / "none").exists()  # refused before anything is written
    # pdf and xml are formats since e-invoices (INTERFACE.md 6.5); docx is not one.
    refused(slabill("notes", "render", "AV-2026-000001", "--format", "docx", "--out", tmp_path / "none", db=ran),
            "field --format: --format must be html, txt, pdf or xml, not 'docx'")
    assert not (tmp_path / "none").exists()


# --- explain -----------------------------------------------------------------------------------------------------------

def test_explain_through_the_cli_in_french(ran):
    result = slabill("explain", "C-1001", "--period", "2026-10", "--locale", "fr_FR", db=ran)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Pourquoi le contrat C-1001 a reçu 224,58\xa0€ pour octobre 2026\n")
    # 10 % of the compute fee: 1,245.75 x 0.10 = 124.575 -> 124.58 (half up).
    assert ("Le palier 1 s'applique : 10\xa0% de la redevance mensuelle de 1\u202f245,75\xa0€, soit 124,58\xa0€."
            in result.stdout)
    assert "Émis sous le n° AV-2026-000001, 269,50\xa0€ TTC." in result.stdout


def test_explain_an_unknown_contract_or_locale_is_refused(ran):
    refused(slabill("explain", "C-9999", "--period", "2026-10", db=ran),
            "field CONTRACT: no evaluation of contract C-9999 for 2026-10 is recorded; run that period first.")
    refused(slabill("explain", "C-1001", "--period", "2026-10", "--locale", "xx_YY", db=ran), "field --locale")


# --- demo ----------------------------------------------------------------------------------------------------------------

def test_demo_through_the_cli_writes_every_file_it_lists(tmp_path, monkeypatch):
    # The demo writes ./out and its database, out/slabill-demo.db, where it is started.
    monkeypatch.chdir(tmp_path)
    result = slabill("demo", "--as-of", "2026-11-02")
    assert result.exit_code == 0, result.output
    lines = printed_lines(result)
    assert "Database: out/slabill-demo.db" in lines
    assert (tmp_path / "out" / "slabill-demo.db").is_file()
    out = (tmp_path / "out").resolve()
    # 8 documents issued, each written in the formats its customer takes (HTML, text, PDF/A-3 and
    # the e-invoice XML): 32 files (it once said "16 documents").
    documents = lines.index(f"8 documents written to {out}/, each in the formats its customer takes (32 files):")
    reports = lines.index(f"8 monthly reports written to {out}/, each in HTML and text (16 files):")
    listed_documents = [Path(line.strip()) for line in lines[documents + 1:reports]]
    listed_reports = [Path(line.strip()) for line in lines[reports + 1:]]
    # Each issued document in HTML, text and PDF/A, and the e-invoice of its customer's channel
    # (C-1002 French CTC UBL, C-3001 Peppol, C-6001 plain UBL in dinars, the others Factur-X CII);
    # each of the 8 evaluated contracts' report in HTML and text.
    channels = dict(zip(ISSUED, ["cii", "fr-ctc", "cii", "cii", "peppol", "cii", "cii", "ubl"]))
    assert sorted(p.name for p in listed_documents) == sorted(
        [f"{n}.{f}" for n in ISSUED for f in ("html", "txt", "pdf")] + [f"{n}.{channels[n]}.xml" for n in ISSUED])
    assert len(listed_reports) == 16 and all(p.name.endswith(("-2026-10-report.html", "-2026-10-report.txt"))
                                             for p in listed_reports)
    for path in listed_documents + listed_reports:
        assert path.is_file() and path.stat().st_size > 0, path
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [p.name for p in listed_documents + listed_reports] + ["slabill-demo.db", "slabill-demo-checkpoints"])
    # The run's signed checkpoint, beside the demo's database, with the public key an auditor checks it with.
    checkpoints = tmp_path / "out" / "slabill-demo-checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-0000000009-run-1.json",
                                                             "slabill-checkpoint.key", "slabill-checkpoint.pub"]
    assert "Checkpoint signed: out/slabill-demo-checkpoints/checkpoint-0000000009-run-1.json" in lines


def test_a_second_demo_leaves_no_stale_file_of_the_first(tmp_path, monkeypatch):
    """Files an earlier demo wrote (here: of another month and a number the new run does not
    issue) are removed; a file of the user's own in the folder is left alone."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    stale = ["AV-2025-000042.html", "AV-2025-000042.txt", "C-1001-2026-09-report.html", "ADJ-2026-000099.txt"]
    for name in stale:
        (out / name).write_text("from an earlier demo")
    (out / "notes.md").write_text("mine")
    result = slabill("demo", "--as-of", "2026-11-02")
    assert result.exit_code == 0, result.output
    assert f"4 files of an earlier demo removed from {out.resolve()}/." in printed_lines(result)
    names = sorted(p.name for p in out.iterdir())
    assert not set(stale) & set(names)
    # 8 documents in 4 formats, 8 reports in 2, the database, its checkpoints' folder and notes.md
    assert "notes.md" in names and len(names) == 32 + 16 + 3


# --- a store that is not there ------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["audit", "verify"], ["replay", "--period", "2026-10"], ["run", "--period", "2026-10"],
    ["notes", "list"], ["explain", "C-1001", "--period", "2026-10"], ["report", "--period", "2026-10", "--out", "x"],
])
def test_a_command_pointed_at_a_missing_sqlite_file_says_so_and_creates_nothing(tmp_path, command):
    """Only load creates a store: audit verify on a mistyped path must not report an empty chain as sound."""
    missing = tmp_path / "nowhere.db"
    result = CliRunner().invoke(app, command + ["--db", f"sqlite:///{missing}"])
    assert result.exit_code == 2
    assert f"there is no store at {missing}" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == "" and not missing.exists()


def test_load_creates_the_store(tmp_path):
    created = tmp_path / "new.db"
    result = CliRunner().invoke(app, ["load", "--rules", str(ROOT / "rules"), "--contracts",
                                      str(ROOT / "fixtures" / "contracts.yaml"), "--db", f"sqlite:///{created}"])
    assert result.exit_code == 0 and created.exists()
    assert CliRunner().invoke(app, ["audit", "verify", "--db", f"sqlite:///{created}"]).exit_code == 0


# --- a run that does not finish --------------------------------------------------------------------------------------

def test_a_worker_killed_mid_run_exits_3_and_a_second_run_finishes_the_period(tmp_path, monkeypatch):
    """INTERFACE.md 6.5: exit code 3 means the run did not finish; running it again finishes it
    and issues nothing twice."""
    import functools
    import os
    import signal

    import engine.jobs.run as run_module

    db = tmp_path / "store.db"
    loaded = slabill("load", "--rules", ROOT / "rules", "--contracts", ROOT / "fixtures" / "contracts.yaml",
                     "--data", ROOT / "fixtures" / "data", "--db", f"sqlite:///{db}")
    assert loaded.exit_code == 0, loaded.output
    # Batches of two contracts, so the eight contracts of the fixtures go to forked workers.
    monkeypatch.setattr(run_module, "monthly_run", functools.partial(run_module.monthly_run, batch_size=2))
    parent, real = os.getpid(), run_module.work_out

    def dies_in_a_worker_on_c3001(stored, *arguments):
        if os.getpid() != parent and stored.contract.id == "C-3001":
            os.kill(os.getpid(), signal.SIGKILL)  # as a crash in native code would
        return real(stored, *arguments)

    monkeypatch.setattr(run_module, "work_out", dies_in_a_worker_on_c3001)
    arguments = ["run", "--period", "2026-10", "--as-of", "2026-11-02", "--workers", "2", "--db", f"sqlite:///{db}"]
    stopped = slabill(*arguments)
    assert stopped.exit_code == 3, stopped.output
    assert "worker process" in stopped.stderr and "running the period again finishes it" in stopped.stderr
    assert "Traceback" not in stopped.output
    monkeypatch.setattr(run_module, "work_out", real)
    finished = slabill(*arguments)
    assert finished.exit_code == 0, finished.output
    listed = slabill("notes", "list", "--period", "2026-10", "--db", f"sqlite:///{db}")
    numbers = [n for n in ISSUED if n in listed.stdout]
    assert sorted(numbers) == sorted(ISSUED)  # every document, and the numbers gap-free
    assert "AV-2026-000005" not in listed.stdout and "ADJ-2026-000005" not in listed.stdout  # none twice
    verified = slabill("audit", "verify", "--db", f"sqlite:///{db}")
    assert verified.exit_code == 0, verified.output
