"""The store on SQLite and PostgreSQL: migrations, loading, the monthly run, immutability."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from engine.cli import app
from engine.core.errors import InputError
from engine.core.period import Period
from engine.jobs.run import monthly_run
from engine.store import ImmutableRecordError, Store
from engine.store.tables import DocumentLineRow, DocumentRow, EvaluationRow
from invoices.documents import Document
from tests.conftest import ROOT, load_fixtures

OCTOBER = Period(2026, 10)
ISSUED = date(2026, 11, 2)


def clock():
    return datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)


def run(store, period=OCTOBER, **kwargs):
    return monthly_run(store, period, as_of=ISSUED, now=clock, **kwargs)


# --- migrations ------------------------------------------------------------------------------------

def test_each_migration_upgrades_an_empty_database(store_url):
    store = Store(store_url, upgrade=False)
    assert store.revision() is None
    for revision in ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011", "0012"):
        store.upgrade(revision)
        assert store.revision() == revision
    store.upgrade()  # head: nothing more to do
    assert store.revision() == "0012"
    store.close()


def test_a_sqlite_store_with_issued_documents_upgrades_from_0004(tmp_path):
    """0005 rebuilds the documents table on SQLite while document lines refer to it.

    The 0004 store is filled with what a run recorded (copied from a store at head, the
    text hash filled in as 0004 required), then upgraded: every row is kept, references
    hold, and issued documents are still refused edits.
    """
    import sqlite3

    source = tmp_path / "head.db"
    head = Store(f"sqlite:///{source}")
    # A 0004 store cannot hold what invoices.csv's period column (0006) says: the book is loaded without it.
    fixtures = tmp_path / "fixtures"
    shutil.copytree(ROOT / "fixtures", fixtures)
    with (fixtures / "data" / "invoices.csv").open(encoding="utf-8") as handle:
        rows = [line.rstrip("\n").rsplit(",", 1)[0] for line in handle]
    (fixtures / "data" / "invoices.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    load_fixtures(head, fixtures)
    monthly_run(head, OCTOBER, as_of=date(2026, 11, 2), now=lambda: datetime(2026, 11, 2, tzinfo=timezone.utc))
    head.close()
    old = Store(f"sqlite:///{tmp_path / 'old.db'}", upgrade=False)
    old.upgrade("0004")
    old.close()

    copy = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    copy.execute("PRAGMA foreign_keys = ON")
    copy.execute("ATTACH DATABASE ? AS head", (str(source),))
    # Tables and columns of later revisions (0006's renditions, invoice periods...) are not in a 0004 store.
    tables = [name for (name,) in copy.execute(
        "SELECT name FROM head.sqlite_master WHERE type = 'table' AND name NOT IN ('alembic_version') "
        "AND name IN (SELECT name FROM main.sqlite_master WHERE type = 'table')")]
    copy.execute("BEGIN")
    copy.execute("PRAGMA defer_foreign_keys = ON")
    # (the new store already holds its chain head: the copied one replaces it)
    for table in tables:
        # The columns 0004 has (later migrations add some, empty for this book's rows).
        present = {row[1] for row in copy.execute(f"PRAGMA main.table_info({table})")}
        columns = [row[1] for row in copy.execute(f"PRAGMA head.table_info({table})") if row[1] in present]
        chosen = ", ".join("coalesce(text_sha256, html_sha256)" if c == "text_sha256" else c for c in columns)
        copy.execute(f"INSERT OR REPLACE INTO main.{table} ({', '.join(columns)}) SELECT {chosen} FROM head.{table}")
    copy.execute("COMMIT")
    before = {t: copy.execute(f"SELECT count(*) FROM main.{t}").fetchone()[0] for t in tables}
    copy.close()
    assert before["documents"] == 8 and before["document_lines"] > 8

    upgraded = Store(f"sqlite:///{tmp_path / 'old.db'}")  # opening upgrades to head
    assert upgraded.revision() == "0012"
    with upgraded.engine.connect() as connection:
        after = {t: connection.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in tables}
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    assert after == before
    with pytest.raises(Exception, match="refused"):
        with upgraded.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE documents SET gross_total = '0.00'")
    # The upgraded store reads what it holds: running October again finds nothing new.
    again = monthly_run(upgraded, OCTOBER, as_of=date(2026, 11, 2),
                        now=lambda: datetime(2026, 11, 2, tzinfo=timezone.utc))
    assert (again.unchanged, sum(again.documents.values())) == (8, 0)
    upgraded.close()


# --- loading ----------------------------------------------------------------------------------------------

def test_loading_twice_adds_nothing_the_second_time(store):
    load_fixtures(store)
    report = store.load(**_fixture_inputs())
    assert report.added == {"rule sets": 0, "rate tables": 0, "issuers": 0, "contract terms": 0, "incidents": 0,
                            "request intervals": 0, "invoices": 0, "payments": 0, "tickets": 0, "ticket pauses": 0}
    assert report.read["incidents"] == 27 and report.read["request intervals"] == 161
    assert len(store.contracts()) == 9


def _fixture_inputs():
    from engine.loading.contracts import load_book
    from engine.loading.measurements import load_measurements
    from engine.loading.rates import load_rates
    from engine.loading.rulesets import load_rule_files, rule_set_files

    book = load_book(ROOT / "fixtures" / "contracts.yaml")
    return {"book": book, "rule_sets": load_rule_files(rule_set_files(ROOT / "rules")),
            "measurements": load_measurements(ROOT / "fixtures" / "data", book), "rates": load_rates(ROOT / "rules")}


def _counts(store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                for table in ("issuers", "contracts", "contract_versions", "rule_sets", "incidents", "request_counts")}


def test_a_load_with_one_bad_row_writes_nothing(store_url, tmp_path):
    shutil.copytree(ROOT / "fixtures", tmp_path / "book", ignore=shutil.ignore_patterns("expected", "scenarios"))
    incidents = tmp_path / "book" / "data" / "incidents.csv"
    lines = incidents.read_text().splitlines()
    lines.append("C-1001,compute,2026-10-20T10:00:00,2026-10-20T11:00:00Z,,")  # no offset, line 29
    incidents.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["load", "--rules", str(ROOT / "rules"), "--contracts",
                                      str(tmp_path / "book" / "contracts.yaml"), "--data",
                                      str(tmp_path / "book" / "data"), "--db", store_url])
    assert result.exit_code == 2
    assert "incidents.csv, line 29, field start: the timestamp '2026-10-20T10:00:00' has no offset" in result.stderr
    store = Store(store_url)
    assert _counts(store) == dict.fromkeys(_counts(store), 0)
    store.close()


def test_a_conflict_found_while_writing_rolls_the_whole_load_back(store, tmp_path):
    load_fixtures(store)
    before = _counts(store)
    shutil.copytree(ROOT / "fixtures", tmp_path / "book", ignore=shutil.ignore_patterns("expected", "scenarios"))
    (tmp_path / "book" / "data" / "incidents.csv").write_text(
        "contract,service,start,end,cause,announced_at\nC-1001,compute,2026-10-29T10:00:00Z,2026-10-29T11:00:00Z,,\n")
    requests = tmp_path / "book" / "data" / "requests.csv"
    rows = requests.read_text().splitlines()
    header, first = rows[0], rows[1].split(",")
    first[3] = str(int(first[3]) + 1)  # the same interval with another count: a correction
    requests.write_text(header + "\n" + ",".join(first) + "\n")
    invoices = tmp_path / "book" / "data" / "invoices.csv"
    rows = invoices.read_text().splitlines()
    rows[1] = rows[1].replace("2026-10-01,1555.75", "2026-10-02,1555.75")  # an issued invoice's due date changed
    invoices.write_text("\n".join(rows) + "\n")
    from engine.loading.contracts import load_book
    from engine.loading.measurements import load_measurements

    book = load_book(tmp_path / "book" / "contracts.yaml")
    with pytest.raises(InputError, match=r"invoices\.csv, line 2, field number: invoice F-2026-0910 is already stored "
                                         "with other terms"):
        store.load(book=book, measurements=load_measurements(tmp_path / "book" / "data", book))
    assert _counts(store) == before  # neither the new incident nor the corrected count was kept
    assert store.chain().length == 1  # nor the load's entry on the chain


def test_changed_rules_under_an_old_version_are_refused(store, tmp_path):
    load_fixtures(store)
    changed = (ROOT / "rules" / "standard-hosting-2026.1.yaml").read_text().replace('cap: "50%"', 'cap: "40%"')
    (tmp_path / "r.yaml").write_text(changed)
    from engine.loading.rulesets import load_rule_files

    with pytest.raises(InputError, match="version 2026.1 of standard-hosting is already stored with other content"):
        store.load(rule_sets=load_rule_files([tmp_path / "r.yaml"]))


def test_changed_contract_terms_become_a_new_version(store, tmp_path):
    load_fixtures(store)
    text_ = (ROOT / "fixtures" / "contracts.yaml").read_text().replace('monthly_fee: "1245.75"', 'monthly_fee: "1300.00"')
    (tmp_path / "contracts.yaml").write_text(text_)
    from engine.loading.contracts import load_book

    report = store.load(book=load_book(tmp_path / "contracts.yaml"))
    assert report.added["contract terms"] == 1
    terms = {s.contract.id: s.contract for s in store.contracts()}
    assert terms["C-1001"].services[0].monthly_fee == Decimal("1300.00")


# --- the monthly run -----------------------------------------------------------------------------------------

def test_the_run_records_every_active_contract_and_issues_what_is_owed(store):
    load_fixtures(store)
    summary = run(store)
    assert (summary.contracts, summary.recorded, summary.unchanged) == (8, 8, 0)
    evaluations = store.evaluations(period="2026-10")
    assert sorted(e.contract_id for e in evaluations) == [
        "C-1001", "C-1002", "C-2001", "C-3001", "C-4001", "C-5001", "C-6001", "C-7001"]
    status = {e.contract_id: (e.credit_status, e.credit_total) for e in evaluations}
    assert status["C-3001"] == ("none", "0.00")            # nothing owed is recorded too
    assert status["C-7001"] == ("below_minimum", "7.45")
    issued = store.documents(period="2026-10")
    # credit_note settlement: credit notes; the object-store rule set settles on the next invoice;
    # late fees (C-2001 contractual, C-3001 UK statutory) go on adjustments of their own.
    assert [(d.contract_id, d.kind, d.number) for d in issued] == [
        ("C-1001", "credit_note", "AV-2026-000001"), ("C-1002", "credit_note", "AV-2026-000002"),
        ("C-2001", "credit_note", "AV-2026-000003"), ("C-2001", "adjustment", "ADJ-2026-000001"),
        ("C-3001", "adjustment", "ADJ-2026-000002"), ("C-4001", "adjustment", "ADJ-2026-000003"),
        ("C-5001", "credit_note", "AV-2026-000004"), ("C-6001", "adjustment", "ADJ-2026-000004")]
    documents = {d.number: d for d in issued}
    note = documents["AV-2026-000001"]
    # 124.58 (availability) + 100.00 (two late P1 tickets) = 224.58; VAT 44.916 -> 44.92.
    assert (note.number, note.net_total, note.tax_total, note.gross_total) == ("AV-2026-000001", "224.58", "44.92", "269.50")
    # JPY 480,000, outside the scope of French VAT (a Japanese business customer: O, 0 %), so no VAT
    # is added (it was 480,000 + 10 % = 528,000 while the demo charged the customer's own rate).
    assert documents["AV-2026-000004"].gross_total == "480000"
    adjustment = documents["ADJ-2026-000004"]                     # BHD: -59.188 credit, outside the scope (O)
    assert (adjustment.net_total, adjustment.tax_total, adjustment.gross_total) == ("-59.188", "0.000", "-59.188")
    late = documents["ADJ-2026-000001"]                           # 18.08 interest + 25.00 fixed, no VAT
    assert [(l.kind, l.net_amount, l.vat_rate) for l in store.document_lines(late.id)] == [
        ("late_interest", "18.08", "0"), ("late_compensation", "25.00", "0")]
    assert late.gross_total == "43.08"


def test_a_second_run_issues_nothing_twice(store):
    load_fixtures(store)
    run(store)
    numbers = [d.number for d in store.documents()]
    second = run(store)
    assert (second.recorded, second.unchanged, sum(second.documents.values())) == (0, 8, 0)
    assert [d.number for d in store.documents()] == numbers
    assert len(store.evaluations()) == 8


def test_the_database_refuses_a_second_evaluation_of_the_same_revision(store):
    load_fixtures(store)
    run(store)
    row = store.evaluations()[0]
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with store.atomic() as session:
            session.add(EvaluationRow(**{**row.model_dump(), "id": None, "record_sha256": "f" * 64}))


def test_a_dry_run_writes_nothing(store):
    load_fixtures(store)
    summary = run(store, dry_run=True)
    assert (summary.recorded, summary.documents["credit_note"], summary.documents["adjustment"]) == (8, 4, 4)
    assert store.evaluations() == [] and store.documents() == []


def test_credit_note_content_and_totals(store):
    load_fixtures(store)
    run(store)
    row = store.document("AV-2026-000003")
    document = Document.from_json(json.loads(row.content_json))
    # C-2001: 12 full hours x 5 % of 2,400 = 1,440, cut to the cap of 50 % of 2,750 = 1,375; US VAT 0.
    assert [(l.kind, str(l.net)) for l in document.lines] == [("sla_credit", "1440.00"), ("cap", "-65.00")]
    assert (str(document.net_total), str(document.tax_total), str(document.gross_total)) == ("1375.00", "0.00", "1375.00")
    assert sum(l.net for l in document.lines) == document.net_total
    detail = document.lines[0].detail
    assert (detail["target"], detail["attainment"], detail["downtime_minutes"], detail["units"]) == (
        "99.95", "98.335573", "743", "12")
    assert (document.issuer.vat_id, document.customer.name) == ("FR58832476915", "Brightline Analytics, Inc.")
    lines = store.document_lines(row.id)
    assert [(l.position, l.kind, l.net_amount) for l in lines] == [(1, "sla_credit", "1440.00"), (2, "cap", "-65.00")]


# --- immutability --------------------------------------------------------------------------------------------

def test_the_session_refuses_to_edit_an_issued_document(store):
    load_fixtures(store)
    run(store)
    with pytest.raises(ImmutableRecordError):
        with store.atomic() as session:
            row = session.get(DocumentRow, 1)
            row.gross_total = "1.00"
    with pytest.raises(ImmutableRecordError):
        with store.atomic() as session:
            session.delete(session.get(DocumentLineRow, 1))
    from sqlmodel import update

    with pytest.raises(ImmutableRecordError):
        with store.atomic() as session:
            session.execute(update(EvaluationRow).values(credit_total="0.00"))
    assert store.document("AV-2026-000001").gross_total == "269.50"


@pytest.mark.parametrize("statement", [
    "UPDATE documents SET gross_total = '1.00' WHERE number = 'AV-2026-000001'",
    "DELETE FROM document_lines",
    "UPDATE evaluations SET credit_total = '0.00'",
    "DELETE FROM evaluations",
])
def test_the_database_refuses_edits_even_in_raw_sql(store, statement):
    load_fixtures(store)
    run(store)
    with pytest.raises(Exception, match="issued records are never edited"):
        with store.engine.begin() as connection:
            connection.execute(text(statement))
    assert store.document("AV-2026-000001").gross_total == "269.50"
